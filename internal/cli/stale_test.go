package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/server"
)

// When wharf login replaces a site's token, or wharf logout revokes it, the files wharf setup
// wrote with that token are named, with the setup that writes them again: conda, pip and twine
// would go on sending the revoked token, which the server refuses (401), public channels
// included. Files that hold another token, or none, are not named.
func TestRevokingTheLoginTokenNamesTheFilesThatHoldIt(t *testing.T) {
	loginStore(t)
	for _, k := range []string{"BINSTAR_CONFIG_DIR", "PIP_INDEX_URL", "PIP_CONFIG_FILE", "NETRC"} {
		t.Setenv(k, "")
	}
	url, password := newRealServer(t, server.Options{})
	mustRun := func(stdin string, args ...string) (string, string) {
		t.Helper()
		out, errOut, err := loginRun(t, stdin, args...)
		if err != nil {
			t.Fatalf("wharf %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out, errOut
	}
	login := func() (string, string) {
		return mustRun(password+"\n", "login", "--server", url, "-u", "admin", "--password-stdin", "--json")
	}
	login()
	mustRun("", "channel", "create", "acme")
	mustRun("", "setup", "conda")
	mustRun("", "setup", "twine", "acme")
	mustRun("", "setup", "pip", "acme", "--netrc")
	env, err := clientEnv()
	if err != nil {
		t.Fatal(err)
	}
	condaFile := filepath.Join(env.CondaTokenDir(), clientconfig.CondaTokenFile(clientconfig.CondaTokenURL(url)))

	out, errOut := login() // a new token; the one the files hold is revoked
	var got struct {
		Stale []staleFile `json:"stale_files"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := []staleFile{{condaFile, "wharf setup conda"}, {env.NetrcPath(), "wharf setup pip --netrc"}, {env.Pypirc(), "wharf setup twine"}}
	if len(got.Stale) != len(want) {
		t.Errorf("after login again, stale files %+v; want %+v", got.Stale, want)
	}
	for i, w := range want {
		if i < len(got.Stale) && got.Stale[i] != w {
			t.Errorf("stale file %d: %+v, want %+v", i, got.Stale[i], w)
		}
		if !strings.Contains(errOut, w.Path+" holds the token just revoked") || !strings.Contains(errOut, w.Setup) {
			t.Errorf("login does not name %s on standard error:\n%s", w.Path, errOut)
		}
	}
	if strings.Contains(errOut, env.PipConf()) {
		t.Errorf("pip.conf, which holds no token (--netrc), is named:\n%s", errOut)
	}

	// conda's file gets the new token; logging out names it alone.
	mustRun("", "setup", "conda")
	_, errOut = mustRun("", "logout")
	if !strings.Contains(errOut, condaFile+" holds the token just revoked") || strings.Contains(errOut, env.Pypirc()) {
		t.Errorf("logout:\n%s", errOut)
	}
	if _, err := os.Stat(condaFile); err != nil {
		t.Fatal(err) // named, and left for the user to write again or remove
	}
}
