package main_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 12, item 4, as a black-box tester met it: wharf setup conda after wharf auth login of
// a channel backs ~/.condarc up while it holds the channel's token (its custom_channels
// entry). A backup outlives wharf auth logout and setup conda --remove, which take the token
// out, so it keeps no token: once both have run, no file in the home holds the token.
func TestCLIBackupsKeepNoToken(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	alice := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	mustWharf(t, alice, "", "channel", "create", "acme", "--private")
	chanTok := strings.TrimSpace(mustWharf(t, alice, "", "auth", "--create", "--name", "acme", "--scopes", "conda:download", "--resource", "acme:read"))

	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "WHARF_CREDENTIAL_STORE=file", "BINSTAR_CONFIG_DIR="}
	rc := filepath.Join(home, ".condarc")
	if err := os.WriteFile(rc, []byte("show_channel_urls: true # mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustWharf(t, env, "secret-password-1\n", "login", "--server", s.url, "--username", "alice", "--password-stdin")
	mustWharf(t, env, "", "auth", "login", "acme", "--token", chanTok)
	mustWharf(t, env, "", "setup", "conda", "acme") // backs up the .condarc that holds acme's token

	backups, _ := filepath.Glob(rc + ".bak-*")
	if len(backups) == 0 {
		t.Fatal("wharf setup conda made no backup of .condarc")
	}
	for _, b := range backups {
		got, _ := os.ReadFile(b)
		if !strings.Contains(string(got), "show_channel_urls: true # mine") || !strings.Contains(string(got), "acme: ") {
			t.Errorf("backup %s does not keep the file's settings:\n%s", b, got)
		}
	}

	mustWharf(t, env, "", "auth", "logout", "acme")
	mustWharf(t, env, "", "setup", "conda", "acme", "--remove")
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(path); strings.Contains(string(b), chanTok) {
			t.Errorf("%s holds acme's token after wharf auth logout and wharf setup conda --remove", path)
		}
		return nil
	})
}
