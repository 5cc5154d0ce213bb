package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// requirePyClients is set where the Python clients must run (.ci/run sets it): a missing one
// fails the test instead of skipping it.
func requirePyClients() bool { return os.Getenv("WHARF_REQUIRE_PYCLIENTS") == "1" }

// skipOrFail skips with msg, or fails where the Python clients are required.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if requirePyClients() {
		t.Fatalf("the Python clients are required (WHARF_REQUIRE_PYCLIENTS=1): %s", msg)
	}
	t.Skip(msg + "; .ci/run installs the Python clients")
}

// twineClient finds Debian's twine, or skips.
func twineClient(t *testing.T) string {
	t.Helper()
	twine, err := exec.LookPath("twine")
	if err != nil {
		skipOrFail(t, "twine is not installed")
	}
	return twine
}

// pipClient is one pip on the machine, run as `<python> -m pip`.
type pipClient struct {
	name    string // what the tests call it
	python  string
	version [3]int
	where   string // where pip is installed, from pip --version
	missing string // why it cannot run; "" if it can
}

// atLeast reports whether pip is version major.minor or later.
func (p pipClient) atLeast(major, minor int) bool {
	return p.version[0] > major || p.version[0] == major && p.version[1] >= minor
}

// PEP 658 support, by what pip reads (pip's models/link.py): 22.3 to 23.1 read the metadata
// hash from the HTML attribute data-dist-info-metadata only (from JSON, dist-info-metadata,
// on which 22.3 to 23.0 crash: PEP 714); 23.2 and later read PEP 714's core-metadata and
// data-core-metadata as well.
func (p pipClient) readsHTMLMetadata() bool { return p.atLeast(22, 3) }
func (p pipClient) readsJSONMetadata() bool { return p.atLeast(23, 2) }

var pipVersionLine = regexp.MustCompile(`^pip (\d+)\.(\d+)(?:\.(\d+))?\S* from (\S+)`)

// findPip asks python which pip it runs.
func findPip(name, python string) pipClient {
	p := pipClient{name: name, python: python}
	if _, err := exec.LookPath(python); err != nil {
		p.missing = python + " is not installed"
		return p
	}
	out, err := exec.Command(python, "-m", "pip", "--version").Output()
	m := pipVersionLine.FindStringSubmatch(string(out))
	if err != nil || m == nil {
		p.missing = python + " -m pip does not run (" + strings.TrimSpace(string(out)) + ")"
		return p
	}
	for i := range 3 {
		p.version[i], _ = strconv.Atoi(m[i+1])
	}
	p.where = m[4]
	return p
}

// debianPython is Debian's own interpreter, whose pip (python3-pip) is what Debian 12 and
// Ubuntu LTS users run: 23.0.1 on Debian 12.
const debianPython = "/usr/bin/python3"

// pipClients is every pip the tests drive: the newest one (python3 on PATH, or
// WHARF_PYTHON, which .ci/run points at a current pip when the machine's python3 is
// Debian's) and Debian's. The same pip found twice is driven once.
func pipClients(t *testing.T) []pipClient {
	newest := os.Getenv("WHARF_PYTHON")
	if newest == "" {
		newest = "python3"
	}
	pips := []pipClient{findPip("newest pip", newest)}
	if deb := findPip("Debian's pip", debianPython); deb.missing != "" || deb.where != pips[0].where {
		pips = append(pips, deb)
	} else {
		t.Logf("%s -m pip is Debian's pip (%s): one pip to drive", newest, deb.where)
	}
	if n := pips[0]; requirePyClients() && n.missing == "" && !n.readsJSONMetadata() {
		t.Fatalf("the newest pip here is %d.%d, which does not read PEP 714's core-metadata: point WHARF_PYTHON at a python3 with pip 23.2 or later (.ci/run makes one)",
			n.version[0], n.version[1])
	}
	return pips
}

// run runs a client with an environment that reaches nothing but the test server: no user
// configuration, no keyring, no cache.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return runIn(t, t.TempDir(), name, args...)
}

// runIn is run with home as $HOME (where a .netrc is read).
func runIn(t *testing.T, home, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NETRC=") { // requests would read that file instead of $HOME/.netrc
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+home, "PIP_CONFIG_FILE=/dev/null", "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring", "TWINE_NON_INTERACTIVE=1", "PIP_NO_INPUT=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// front is a second listener in front of the test server's handler that notes the paths it
// is asked for; htmlOnly makes every request ask for HTML only, as a client or a mirror that
// knows nothing of PEP 691 does.
type front struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newFront(t *testing.T, e *env, htmlOnly bool) *front {
	f := &front{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.Path)
		f.mu.Unlock()
		if htmlOnly {
			r.Header.Set("Accept", "text/html")
		}
		e.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// fetched reports whether a path ending in suffix was asked for, and forgets what was.
func (f *front) fetched(suffix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := false
	for _, p := range f.paths {
		got = got || strings.HasSuffix(p, suffix)
	}
	f.paths = nil
	return got
}

// TestRealPythonClients: twine uploads with __token__ to a private channel; every pip on the
// machine downloads and installs the wheel from it through a /t/<token>/ index URL, Basic
// __token__ in the URL, a .netrc and the account's password, reading the PEP 658 metadata
// file where it can; anonymous pip and a token without pypi:download get nothing.
func TestRealPythonClients(t *testing.T) {
	twine := twineClient(t)
	pips := pipClients(t)
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

	// Older releases make the project page large enough to go out compressed, as pip asks
	// (gzip, deflate): every pip below reads it so.
	for i := range 8 {
		old := pypitest.Spec{Name: "demo-lib", Version: fmt.Sprintf("0.%d", i+1)}
		if r := e.upload("acme-private", old.Filename(), pypitest.Build(t, old)); r.status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", old.Filename(), r.status, r.body)
		}
	}
	if r := e.do("GET", "/pypi/acme-private/simple/demo-lib/", alice, nil, "Accept-Encoding", "gzip, deflate"); r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the project page asked for as pip asks: %d, Content-Encoding %q, want gzip", r.status, r.header.Get("Content-Encoding"))
	}

	dlTok := e.newToken(bob, map[string]any{"name": "pip", "scopes": []string{"pypi:download"}})
	noTok := e.newToken(bob, map[string]any{"name": "conda-only", "scopes": []string{"conda:download"}})
	want := string(pypitest.Build(t, spec))
	for _, p := range pips {
		t.Run(p.name, func(t *testing.T) {
			if p.missing != "" {
				skipOrFail(t, p.missing)
			}
			t.Logf("pip %d.%d.%d from %s", p.version[0], p.version[1], p.version[2], p.where)
			pip := func(home string, args ...string) (string, error) {
				return runIn(t, home, p.python, append([]string{"-m", "pip"}, args...)...)
			}
			for _, htmlOnly := range []bool{false, true} {
				f := newFront(t, e, htmlOnly)
				host := strings.TrimPrefix(f.URL, "http://")
				index := "http://" + host + "/pypi/acme-private/simple/"
				basic := func(user, pass string) string {
					return "http://" + url.UserPassword(user, pass).String() + "@" + host + "/pypi/acme-private/simple/"
				}
				netrcHome := t.TempDir()
				hostname, _, _ := strings.Cut(host, ":")
				if err := os.WriteFile(filepath.Join(netrcHome, ".netrc"), []byte("machine "+hostname+" login __token__ password "+dlTok+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				ways := []struct{ name, index, home string }{
					{"/t/ token", "http://" + host + "/t/" + dlTok + "/pypi/acme-private/simple/", ""},
					{"Basic __token__", basic("__token__", dlTok), ""},
					{".netrc", index, netrcHome},
					{"account", basic("bob", "bob-is-a-developer"), ""},
				}
				format, readsMetadata := "JSON", p.readsJSONMetadata()
				if htmlOnly {
					// An HTML-only answer: pip 22.3 to 23.1 read data-dist-info-metadata, and
					// must find the metadata file's hash there, not the wheel's.
					format, readsMetadata = "HTML", p.readsHTMLMetadata()
					ways = ways[:1]
				}
				for _, w := range ways {
					t.Run(format+" "+w.name, func(t *testing.T) {
						home := w.home
						if home == "" {
							home = t.TempDir()
						}
						out := t.TempDir()
						if o, err := pip(home, "download", "--isolated", "--no-deps", "-d", out, "--index-url", w.index, "demo-lib==1.0"); err != nil {
							t.Fatalf("pip download: %v\n%s", err, o)
						}
						got, err := os.ReadFile(filepath.Join(out, spec.Filename()))
						if err != nil || string(got) != want {
							t.Errorf("pip downloaded other bytes (%v)", err)
						}
						if m := f.fetched(".whl.metadata"); m != readsMetadata {
							t.Errorf("pip %d.%d read the PEP 658 metadata file: %v, want %v (the %s page)", p.version[0], p.version[1], m, readsMetadata, format)
						}
						if htmlOnly {
							return
						}
						target := t.TempDir()
						if o, err := pip(home, "install", "--isolated", "--no-deps", "--target", target, "--index-url", w.index, "demo-lib"); err != nil {
							t.Fatalf("pip install: %v\n%s", err, o)
						}
						if b, err := os.ReadFile(filepath.Join(target, "demo_lib", "__init__.py")); err != nil || string(b) != "VALUE = 42\n" {
							t.Errorf("installed module: %q, %v", b, err)
						}
					})
				}
			}
			// The channel is private: without credentials, or with a token that may not
			// download Python packages, pip gets nothing.
			for name, index := range map[string]string{
				"anonymous":                   e.srv.URL + "/pypi/acme-private/simple/",
				"token without pypi:download": e.srv.URL + "/t/" + noTok + "/pypi/acme-private/simple/",
			} {
				if o, err := pip(t.TempDir(), "download", "--isolated", "--no-deps", "-d", t.TempDir(), "--index-url", index, "demo-lib==1.0"); err == nil ||
					!strings.Contains(o, "No matching distribution found for demo-lib==1.0") {
					t.Errorf("pip, %s: %v, want no matching distribution:\n%s", name, err, o)
				}
			}
		})
	}
}
