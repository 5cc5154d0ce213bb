package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/clientconfig/condaemu"
	"github.com/wharfhq/wharf/internal/conda/condatest"
)

// TestCLICondaChannelTokens: after wharf login (bob), wharf setup conda and wharf auth login of
// two private channels of alice's with tokens that each reach one of them, what conda requests
// (read from the files wharf wrote the way conda 24.11.3 and 26.7.1 read them, in every order
// of the token files)
// is answered by the real server: each channel with its own token, which bob's token could not
// read; after wharf auth logout the channel goes back to bob's token, which the server refuses.
func TestCLICondaChannelTokens(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	mustWharf(t, nil, "secret-password-2\n", "admin", "create-user", "bob", "--email", "bob@example.com", "--password-stdin", "--data", data)
	alice := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	dir := t.TempDir()
	pkg := condatest.WriteFile(t, dir, condatest.Spec{Name: "demo", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"})
	tokens := map[string]string{}
	for _, ch := range []string{"acme", "acme-labs"} {
		mustWharf(t, alice, "", "channel", "create", ch, "--private")
		mustWharf(t, alice, "", "upload", pkg, "-c", ch)
		tokens[ch] = strings.TrimSpace(mustWharf(t, alice, "", "auth", "--create", "--name", ch, "--scopes", "conda:download", "--resource", ch+":read"))
	}

	home := t.TempDir()
	tokenDir := filepath.Join(home, ".config", "binstar")
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "WHARF_CREDENTIAL_STORE=file", "BINSTAR_CONFIG_DIR="}
	mustWharf(t, env, "secret-password-2\n", "login", "--server", s.url, "--username", "bob", "--password-stdin")
	mustWharf(t, env, "", "setup", "conda", "acme")

	// fetch is what conda asks the server for channel's noarch repodata, in each order of the
	// token files; every order must give one answer.
	fetch := func(state, channel string) (token string, status int) {
		t.Helper()
		rc, _ := os.ReadFile(filepath.Join(home, ".condarc"))
		cfg, err := condaemu.Load(rc, tokenDir)
		if err != nil {
			t.Fatal(err)
		}
		var first condaemu.Request
		for i, o := range cfg.Orders() {
			for _, v := range []string{condaemu.Conda24, condaemu.Conda26} {
				o.Version = v
				r, err := o.Fetch(channel, "noarch", "repodata.json")
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 && v == condaemu.Conda24 {
					first = r
				} else if r != first {
					t.Fatalf("%s: conda install -c %s asks for a URL that depends on the order of the token files, or on conda's version", state, channel)
				}
			}
		}
		if !strings.HasPrefix(first.URL, s.url+"/") || first.Path() != "/conda/"+strings.TrimPrefix(channel, s.url+"/conda/")+"/noarch/repodata.json" {
			t.Fatalf("%s: conda install -c %s asks for %s", state, channel, first.Path())
		}
		res, err := http.Get(first.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return first.Token, res.StatusCode
	}
	expect := func(state, channel, token string, status int) {
		t.Helper()
		gotTok, gotStatus := fetch(state, channel)
		name := map[string]string{tokens["acme"]: "acme's token", tokens["acme-labs"]: "acme-labs' token", "": "no token"}[gotTok]
		if name == "" {
			name = "bob's login token"
		}
		wantName := map[string]string{tokens["acme"]: "acme's token", tokens["acme-labs"]: "acme-labs' token"}[token]
		if wantName == "" {
			wantName = "bob's login token"
		}
		if name != wantName || gotStatus != status {
			t.Errorf("%s: conda install -c %s sends %s and gets %d; want %s and %d", state, channel, name, gotStatus, wantName, status)
		}
	}

	expect("after setup conda", "acme", "", http.StatusNotFound) // bob may not see alice's private channel

	mustWharf(t, env, "", "auth", "login", s.url+"/conda/acme", "--token", tokens["acme"])
	mustWharf(t, env, "", "auth", "login", "acme-labs", "--token", tokens["acme-labs"])
	for _, ch := range []string{"acme", s.url + "/conda/acme"} {
		expect("after auth login", ch, tokens["acme"], http.StatusOK)
	}
	for _, ch := range []string{"acme-labs", s.url + "/conda/acme-labs"} {
		expect("after auth login", ch, tokens["acme-labs"], http.StatusOK)
	}

	mustWharf(t, env, "", "auth", "logout", "acme")
	expect("after auth logout acme", "acme", "", http.StatusNotFound)
	expect("after auth logout acme", "acme-labs", tokens["acme-labs"], http.StatusOK)
}
