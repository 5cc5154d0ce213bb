package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// uploaded is one object of wharf upload --json.
type uploaded struct {
	Path, Status, Error            string
	Kind, Subdir, Filename, SHA256 string
	PackagePrivate                 bool `json:"package_private"`
}

func uploadJSON(t *testing.T, env []string, args ...string) ([]uploaded, error) {
	t.Helper()
	out, err := wharf(t, env, "", append(args, "--json")...)
	var up []uploaded
	if jerr := json.Unmarshal([]byte(out), &up); jerr != nil {
		t.Fatalf("wharf %s --json printed %q (%v): %v", strings.Join(args, " "), out, err, jerr)
	}
	return up, err
}

func uploadStatuses(up []uploaded) string {
	var s []string
	for _, u := range up {
		s = append(s, u.Status)
	}
	return strings.Join(s, " ")
}

// TestCLIPublishing: private uploads of conda and Python packages, other bytes under their
// filenames skipped and forced, a package shown, a subchannel removed, shell completion, and
// the --json form of every read command parsing.
func TestCLIPublishing(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--admin", "--password-stdin", "--data", data)
	env := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	mustWharf(t, env, "", "channel", "create", "acme")
	mustWharf(t, env, "", "channel", "create", "acme/tmp")

	first, second := t.TempDir(), t.TempDir()
	alpha := condatest.Spec{Name: "alpha", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"}
	lib := pypitest.Spec{Name: "demo-lib", Version: "1.0"}
	conda, wheel := condatest.WriteFile(t, first, alpha), pypitest.WriteFile(t, first, lib)
	alpha.License, lib.Fields = "MIT", []string{"Summary: other bytes"}
	conda2, wheel2 := condatest.WriteFile(t, second, alpha), pypitest.WriteFile(t, second, lib)

	// --private: both packages are private from the start; anonymous readers see neither.
	up, err := uploadJSON(t, env, "upload", conda, wheel, "-c", "acme", "--private")
	if err != nil || uploadStatuses(up) != "created created" || !up[0].PackagePrivate || !up[1].PackagePrivate || up[0].Path != conda {
		t.Fatalf("upload --private: %+v, %v", up, err)
	}
	if files := repodataFiles(t, s.url+"/conda/acme/noarch/repodata.json"); files[up[0].Filename] {
		t.Errorf("anonymous repodata shows the private package: %v", files)
	}
	if status, _ := get(t, s.url+"/pypi/acme/simple/demo-lib/"); status != 404 {
		t.Errorf("anonymous Simple API page of the private project: %d", status)
	}
	// The same bytes again are "exists", with or without --skip-existing.
	if up, err := uploadJSON(t, env, "upload", conda, wheel, "-c", "acme", "--skip-existing"); err != nil || uploadStatuses(up) != "exists exists" {
		t.Errorf("same bytes again: %+v, %v", up, err)
	}
	// Other bytes: refused, skipped, or (a conda package only) replaced.
	if up, err := uploadJSON(t, env, "upload", conda2, wheel2, "-c", "acme"); err == nil || uploadStatuses(up) != "failed failed" || !strings.Contains(up[0].Error, "409") {
		t.Errorf("other bytes: %+v, %v", up, err)
	}
	if up, err := uploadJSON(t, env, "upload", conda2, wheel2, "-c", "acme", "--skip-existing"); err != nil || uploadStatuses(up) != "skipped skipped" {
		t.Errorf("--skip-existing: %+v, %v", up, err)
	}
	up, err = uploadJSON(t, env, "upload", conda2, wheel2, "-c", "acme", "--force")
	if err == nil || uploadStatuses(up) != "replaced failed" || !strings.Contains(up[1].Error, "cannot replace a Python distribution") {
		t.Errorf("--force: %+v, %v", up, err)
	}
	if out := mustWharf(t, env, "", "upload", conda2, "-c", "acme"); !strings.Contains(out, "already there") {
		t.Errorf("after --force, the new bytes are stored: %q", out)
	}
	if out := mustWharf(t, env, "", "upload", wheel, "-c", "acme"); !strings.Contains(out, "already there") {
		t.Errorf("--force left the Python file as it was: %q", out)
	}

	// package show: the files, versions and privacy of one package.
	var pkg struct {
		Package  string
		Kinds    []string
		Private  bool
		Versions []string
		Files    []struct{ Filename, SHA256 string }
	}
	if err := json.Unmarshal([]byte(mustWharf(t, env, "", "package", "show", "acme", "alpha", "--json")), &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Package != "alpha" || !pkg.Private || strings.Join(pkg.Versions, ",") != "1.0" || len(pkg.Files) != 1 || pkg.Files[0].SHA256 != up[0].SHA256 {
		t.Errorf("package show alpha = %+v; want the replaced file %s", pkg, up[0].SHA256)
	}
	if out := mustWharf(t, env, "", "package", "show", "acme", "Demo_Lib"); !strings.Contains(out, "demo-lib in acme (pypi, private): versions 1.0") {
		t.Errorf("package show Demo_Lib:\n%s", out)
	}
	if _, err := wharf(t, env, "", "package", "show", "acme", "nothing"); err == nil || !strings.Contains(err.Error(), "wharf file list acme") {
		t.Errorf("package show of no package: %v", err)
	}

	// channel remove needs --yes, always.
	if _, err := wharf(t, env, "", "channel", "remove", "acme/tmp"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("channel remove without --yes: %v", err)
	}
	var removed struct {
		Channel string
		Removed bool
	}
	if err := json.Unmarshal([]byte(mustWharf(t, env, "", "channel", "remove", "acme/tmp", "--yes", "--json")), &removed); err != nil || !removed.Removed || removed.Channel != "acme/tmp" {
		t.Errorf("channel remove --json = %+v, %v", removed, err)
	}
	if _, err := wharf(t, env, "", "channel", "show", "acme/tmp"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("channel show of a removed subchannel: %v", err)
	}

	// Shell completion, cobra's own.
	for shell, want := range map[string]string{"bash": "__start_wharf", "zsh": "#compdef wharf", "fish": "complete -c wharf", "powershell": "Register-ArgumentCompleter"} {
		if out := mustWharf(t, nil, "", "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s has no %q", shell, want)
		}
	}

	// Every read command's --json parses.
	for _, args := range [][]string{
		{"channel", "list"}, {"channel", "show", "acme"}, {"channel", "history", "acme"},
		{"file", "list", "acme"}, {"label", "list", "acme"}, {"package", "show", "acme", "alpha"},
		{"whoami"}, {"user", "list"}, {"auth", "--list"}, {"auth", "--list-scopes"},
		{"upload", conda2, "-c", "acme"},
		{"package", "set-public", "acme", "alpha"}, {"package", "set-private", "acme", "alpha"},
		{"channel", "set-private", "acme"}, {"channel", "set-public", "acme"},
		{"copy", "acme", "--from-label", "main", "--to-label", "dev"},
		{"yank", "acme", "demo-lib", "1.0"}, {"unyank", "acme", "demo-lib", "1.0"},
	} {
		out := mustWharf(t, env, "", append(args, "--json")...)
		if !json.Valid([]byte(out)) {
			t.Errorf("wharf %s --json printed what is not JSON:\n%s", strings.Join(args, " "), out)
		}
	}
}
