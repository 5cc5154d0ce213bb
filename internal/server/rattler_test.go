package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
)

// rattlerSolver finds node and the @conda-org/rattler package (rattler, the Rust core of pixi,
// built to WASM), or skips: it is not a Go dependency. .ci/run installs it and sets
// WHARF_REQUIRE_RATTLER=1, so that there it cannot be skipped.
func rattlerSolver(t *testing.T) (node, script, nodePath string) {
	t.Helper()
	skip := func(msg string) {
		if os.Getenv("WHARF_REQUIRE_RATTLER") == "1" {
			t.Fatalf("rattler is required (WHARF_REQUIRE_RATTLER=1): %s", msg)
		}
		t.Skipf("%s; run `npm ci` in internal/server/testdata/rattler or set WHARF_RATTLER_MODULES", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed")
	}
	script, _ = filepath.Abs("testdata/rattler/solve.mjs")
	nodePath = os.Getenv("WHARF_RATTLER_MODULES")
	if nodePath == "" {
		nodePath, _ = filepath.Abs("testdata/rattler/node_modules")
	}
	if _, err := os.Stat(filepath.Join(nodePath, "@conda-org", "rattler", "package.json")); err != nil {
		skip("@conda-org/rattler is not installed at " + nodePath)
	}
	return node, script, nodePath
}

type solvedPackage struct {
	Name, Version, Filename, URL, SHA256 string
}

func solve(t *testing.T, node, script, nodePath string, env []string, args ...string) ([]solvedPackage, string, error) {
	t.Helper()
	ctx := t.Context()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+nodePath), env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, stderr.String(), err
	}
	var out []solvedPackage
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("solver output %q: %v", stdout.String(), err)
	}
	return out, stderr.String(), nil
}

// TestRattlerSolvesAgainstWharf has a real conda client (rattler, as pixi runs it) fetch each
// repodata form Wharf serves, solve, and download and check the packages it chose.
func TestRattlerSolvesAgainstWharf(t *testing.T) {
	node, script, nodePath := rattlerSolver(t)
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.createChannel("secret", true)
	e.user("bob", "bob-password-123")

	lib := spec("libdemo", "1.0", "0", "linux-64", condatest.Conda)
	// Its shard record carries these (CEP-21), which rattler decodes with the record.
	lib.RunExports = map[string]any{"weak": []string{"libdemo >=1,<2.0a0"}, "strong_constrains": []string{"other >=1"}}
	e.mustUpload("acme", lib)
	lib2 := spec("libdemo", "2.0", "0", "linux-64", condatest.TarBz2)
	e.mustUpload("acme", lib2, "dev")
	app1 := spec("app", "1.0", "0", "noarch", condatest.Conda)
	app1.Noarch, app1.Depends = "generic", []string{"libdemo >=1,<2"}
	e.mustUpload("acme", app1)
	// app 2.0 needs a libdemo that main does not have: a solver must fall back to app 1.0.
	app2 := spec("app", "2.0", "0", "noarch", condatest.TarBz2)
	app2.Noarch, app2.Depends = "generic", []string{"libdemo >=2"}
	e.mustUpload("acme", app2, "main", "dev")
	e.mustUpload("secret", lib)

	names := func(pkgs []solvedPackage) string {
		var s []string
		for _, p := range pkgs {
			s = append(s, p.Name+"-"+p.Version)
		}
		return strings.Join(s, " ")
	}
	base := e.srv.URL + "/conda/acme"
	for _, format := range []string{"shards", "zst", "bz2", "json"} {
		t.Run("main/"+format, func(t *testing.T) {
			got, stderr, err := solve(t, node, script, nodePath, nil, "--verify", "--trace", "--repodata="+format, base, "noarch,linux-64", "app")
			if err != nil {
				t.Fatalf("solve: %v\n%s", err, stderr)
			}
			// The trace shows that the form under test is the one rattler read.
			want := map[string]string{"shards": "/linux-64/shards/", "zst": "/linux-64/repodata.json.zst",
				"bz2": "/linux-64/repodata.json.bz2", "json": "/linux-64/repodata.json\""}[format]
			if !strings.Contains(stderr, want) || !strings.Contains(stderr, `"status":200`) {
				t.Errorf("rattler did not fetch %s:\n%s", want, stderr)
			}
			if n := names(got); n != "app-1.0 libdemo-1.0" {
				t.Errorf("solution %q, want app-1.0 libdemo-1.0", n)
			}
		})
	}
	t.Run("label", func(t *testing.T) {
		got, stderr, err := solve(t, node, script, nodePath, nil, "--verify", base+"/label/dev", "noarch,linux-64", "app")
		if err != nil {
			t.Fatalf("solve: %v\n%s", err, stderr)
		}
		if n := names(got); n != "app-2.0 libdemo-2.0" {
			t.Errorf("solution %q, want app-2.0 libdemo-2.0", n)
		}
		for _, p := range got {
			if !strings.HasPrefix(p.URL, base+"/label/dev/") {
				t.Errorf("%s fetched from %s, want the label's URL", p.Filename, p.URL)
			}
		}
	})
	t.Run("unsatisfiable", func(t *testing.T) {
		if got, _, err := solve(t, node, script, nodePath, nil, base, "noarch,linux-64", "app >=3"); err == nil {
			t.Errorf("solved app >=3 as %q; want a failure", names(got))
		}
	})
	t.Run("private channel with a /t/ token", func(t *testing.T) {
		tok := e.newToken(admin, map[string]any{"name": "rattler", "scopes": []string{"conda:download"}})
		got, stderr, err := solve(t, node, script, nodePath, nil, "--verify", e.srv.URL+"/t/"+tok+"/conda/secret", "linux-64", "libdemo")
		if err != nil {
			t.Fatalf("solve with a token URL: %v\n%s", err, stderr)
		}
		if n := names(got); n != "libdemo-1.0" {
			t.Errorf("solution %q, want libdemo-1.0", n)
		}
		for _, p := range got {
			if !strings.Contains(p.URL, "/t/"+tok+"/") {
				t.Errorf("%s downloaded from %s: the token was not kept in the package URL", p.Filename, p.URL)
			}
		}
	})
	t.Run("private channel", func(t *testing.T) {
		priv := e.srv.URL + "/conda/secret"
		if got, _, err := solve(t, node, script, nodePath, nil, priv, "linux-64", "libdemo"); err == nil {
			t.Errorf("anonymous solve in a private channel gave %q", names(got))
		}
		if got, _, err := solve(t, node, script, nodePath, []string{"SOLVE_BASIC_AUTH=bob:bob-password-123"}, priv, "linux-64", "libdemo"); err == nil {
			t.Errorf("a non-member's solve in a private channel gave %q", names(got))
		}
		got, stderr, err := solve(t, node, script, nodePath, []string{"SOLVE_BASIC_AUTH=" + admin}, "--verify", priv, "linux-64", "libdemo")
		if err != nil {
			t.Fatalf("admin's solve: %v\n%s", err, stderr)
		}
		if n := names(got); n != "libdemo-1.0" {
			t.Errorf("solution %q, want libdemo-1.0", n)
		}
	})
}
