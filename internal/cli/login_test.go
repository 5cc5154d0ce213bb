package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/credentials"
	"github.com/wharfhq/wharf/internal/token"
)

// loginStore gives the test an empty config directory, its secrets in the file, and no
// credentials in the environment.
func loginStore(t *testing.T) *credentials.Store {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("XDG_CONFIG_HOME is read on Linux")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir()) // wharf auth login writes ~/.condarc
	t.Setenv(credentials.EnvSecretStore, credentials.InFile)
	for _, k := range []string{"WHARF_SERVER", "WHARF_USERNAME", "WHARF_PASSWORD", "WHARF_TOKEN", "WHARF_SITE"} {
		t.Setenv(k, "")
	}
	st, err := credentials.Open(credentials.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func loginToken(t *testing.T) string {
	t.Helper()
	tok, err := token.New(token.KindScope, token.StrongLen)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRemoteCredentialsPrecedence(t *testing.T) {
	st := loginStore(t)
	workTok, localTok, envTok := loginToken(t), loginToken(t), loginToken(t)
	for _, s := range []credentials.Site{
		{Name: "work", Server: "https://wharf.example.com", Username: "alice", TokenID: 1, Token: workTok},
		{Name: "local", Server: "http://127.0.0.1:9000", Username: "admin", TokenID: 2, Token: localTok},
	} {
		if _, err := st.SaveSite(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetDefault("work"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name                      string
		r                         remote
		env                       map[string]string
		server, token, user, site string
		wantErr                   string
	}{
		{name: "nothing given: the default site", server: "https://wharf.example.com", token: workTok, site: "work"},
		{name: "--site", r: remote{site: "local"}, server: "http://127.0.0.1:9000", token: localTok, site: "local"},
		{name: "WHARF_SITE", env: map[string]string{"WHARF_SITE": "local"}, server: "http://127.0.0.1:9000", token: localTok, site: "local"},
		{name: "--server of a stored site: its token", r: remote{server: "http://127.0.0.1:9000/"}, server: "http://127.0.0.1:9000", token: localTok, site: "local"},
		{name: "--server of no site: anonymous", r: remote{server: "https://other.example.com"}, server: "https://other.example.com"},
		{name: "WHARF_SERVER of no site: anonymous", env: map[string]string{"WHARF_SERVER": "https://other.example.com"}, server: "https://other.example.com"},
		{name: "WHARF_TOKEN wins, on the default site's server", env: map[string]string{"WHARF_TOKEN": envTok}, server: "https://wharf.example.com", token: envTok},
		{name: "-u and WHARF_PASSWORD win", r: remote{username: "bob"}, env: map[string]string{"WHARF_PASSWORD": "pw"}, server: "https://wharf.example.com", user: "bob"},
		{name: "credentials in the URL win", r: remote{server: "https://carol:pw@wharf.example.com"}, server: "https://wharf.example.com", user: "carol"},
		{name: "--token wins over --site", r: remote{site: "local", token: envTok}, server: "http://127.0.0.1:9000", token: envTok},
		{name: "unknown --site", r: remote{site: "nope"}, wantErr: `no site "nope"`},
		{name: "--site and another --server", r: remote{site: "local", server: "https://wharf.example.com"}, wantErr: "give only one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := tc.r
			c, err := r.client()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("client() = %v; want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			used := ""
			if r.used != nil {
				used = r.used.Name
			}
			if c.Server != tc.server || c.Token != tc.token || c.Username != tc.user || used != tc.site {
				t.Errorf("client() = server %q token %v user %q site %q; want %q %v %q %q", c.Server, c.Token != "", c.Username, used, tc.server, tc.token != "", tc.user, tc.site)
			}
			if c.Token != "" && c.Token != tc.token {
				t.Error("signed in with the wrong token")
			}
		})
	}
}

func TestRemoteWithNoStoreUsesTheDefaultServer(t *testing.T) {
	loginStore(t)
	var r remote
	c, err := r.client()
	if err != nil || c.Server != defaultServer || c.Token != "" {
		t.Fatalf("client() = %+v, %v", c, err)
	}
}

func TestRemoteRefusesAnOpenCredentialsFile(t *testing.T) {
	st := loginStore(t)
	if _, err := st.SaveSite(credentials.Site{Name: "work", Server: "https://wharf.example.com", Token: loginToken(t)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDefault("work"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(st.CredentialsFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	var r remote
	_, err := r.client()
	var me *credentials.ModeError
	if !errors.As(err, &me) {
		t.Fatalf("client() with a 0644 credentials file: %v", err)
	}
	// Given credentials, the file is not read.
	t.Setenv("WHARF_TOKEN", loginToken(t))
	r = remote{}
	if _, err := r.client(); err != nil {
		t.Errorf("client() with WHARF_TOKEN: %v", err)
	}
}

// fakeTokens is a server with the token endpoints wharf login and logout use.
type fakeTokens struct {
	names   []string
	created []map[string]any
	deleted []string
}

func (f *fakeTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && r.URL.Path == "/api/v1/tokens":
		var out []map[string]any
		for i, n := range f.names {
			out = append(out, map[string]any{"id": i + 1, "name": n})
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "POST" && r.URL.Path == "/api/v1/tokens":
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw-1" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"code":"unauthorized","message":"wrong username or password"}}`))
			return
		}
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		f.created = append(f.created, req)
		f.names = append(f.names, req["name"].(string))
		tok, _ := token.New(token.KindScope, token.StrongLen)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"token": tok, "info": map[string]any{"id": len(f.names), "name": req["name"], "scopes": req["scopes"]}})
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/api/v1/tokens/"):
		f.deleted = append(f.deleted, strings.TrimPrefix(r.URL.Path, "/api/v1/tokens/"))
		w.WriteHeader(204)
	default:
		w.WriteHeader(404)
	}
}

func loginRun(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := Root()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func TestLoginNamesTokensAfterTheHostAndReplacesThem(t *testing.T) {
	st := loginStore(t)
	f := &fakeTokens{names: []string{hostTokenName()}} // taken already: a suffix
	hs := httptest.NewServer(f)
	defer hs.Close()

	if _, _, err := loginRun(t, "", "login", "--server", hs.URL, "-u", "alice"); err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Errorf("login without a password: %v", err)
	}
	if _, _, err := loginRun(t, "wrong\n", "login", "--server", hs.URL, "-u", "alice", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("login with a wrong password: %v", err)
	}
	out, errOut, err := loginRun(t, "pw-1\n", "login", "--server", hs.URL, "-u", "alice", "--password-stdin", "--expires", "90d")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.created) != 1 || f.created[0]["name"] != hostTokenName()+"-2" || f.created[0]["expires"] != "90d" {
		t.Errorf("login asked for %v", f.created)
	}
	if sc, _ := json.Marshal(f.created[0]["scopes"]); string(sc) != `["repos","api"]` {
		t.Errorf("scopes = %s", sc)
	}
	if !strings.Contains(out, "logged in to "+hs.URL+" as alice") || !strings.Contains(errOut, st.CredentialsFile()) {
		t.Errorf("login said %q / %q", out, errOut)
	}
	st, _ = credentials.Open(credentials.Options{})
	site, err := st.DefaultSite()
	if err != nil || site.TokenName != hostTokenName()+"-2" || site.Username != "alice" || site.Token == "" || strings.Contains(out+errOut, site.Token) {
		t.Fatalf("stored %+v, %v", site, err)
	}
	oldID := site.TokenID

	// Again, with the server of the default site and WHARF_PASSWORD: the old token is revoked.
	t.Setenv("WHARF_PASSWORD", "pw-1")
	if _, _, err := loginRun(t, "", "login", "--scopes", "conda:download", "-s", "pypi:download"); err != nil {
		t.Fatal(err)
	}
	if sc, _ := json.Marshal(f.created[1]["scopes"]); string(sc) != `["conda:download","pypi:download"]` {
		t.Errorf("scopes = %s", sc)
	}
	if len(f.deleted) != 1 || f.deleted[0] != "2" || oldID != 2 {
		t.Errorf("deleted %v; want the old token, id %d", f.deleted, oldID)
	}

	// Logout revokes the token with itself.
	if _, _, err := loginRun(t, "", "logout"); err != nil {
		t.Fatal(err)
	}
	if len(f.deleted) != 2 || f.deleted[1] != "3" {
		t.Errorf("deleted %v", f.deleted)
	}
	st, _ = credentials.Open(credentials.Options{})
	if s, err := st.DefaultSite(); err != nil || s.LoggedIn() || s.Token != "" {
		t.Errorf("after logout: %+v, %v", s, err)
	}
}

func TestLogoutForgetsEvenWhenTheServerIsGone(t *testing.T) {
	st := loginStore(t)
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close() // nobody answers there
	if _, err := st.SaveSite(credentials.Site{Name: "gone", Server: url, TokenID: 9, TokenName: "wharf-x", Token: loginToken(t)}); err != nil {
		t.Fatal(err)
	}
	_, _, err := loginRun(t, "", "logout", "--site", "gone")
	if err == nil || !strings.Contains(err.Error(), "forgotten here") || !strings.Contains(err.Error(), "wharf auth --remove 9") {
		t.Errorf("logout with the server gone: %v", err)
	}
	st, _ = credentials.Open(credentials.Options{})
	if s, err := st.SiteInfo("gone"); err != nil || s.LoggedIn() {
		t.Errorf("after logout: %+v, %v", s, err)
	}
	if b, _ := os.ReadFile(filepath.Join(st.Dir(), credentials.CredentialsFileName)); strings.Contains(string(b), "wrfs-") {
		t.Error("the token is still in the credentials file")
	}
}

func TestAuthLoginTakesTheTokenThreeWays(t *testing.T) {
	loginStore(t)
	tok := loginToken(t)
	const ch = "https://wharf.example.com/conda/acme"
	for _, tc := range []struct {
		name, stdin string
		args        []string
	}{
		{"argument after --token", "", []string{ch, "--token", tok}},
		{"--token=TOKEN", "", []string{ch, "--token=" + tok}},
		{"standard input", tok + "\n", []string{ch, "--token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := loginRun(t, tc.stdin, append([]string{"auth", "login"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, tok) {
				t.Error("auth login printed the token")
			}
			st, _ := credentials.Open(credentials.Options{})
			kind, user, secret, ok := st.ChannelCredential(ch + "/label/dev")
			if !ok || kind != credentials.KindToken || user != "" || secret != tok {
				t.Errorf("ChannelCredential = %q %q %v %v", kind, user, secret == tok, ok)
			}
			if _, _, err := loginRun(t, "", "auth", "logout", ch); err != nil {
				t.Fatal(err)
			}
			// auth login gave conda the token in a ~/.condarc of its own; logout took it away.
			if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".condarc")); !os.IsNotExist(err) {
				t.Errorf("after login and logout, ~/.condarc is there (%v)", err)
			}
		})
	}
	for _, args := range [][]string{
		{"auth", "login", ch},                                   // neither --token nor --basic
		{"auth", "login", ch, "--token", "--basic"},             // both
		{"auth", "login", ch, "extra"},                          // an argument without --token
		{"auth", "login", ch, "--token", tok[:len(tok)-1]},      // a Wharf token cut short
		{"auth", "login", ch, "--basic"},                        // no username
		{"auth", "login", ch, "--basic", "-u", "bob"},           // no password
		{"auth", "login", "acme", "--token", tok},               // not a URL
		{"auth", "login", ch, "--token", tok, "-u", "bob"},      // -u goes with --basic
		{"auth", "logout", "https://wharf.example.com/conda/x"}, // nothing stored
	} {
		if out, errOut, err := loginRun(t, "", args...); err == nil {
			t.Errorf("wharf %v succeeded: %q", args, out)
		} else if strings.Contains(err.Error()+errOut, tok[5:30]) {
			t.Errorf("wharf %v: the error shows the token: %v", args, err)
		}
	}
	// wharf auth keeps its own flags and arguments.
	if _, _, err := loginRun(t, "", "auth", "--list", "stray"); err == nil || !strings.Contains(err.Error(), "unexpected argument") {
		t.Errorf("auth --list stray: %v", err)
	}
}

// wharf setup pip uses the token wharf auth login kept for the channel it is given, when
// nothing else (--token, WHARF_TOKEN, a stored site) gives one; setup conda gives conda each
// kept token for its own channel, never as the server's token.
func TestSetupUsesTheTokenKeptForTheChannel(t *testing.T) {
	loginStore(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"BINSTAR_CONFIG_DIR", "PIP_INDEX_URL", "PIP_CONFIG_FILE", "NETRC"} {
		t.Setenv(k, "")
	}
	tok := loginToken(t)
	var sent []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = append(sent, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":3,"name":"laptop","owner":"alice"}`))
	}))
	defer hs.Close()

	// A channel with nothing kept: setup says how to keep a token; a password is not a token.
	if _, _, err := loginRun(t, "", "setup", "conda", "beta", "--server", hs.URL); err == nil || !strings.Contains(err.Error(), "wharf auth login") {
		t.Errorf("setup of a channel with nothing kept: %v", err)
	}
	if _, _, err := loginRun(t, "pw\n", "auth", "login", hs.URL+"/conda/beta", "--basic", "-u", "bob", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loginRun(t, "", "setup", "conda", "beta", "--server", hs.URL); err == nil || !strings.Contains(err.Error(), "no token") || strings.Contains(err.Error(), "pw") {
		t.Errorf("setup of a channel with a password kept: %v", err)
	}

	if _, _, err := loginRun(t, "", "auth", "login", hs.URL+"/conda/acme", "--token", tok); err != nil {
		t.Fatal(err)
	}
	out, _, err := loginRun(t, "", "setup", "conda", "acme/dev", "--server", hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, tok) {
		t.Error("setup printed the token")
	}
	tokenFile := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "binstar", clientconfig.CondaTokenFile(clientconfig.CondaTokenURL(hs.URL)))
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("conda's token file for the server: %v; want none (acme's token is acme's alone)", err)
	}
	rc, _ := os.ReadFile(filepath.Join(home, ".condarc"))
	if want := "custom_channels:\n  acme: " + hs.URL + "/t/" + tok + "/conda\nchannel_alias: " + hs.URL + "/conda\nchannels:\n  - acme/dev\n  - defaults\n"; string(rc) != want {
		t.Errorf(".condarc =\n%s\nwant\n%s", rc, want)
	}
	if len(sent) != 0 {
		t.Errorf("setup sent %d requests; the kept tokens are not checked", len(sent))
	}

	// pip reads SERVER/pypi/CHANNEL/simple/: a token kept for the channel's URL serves it.
	if _, _, err := loginRun(t, "", "auth", "login", hs.URL+"/pypi/acme/", "--token", tok); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loginRun(t, "", "setup", "pip", "acme", "--server", hs.URL); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "pip", "pip.conf")); !strings.Contains(string(b), "__token__:"+tok+"@") {
		t.Error("pip.conf lacks the kept token")
	}
	if len(sent) != 1 || sent[0] != "token "+tok {
		t.Errorf("setup pip checked the token %d times, with the kept one: %v", len(sent), len(sent) == 1 && sent[0] == "token "+tok)
	}
}
