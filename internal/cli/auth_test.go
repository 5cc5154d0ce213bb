package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/token"
)

// fakeServer stands in for a Wharf server: it records every request and answers each path
// with a fixed body.
type fakeServer struct {
	*httptest.Server
	requests []fakeRequest
	answers  map[string]string // "METHOD /path" → JSON
}

type fakeRequest struct{ method, uri, body, auth string }

func newFakeServer(t *testing.T, answers map[string]string) *fakeServer {
	f := &fakeServer{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.requests = append(f.requests, fakeRequest{r.Method, r.URL.RequestURI(), string(b), r.Header.Get("Authorization")})
		w.Header().Set("Content-Type", "application/json")
		a, ok := f.answers[r.Method+" "+r.URL.EscapedPath()]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such route in the fake"}}`)
			return
		}
		if r.Method == "POST" {
			w.WriteHeader(http.StatusCreated)
		}
		io.WriteString(w, a)
	}))
	t.Cleanup(f.Close)
	return f
}

const fakeInfo = `{"id":12,"name":"ci","description":"","owner":"alice","org":false,"kind":"scope","scopes":["conda:download"],
	"resources":[{"channel":"acme","level":"read"}],"strength":"strong","created_at":"2026-01-31T10:00:00Z","expires_at":"2027-01-31T10:00:00Z","last_used_at":null}`

// runAuth runs `wharf auth args…` against server with a clean environment plus env, and
// returns its standard output and error.
func runAuth(t *testing.T, server string, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	for _, k := range []string{"WHARF_SERVER", "WHARF_USERNAME", "WHARF_PASSWORD", "WHARF_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("WHARF_SERVER", server)
	for k, v := range env {
		t.Setenv(k, v)
	}
	cmd := authCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func TestAuthFlagsAreCheckedBeforeAnyRequest(t *testing.T) {
	cases := []struct {
		args []string
		want string // in the error
	}{
		{nil, "say what to do with one of --create"},
		{[]string{"--name", "ci"}, "say what to do"},
		{[]string{"--list=false"}, "say what to do"},
		{[]string{"--create", "--list"}, "--create and --list: give only one of"},
		{[]string{"-c", "-l", "-i"}, "--create and --list and --info: give only one"},
		{[]string{"--list", "--remove", "ci"}, "give only one"},
		{[]string{"--create"}, "--create: name the token with --name"},
		{[]string{"--create", "--name", "  "}, "--create: name the token with --name"},
		{[]string{"--create", "--name", "ci", "extra"}, `unexpected argument "extra"`},
		{[]string{"--create", "--name", "ci", "--strength", "medium"}, `--strength "medium": want strong or weak`},
		{[]string{"--create", "--name", "ci", "--resource", "acme"}, `--resource "acme": want CHANNEL:LEVEL`},
		{[]string{"--create", "--name", "ci", "--resource", "acme:admin"}, "the level is read, write or manage"},
		{[]string{"--create", "--name", "ci", "--rename", "x"}, "--rename goes with --edit, not --create"},
		{[]string{"--create", "--name", "ci", "--reissue"}, "--reissue goes with --edit, not --create"},
		{[]string{"--list", "--scopes", "repos"}, "--scopes goes with --create, not --list"},
		{[]string{"--list", "--expires", "30d"}, "--expires goes with --create or --edit, not --list"},
		{[]string{"--info", "--org", "acme"}, "--org goes with --create or --list or --remove or --edit, not --info"},
		{[]string{"--list-scopes", "--name", "x"}, "--name goes with --create, not --list-scopes"},
		{[]string{"--remove", "ci", "--out", "f"}, "--out goes with --create or --edit, not --remove"},
		{[]string{"--remove", ""}, "--remove: name each token"},
		{[]string{"--edit", "ci"}, "--edit: say what to change with --rename NEW, --expires WHEN or --reissue"},
		{[]string{"--edit", "", "--reissue"}, "--edit: name the token"},
		{[]string{"--edit", "ci", "--rename", "x", "--out", "f"}, "--out is where the new secret of --reissue goes"},
		{[]string{"--list", "stray"}, `unexpected argument "stray"`},
		{[]string{"--create", "--name", "ci", "--scopes", "repos conda:donwload"}, `unknown scope "conda:donwload"; did you mean "conda:download"? wharf auth --list-scopes lists them`},
		{[]string{"--create", "--name", "ci", "--scopes", "deploy"}, `unknown scope "deploy"; wharf auth --list-scopes lists them`},
		{[]string{"lgin"}, "unknown command \"lgin\" for \"auth\"\n\nDid you mean this?\n\tlogin"},
	}
	// wharf login checks its scopes before it asks for the password.
	fakeLogin := newFakeServer(t, nil)
	loginStore(t)
	if _, _, err := loginRun(t, "pw\n", "login", "--server", fakeLogin.URL, "-u", "alice", "--password-stdin", "--scopes", "repo api"); err == nil ||
		!strings.Contains(err.Error(), `unknown scope "repo"; did you mean "repos"?`) || len(fakeLogin.requests) != 0 {
		t.Errorf("wharf login --scopes 'repo api': %v, %d requests", err, len(fakeLogin.requests))
	}
	fake := newFakeServer(t, nil)
	for _, c := range cases {
		_, _, err := runAuth(t, fake.URL, map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw"}, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("wharf auth %q: %v; want an error with %q", c.args, err, c.want)
		}
	}
	if len(fake.requests) != 0 {
		t.Errorf("bad command lines sent requests: %v", fake.requests)
	}
}

func TestAuthSendsWhatItWasAsked(t *testing.T) {
	tok, err := token.New(token.KindScope, token.StrongLen)
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeServer(t, map[string]string{
		"POST /api/v1/tokens":          `{"token":"` + tok + `","info":` + fakeInfo + `}`,
		"GET /api/v1/tokens":           `[` + fakeInfo + `]`,
		"GET /api/v1/tokens/current":   fakeInfo,
		"GET /api/v1/scopes":           `[{"scope":"conda:download","description":"see and download conda packages","actions":["artifact:download"]}]`,
		"PATCH /api/v1/tokens/ci":      `{"info":` + fakeInfo + `,"token":"` + tok + `"}`,
		"DELETE /api/v1/tokens/ci":     ``,
		"DELETE /api/v1/tokens/old":    ``,
		"DELETE /api/v1/tokens/ci%2Fx": ``,
	})
	alice := map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw"}
	basic := "Basic YWxpY2U6cHc="
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []fakeRequest
	}{
		{"create with everything", alice,
			[]string{"--create", "--name", "ci", "--scopes", "repos conda:download", "-s", "api:read,pypi", "--resource", "acme:read", "--resource", "acme/dev:write",
				"--expires", "2027-01-31", "--strength", "weak", "--org", "acme-labs", "--description", "for CI"},
			[]fakeRequest{{"POST", "/api/v1/tokens", `{"name":"ci","description":"for CI","scopes":["repos","conda:download","api:read","pypi"],
				"resources":[{"channel":"acme","level":"read"},{"channel":"acme/dev","level":"write"}],"expires":"2027-01-31","strength":"weak","org":"acme-labs"}`, basic}}},
		{"create, anaconda's short flags", alice, []string{"-c", "-n", "ci", "-o", "acme-labs"},
			[]fakeRequest{{"POST", "/api/v1/tokens", `{"name":"ci","org":"acme-labs"}`, basic}}},
		{"list", alice, []string{"--list"}, []fakeRequest{{"GET", "/api/v1/tokens", "", basic}}},
		{"list an org's", alice, []string{"-l", "--org", "acme-labs", "--json"}, []fakeRequest{{"GET", "/api/v1/tokens?org=acme-labs", "", basic}}},
		{"info with WHARF_TOKEN, which wins over the password", map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw", "WHARF_TOKEN": tok},
			[]string{"--info"}, []fakeRequest{{"GET", "/api/v1/tokens/current", "", "token " + tok}}},
		{"info with --token", nil, []string{"-i", "--token", tok}, []fakeRequest{{"GET", "/api/v1/tokens/current", "", "token " + tok}}},
		{"remove several, as -r and as arguments", alice, []string{"-r", "ci", "old", "--remove", "ci/x"},
			[]fakeRequest{{"DELETE", "/api/v1/tokens/ci", "", basic}, {"DELETE", "/api/v1/tokens/ci%2Fx", "", basic}, {"DELETE", "/api/v1/tokens/old", "", basic}}},
		{"remove an org's", alice, []string{"--remove", "ci", "-o", "acme-labs"}, []fakeRequest{{"DELETE", "/api/v1/tokens/ci?org=acme-labs", "", basic}}},
		{"list scopes without credentials", map[string]string{"WHARF_USERNAME": "alice"}, []string{"--list-scopes"}, []fakeRequest{{"GET", "/api/v1/scopes", "", ""}}},
		{"edit", alice, []string{"--edit", "ci", "--rename", "ci-2", "--expires", "90d"},
			[]fakeRequest{{"PATCH", "/api/v1/tokens/ci", `{"name":"ci-2","expires":"90d"}`, basic}}},
		{"reissue an org's", alice, []string{"--edit", "ci", "--reissue", "--org", "acme-labs"},
			[]fakeRequest{{"PATCH", "/api/v1/tokens/ci?org=acme-labs", `{"reissue":true}`, basic}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake.requests = nil
			if _, stderr, err := runAuth(t, fake.URL, c.env, c.args...); err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}
			if len(fake.requests) != len(c.want) {
				t.Fatalf("sent %+v\nwant %+v", fake.requests, c.want)
			}
			for i, got := range fake.requests {
				w := c.want[i]
				if got.method != w.method || got.uri != w.uri || got.auth != w.auth || !sameJSON(got.body, w.body) {
					t.Errorf("sent %+v\nwant %+v", got, w)
				}
			}
		})
	}
}

func TestAuthShowsTheSecretOnlyWhereAsked(t *testing.T) {
	tok, err := token.New(token.KindResource, token.StrongLen)
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeServer(t, map[string]string{
		"POST /api/v1/tokens":      `{"token":"` + tok + `","info":` + fakeInfo + `}`,
		"GET /api/v1/tokens":       `[` + fakeInfo + `]`,
		"PATCH /api/v1/tokens/ci":  `{"info":` + fakeInfo + `,"token":"` + tok + `"}`,
		"DELETE /api/v1/tokens/ci": ``,
	})
	alice := map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw"}

	// On standard output, alone: $(wharf auth --create …) is the token.
	stdout, stderr, err := runAuth(t, fake.URL, alice, "--create", "--name", "ci")
	if err != nil || stdout != tok+"\n" || strings.Contains(stderr, tok) || !strings.Contains(stderr, "created token ci") {
		t.Errorf("--create: stdout %q, stderr %q, %v; want only the secret on stdout", stdout, stderr, err)
	}
	stdout, _, err = runAuth(t, fake.URL, alice, "--create", "--name", "ci", "--json")
	var created struct {
		Token string
		Info  struct{ ID int64 }
	}
	if err != nil || json.Unmarshal([]byte(stdout), &created) != nil || created.Token != tok || created.Info.ID != 12 {
		t.Errorf("--create --json: %q, %v", stdout, err)
	}

	// To --out with mode 0600, also over a file that was world-readable; nothing on stdout.
	dir := t.TempDir()
	out := filepath.Join(dir, "ci.token")
	if err := os.WriteFile(out, []byte("an older, longer content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--create", "--name", "ci", "--out", out}, {"--edit", "ci", "--reissue", "--out", out}} {
		stdout, stderr, err = runAuth(t, fake.URL, alice, args...)
		if err != nil || stdout != "" || strings.Contains(stderr, tok) || !strings.Contains(stderr, "wrote its secret to "+out+" (mode 0600)") {
			t.Errorf("%q: stdout %q, stderr %q, %v", args, stdout, stderr, err)
		}
		b, _ := os.ReadFile(out)
		st, _ := os.Stat(out)
		if string(b) != tok+"\n" || st.Mode().Perm() != 0o600 {
			t.Errorf("%q: --out file holds %q with mode %v; want the secret, 0600", args, b, st.Mode().Perm())
		}
	}

	// Nothing else prints it.
	for _, args := range [][]string{{"--list"}, {"--list", "--json"}, {"--edit", "ci", "--expires", "90d"}, {"--edit", "ci", "--rename", "x", "--json"}, {"--remove", "ci"}} {
		stdout, stderr, err := runAuth(t, fake.URL, alice, args...)
		if err != nil || strings.Contains(stdout+stderr, tok) {
			t.Errorf("%q printed the secret or failed: %q %q %v", args, stdout, stderr, err)
		}
	}
}

func TestAuthOutFailsBeforeTheTokenIsMade(t *testing.T) {
	fake := newFakeServer(t, map[string]string{"POST /api/v1/tokens": `{"token":"x","info":` + fakeInfo + `}`})
	_, _, err := runAuth(t, fake.URL, map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw"},
		"--create", "--name", "ci", "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "ci.token"))
	if err == nil || !strings.Contains(err.Error(), "--out") || len(fake.requests) != 0 {
		t.Errorf("--out into a missing directory: %v, %d requests; want an error and no token made", err, len(fake.requests))
	}

	// A refused request leaves no empty --out file behind.
	out := filepath.Join(t.TempDir(), "ci.token")
	_, _, err = runAuth(t, fake.URL, map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw"}, "--edit", "nope", "--reissue", "--out", out)
	if _, statErr := os.Stat(out); err == nil || statErr == nil {
		t.Errorf("refused reissue: %v; --out file left: %v", err, statErr)
	}
}

func TestTokenCredentials(t *testing.T) {
	tok, err := token.New(token.KindScope, token.WeakLen)
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeServer(t, map[string]string{"GET /api/v1/tokens/current": fakeInfo})
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string // the Authorization sent, or "error: …"
	}{
		{"--token names a file", nil, []string{"--token", file}, "token " + tok},
		{"--token wins over WHARF_TOKEN", map[string]string{"WHARF_TOKEN": "wrfs-wrong"}, []string{"--token", tok}, "token " + tok},
		{"a token in the server URL", nil, []string{"--server", fake.URL + "/t/" + tok}, "token " + tok},
		{"a token cut short", map[string]string{"WHARF_TOKEN": tok[:20]}, nil, "error: WHARF_TOKEN: not a Wharf token"},
		{"neither a token nor a file", nil, []string{"--token", "/no/such/file"}, "error: --token: give a token"},
		{"no token at all", map[string]string{"WHARF_USERNAME": "alice", "WHARF_PASSWORD": "pw"}, nil, "error: --info shows the token you sign in with"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.requests = nil
			_, _, err := runAuth(t, fake.URL, c.env, append([]string{"--info"}, c.args...)...)
			if msg, ok := strings.CutPrefix(c.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), msg) {
					t.Errorf("%v; want an error with %q", err, msg)
				}
				if err != nil && strings.Contains(err.Error(), tok[5:20]) {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil || len(fake.requests) != 1 || fake.requests[0].auth != c.want {
				t.Errorf("%v, sent %+v; want Authorization %q", err, fake.requests, c.want)
			}
		})
	}
}

func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ax, _ := json.Marshal(x)
	bx, _ := json.Marshal(y)
	return string(ax) == string(bx)
}

// wharf auth --remove of several tokens that stops at one it cannot remove says which it
// removed before, in the error (the --json error object has nothing else to say it with).
func TestAuthRemoveSaysWhatItRemovedBeforeAFailure(t *testing.T) {
	loginStore(t)
	url, password := newRealServer(t, server.Options{})
	t.Setenv("WHARF_SERVER", url)
	t.Setenv("WHARF_USERNAME", "admin")
	t.Setenv("WHARF_PASSWORD", password)
	for _, n := range []string{"a", "b"} {
		if rc, out, errOut := execute(t, "auth", "--create", "--name", n); rc != 0 {
			t.Fatalf("auth --create %s: %s%s", n, out, errOut)
		}
	}
	rc, out, _ := execute(t, "auth", "--remove", "a", "nope", "b", "--json")
	var je struct{ Error string }
	if rc != 1 || json.Unmarshal([]byte(out), &je) != nil || !strings.Contains(je.Error, "nope: server answered 404") || !strings.Contains(je.Error, "removed before it: a") {
		t.Errorf("auth --remove a nope b --json: %d %s", rc, out)
	}
}
