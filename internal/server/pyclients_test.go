package server_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// pythonClients finds Debian's twine and a python3 with pip, or skips; .ci/run installs them
// and sets WHARF_REQUIRE_PYCLIENTS=1, so that there they cannot be skipped.
func pythonClients(t *testing.T) (twine, python string) {
	t.Helper()
	skip := func(msg string) {
		if os.Getenv("WHARF_REQUIRE_PYCLIENTS") == "1" {
			t.Fatalf("the Python clients are required (WHARF_REQUIRE_PYCLIENTS=1): %s", msg)
		}
		t.Skip(msg + "; install Debian's twine and python3-pip")
	}
	twine, err := exec.LookPath("twine")
	if err != nil {
		skip("twine is not installed")
	}
	python, err = exec.LookPath("python3")
	if err != nil || exec.Command(python, "-m", "pip", "--version").Run() != nil {
		skip("python3 -m pip does not run")
	}
	return twine, python
}

// run runs a client with an environment that reaches nothing but the test server: no user
// configuration, no keyring, no cache.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "PIP_CONFIG_FILE=/dev/null", "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring", "TWINE_NON_INTERACTIVE=1", "PIP_NO_INPUT=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRealPythonClients: twine uploads with __token__ to a private channel; pip downloads and
// installs the wheel through a /t/<token>/ index URL, with Basic __token__ and with the
// account's password; a token without pypi:download gets nothing.
func TestRealPythonClients(t *testing.T) {
	twine, python := pythonClients(t)
	e := tokenEnv(t)
	dir := t.TempDir()
	spec := pypitest.Spec{Name: "demo-lib", Version: "1.0", MetadataVersion: "2.1", Files: map[string][]byte{"demo_lib/__init__.py": []byte("VALUE = 42\n")}}
	wheel := pypitest.WriteFile(t, dir, spec)
	upTok := e.newToken(alice, map[string]any{"name": "twine", "scopes": []string{"pypi:upload"}})
	repo := e.srv.URL + "/pypi/acme-private/"
	if out, err := run(t, twine, "upload", "--disable-progress-bar", "--repository-url", repo, "-u", "__token__", "-p", upTok, wheel); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	// twine --skip-existing understands the answer to the same file again.
	if out, err := run(t, twine, "upload", "--skip-existing", "--disable-progress-bar", "--repository-url", repo, "-u", "__token__", "-p", upTok, wheel); err != nil {
		t.Errorf("twine upload --skip-existing of the same file: %v\n%s", err, out)
	}
	if out, err := run(t, twine, "upload", "--disable-progress-bar", "--repository-url", repo, "-u", "__token__", "-p", "wrfs-notatoken", wheel); err == nil {
		t.Errorf("twine with a bad token succeeded:\n%s", out)
	}

	dlTok := e.newToken(bob, map[string]any{"name": "pip", "scopes": []string{"pypi:download"}})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	basic := func(user, pass string) string {
		return "http://" + url.UserPassword(user, pass).String() + "@" + host + "/pypi/acme-private/simple/"
	}
	for name, index := range map[string]string{
		"/t/ token":       e.srv.URL + "/t/" + dlTok + "/pypi/acme-private/simple/",
		"Basic __token__": basic("__token__", dlTok),
		"account":         basic("bob", "bob-is-a-developer"),
	} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			if o, err := run(t, python, "-m", "pip", "download", "--no-deps", "--isolated", "-d", out, "--index-url", index, "demo-lib==1.0"); err != nil {
				t.Fatalf("pip download: %v\n%s", err, o)
			}
			got, err := os.ReadFile(filepath.Join(out, spec.Filename()))
			if err != nil || string(got) != string(pypitest.Build(t, spec)) {
				t.Errorf("pip downloaded other bytes (%v)", err)
			}
			target := t.TempDir()
			if o, err := run(t, python, "-m", "pip", "install", "--no-deps", "--isolated", "--target", target, "--index-url", index, "demo-lib"); err != nil {
				t.Fatalf("pip install: %v\n%s", err, o)
			}
			if b, err := os.ReadFile(filepath.Join(target, "demo_lib", "__init__.py")); err != nil || string(b) != "VALUE = 42\n" {
				t.Errorf("installed module: %q, %v", b, err)
			}
		})
	}
	t.Run("token without pypi:download", func(t *testing.T) {
		noTok := e.newToken(bob, map[string]any{"name": "conda-only", "scopes": []string{"conda:download"}})
		if o, err := run(t, python, "-m", "pip", "download", "--no-deps", "--isolated", "-d", t.TempDir(), "--index-url",
			e.srv.URL+"/t/"+noTok+"/pypi/acme-private/simple/", "demo-lib==1.0"); err == nil {
			t.Errorf("pip with a conda:download token got the package:\n%s", o)
		}
	})
}
