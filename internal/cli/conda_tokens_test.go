package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/clientconfig/condaemu"
	"github.com/wharfhq/wharf/internal/credentials"
)

// condaHome gives a test a home of its own (conda's token directory in $XDG_CONFIG_HOME/binstar)
// and a stand-in for the server's /api/v1/tokens/current, which wharf setup asks to check a
// token; it returns the server's URL and the token directory.
func condaHome(t *testing.T) (server, tokenDir string) {
	t.Helper()
	loginStore(t)
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"BINSTAR_CONFIG_DIR", "PIP_INDEX_URL", "PIP_CONFIG_FILE", "NETRC"} {
		t.Setenv(k, "")
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":3,"name":"laptop","owner":"alice"}`))
	}))
	t.Cleanup(hs.Close)
	return hs.URL, filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "binstar")
}

// condaWant is what conda must request for a channel given to conda install -c: the path
// under the server, and the token it sends ("" for none).
type condaWant struct{ channel, path, token string }

// checkConda reads ~/.condarc and conda's token directory the way conda 24.11.3 and 26.7.1
// read them (condaemu), and checks, in every order the directory may list the token files, that each
// channel's repodata and packages are asked for at the right path with the right token.
func checkConda(t *testing.T, state, tokenDir string, wants []condaWant) {
	t.Helper()
	rc, _ := os.ReadFile(filepath.Join(os.Getenv("HOME"), ".condarc"))
	cfg, err := condaemu.Load(rc, tokenDir)
	if err != nil {
		t.Fatalf("%s: %v", state, err)
	}
	orders := cfg.Orders()
	for _, w := range wants {
		for _, subdir := range []string{"linux-64", "noarch"} {
			for _, file := range []string{"repodata.json", "demo-1.0-0.conda"} {
				bad := map[string]bool{}
				for _, o := range orders {
					for _, v := range []string{condaemu.Conda24, condaemu.Conda26} {
						o.Version = v
						r, err := o.Fetch(w.channel, subdir, file)
						if err != nil {
							t.Fatalf("%s: %v", state, err)
						}
						if r.Token != w.token || r.Path() != w.path+"/"+subdir+"/"+file {
							bad["conda "+v+": "+redactTokens(r.URL, w.token)] = true
						}
					}
				}
				if len(bad) > 0 {
					got := make([]string, 0, len(bad))
					for u := range bad {
						got = append(got, u)
					}
					t.Errorf("%s: conda install -c %s asks for %v (over %d orders of %d token files); want %s/%s/%s with %s",
						state, w.channel, got, len(orders), len(cfg.TokenFiles), w.path, subdir, file, redactTokens(w.token, w.token))
				}
			}
		}
	}
}

// redactTokens names the test's tokens in a message: "want" for the one expected.
func redactTokens(s, want string) string {
	if want != "" {
		s = strings.ReplaceAll(s, want, "<want>")
	}
	for name, tok := range condaTestTokens {
		s = strings.ReplaceAll(s, tok, "<"+name+">")
	}
	return s
}

var condaTestTokens = map[string]string{}

func condaTestToken(t *testing.T, name string) string {
	tok := loginToken(t)
	condaTestTokens[name] = tok
	return tok
}

// A token kept with wharf auth login for a conda channel is the one conda sends for that
// channel (by name, label, subchannel or URL), and only for it; the server's token of wharf
// setup conda serves every other channel; wharf auth logout undoes exactly that. All this in
// every order conda's token directory may list its files, with token files of other servers
// beside Wharf's.
func TestCondaSendsEachChannelItsOwnToken(t *testing.T) {
	server, tokenDir := condaHome(t)
	site, acme, labs, explicit := condaTestToken(t, "site"), condaTestToken(t, "acme"), condaTestToken(t, "acme-labs"), condaTestToken(t, "explicit")
	st, _ := credentials.Open(credentials.Options{})
	if _, err := st.SaveSite(credentials.Site{Name: "work", Server: server, Username: "alice", TokenID: 1, Token: site}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDefault("work"); err != nil { // as wharf login leaves it
		t.Fatal(err)
	}
	// Token files of others: anaconda login's for anaconda.org, conda-token's for a mirror.
	os.MkdirAll(tokenDir, 0o700)
	for u, tok := range map[string]string{"https://api.anaconda.org": "ANACONDA", "https://mirror.example.com/repo/": "MIRROR"} {
		if err := os.WriteFile(filepath.Join(tokenDir, clientconfig.CondaTokenFile(u)), []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := loginRun(t, "", args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", redactTokens("wharf "+strings.Join(args, " "), ""), err, errOut)
		}
		for _, tok := range condaTestTokens {
			if strings.Contains(out+errOut, tok) {
				t.Errorf("wharf %v printed a token:\n%s%s", args, out, errOut)
			}
		}
		return out
	}
	wants := func(acmeTok, labsTok string) []condaWant {
		return []condaWant{
			{"acme", "/conda/acme", acmeTok},
			{"acme/label/dev", "/conda/acme/label/dev", acmeTok},
			{"acme/sub", "/conda/acme/sub", acmeTok},
			{server + "/conda/acme", "/conda/acme", acmeTok},
			{server + "/conda/acme/label/dev", "/conda/acme/label/dev", acmeTok},
			{"acme-labs", "/conda/acme-labs", labsTok},
			{server + "/conda/acme-labs/", "/conda/acme-labs", labsTok},
			{"other", "/conda/other", site},
			{server + "/conda/other", "/conda/other", site},
			{server + "/t/" + explicit + "/conda/acme", "/conda/acme", explicit}, // a token in the URL wins
			{"conda-forge-mirror", "/conda/conda-forge-mirror", site},
		}
	}

	run("setup", "conda", "acme")
	rcPath := filepath.Join(os.Getenv("HOME"), ".condarc")
	afterSetup, _ := os.ReadFile(rcPath)
	checkConda(t, "after setup conda", tokenDir, wants(site, site))

	run("auth", "login", server+"/conda/acme", "--token", acme)
	checkConda(t, "after auth login …/conda/acme", tokenDir, wants(acme, site))
	if fi, err := os.Stat(rcPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf(".condarc with a token in it: %v, %v", fi.Mode(), err)
	}

	run("auth", "login", "acme-labs", "--token", labs) // a bare name: the default site's server
	checkConda(t, "after auth login acme-labs", tokenDir, wants(acme, labs))

	if out := run("setup", "conda", "acme"); !strings.Contains(out, "unchanged") {
		t.Errorf("setup conda again changed something:\n%s", out)
	}
	checkConda(t, "after setup conda again", tokenDir, wants(acme, labs))

	// A subchannel's own token is refused: its entry would catch acme's requests too.
	if _, _, err := loginRun(t, "", "auth", "login", server+"/conda/acme/sub", "--token", labs); err == nil || !strings.Contains(err.Error(), "subchannel") {
		t.Errorf("auth login of a subchannel: %v", err)
	}
	// So is a token conda would cut short in a URL.
	if _, _, err := loginRun(t, "", "auth", "login", server+"/conda/acme", "--token", "abc_def.ghi"); err == nil || !strings.Contains(err.Error(), "conda reads a token") {
		t.Errorf("auth login with a token conda cannot put in a URL: %v", err)
	}
	checkConda(t, "after a refused auth login", tokenDir, wants(acme, labs))

	run("auth", "logout", server+"/conda/acme")
	checkConda(t, "after auth logout …/conda/acme", tokenDir, wants(site, labs))
	run("auth", "logout", "acme-labs")
	checkConda(t, "after auth logout acme-labs", tokenDir, wants(site, site))
	if now, _ := os.ReadFile(rcPath); string(now) != string(afterSetup) {
		t.Errorf("after logging out of both, .condarc =\n%s\nwant what setup conda wrote:\n%s", now, afterSetup)
	}

	// setup conda --remove takes the entries of the server out with the rest.
	run("auth", "login", server+"/conda/acme", "--token", acme)
	run("setup", "conda", "acme", "--remove")
	if b, err := os.ReadFile(rcPath); err == nil && strings.Contains(string(b), "custom_channels") {
		t.Errorf("after setup conda --remove .condarc =\n%s", b)
	}
	checkConda(t, "after setup conda --remove", tokenDir, []condaWant{{server + "/conda/acme", "/conda/acme", ""}, {server + "/conda/other", "/conda/other", ""}})
}

// Files of older versions: wharf setup conda wrote a channel's kept token as the server's
// token file when it had no other (conda sent it to every channel), and wharf auth login
// wrote nothing for conda. wharf setup conda brings both to the new layout; auth logout takes
// an old server file holding the channel's token with it.
func TestCondaFilesOfOlderVersionsAreMigrated(t *testing.T) {
	server, tokenDir := condaHome(t)
	acme := condaTestToken(t, "acme")
	st, _ := credentials.Open(credentials.Options{})
	if _, err := st.SaveChannel(credentials.Channel{URL: server + "/conda/acme", Kind: credentials.KindToken, Secret: acme}); err != nil {
		t.Fatal(err)
	}
	serverFile := filepath.Join(tokenDir, clientconfig.CondaTokenFile(clientconfig.CondaTokenURL(server)))
	os.MkdirAll(tokenDir, 0o700)
	if err := os.WriteFile(serverFile, []byte(acme), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(os.Getenv("HOME"), ".condarc")
	if err := os.WriteFile(rc, []byte("channel_alias: "+server+"/conda\nchannels:\n  - acme\n  - defaults\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkConda(t, "the old layout", tokenDir, []condaWant{{"acme", "/conda/acme", acme}, {"other", "/conda/other", acme}})

	if _, errOut, err := loginRun(t, "", "setup", "conda", "--server", server); err != nil {
		t.Fatalf("setup conda: %v\n%s", err, errOut)
	}
	if _, err := os.Stat(serverFile); !os.IsNotExist(err) {
		t.Errorf("the server's token file that held acme's token is still there (%v)", err)
	}
	checkConda(t, "after setup conda", tokenDir, []condaWant{{"acme", "/conda/acme", acme}, {"other", "/conda/other", ""}})

	// Logging out of the channel with an old server file holding its token: both go.
	if err := os.WriteFile(serverFile, []byte(acme), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := loginRun(t, "", "auth", "logout", server+"/conda/acme"); err != nil {
		t.Fatalf("auth logout: %v\n%s", err, errOut)
	}
	if _, err := os.Stat(serverFile); !os.IsNotExist(err) {
		t.Errorf("auth logout left the server's token file holding the channel's token (%v)", err)
	}
	checkConda(t, "after auth logout", tokenDir, []condaWant{{"acme", "/conda/acme", ""}, {"other", "/conda/other", ""}})
}

// wharf setup conda --remove undoes wharf setup conda: the token file goes, and a ~/.condarc
// that holds nothing else goes too (channel_alias and the channels named with it).
func TestSetupCondaRemoveUndoesSetup(t *testing.T) {
	server, tokenDir := condaHome(t)
	site := condaTestToken(t, "site")
	rcPath := filepath.Join(os.Getenv("HOME"), ".condarc")
	for _, before := range []string{"", "channel_alias: https://conda.example.com\nchannels:\n  - conda-forge\n"} {
		if before == "" {
			os.Remove(rcPath)
		} else if err := os.WriteFile(rcPath, []byte(before), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"setup", "conda", "acme", "--server", server, "--token", site}, {"setup", "conda", "acme", "--server", server, "--remove"}} {
			if _, errOut, err := loginRun(t, "", args...); err != nil {
				t.Fatalf("wharf %v: %v\n%s", args[:3], err, errOut)
			}
		}
		after, err := os.ReadFile(rcPath)
		if before == "" && !os.IsNotExist(err) {
			t.Errorf("setup conda then --remove left .condarc (%v):\n%s", err, after)
		}
		if before != "" && string(after) != "channels:\n  - conda-forge\n" {
			t.Errorf("setup conda then --remove on\n%sleft\n%s", before, after)
		}
		checkConda(t, "after setup conda --remove", tokenDir, []condaWant{{server + "/conda/acme", "/conda/acme", ""}})
	}
}

// wharf auth login of a conda channel warns when conda would have read another server's
// channel of that name until then: channel_alias another server's, or not set (conda's
// default, conda.anaconda.org); not when channel_alias is this server's.
func TestCondaAuthLoginWarnsOfTheChannelItTakesOver(t *testing.T) {
	server, _ := condaHome(t)
	tok := condaTestToken(t, "acme")
	rcPath := filepath.Join(os.Getenv("HOME"), ".condarc")
	for _, tc := range []struct{ condarc, warn string }{
		{"", "channel_alias is not set (conda's default is https://conda.anaconda.org): conda install -c acme now reads " + server + "/conda/acme"},
		{"channel_alias: https://conda.example.com\n", "channel_alias is https://conda.example.com: conda install -c acme now reads " + server + "/conda/acme"},
		{"channel_alias: " + server + "/conda\n", ""},
	} {
		os.Remove(rcPath)
		if tc.condarc != "" {
			if err := os.WriteFile(rcPath, []byte(tc.condarc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, errOut, err := loginRun(t, "", "auth", "login", server+"/conda/acme", "--token", tok, "--json")
		var v channelView
		if err != nil || json.Unmarshal([]byte(out), &v) != nil {
			t.Fatalf("auth login: %v\n%s%s", err, out, errOut)
		}
		got := strings.Join(v.Warnings, "\n")
		if (tc.warn == "") != (got == "") || !strings.Contains(got, tc.warn) {
			t.Errorf("auth login with .condarc %q warns %q; want %q", tc.condarc, got, tc.warn)
		}
		if _, _, err := loginRun(t, "", "auth", "logout", server+"/conda/acme"); err != nil {
			t.Fatal(err)
		}
	}
}
