package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// Issue 12, item 3, with the real `wharf login`: the login's token ("repos api") makes the
// tokens the seed documents describe (a channel read token, an artifact:download token) and
// extends and reissues them; a token broader than the login's is refused with a message
// that says which part is broader and how to proceed, and the password does it.
func TestCLILoginTokenMakesNarrowerTokens(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "WHARF_CREDENTIAL_STORE=file"}
	mustWharf(t, env, "secret-password-1\n", "login", "--server", s.url, "--username", "alice", "--password-stdin")
	mustWharf(t, env, "", "channel", "create", "acme")

	for _, args := range [][]string{
		{"auth", "--create", "--name", "r", "--resource", "acme:read"},
		{"auth", "--create", "--name", "d", "--scopes", "artifact:download"},
		{"auth", "--edit", "r", "--expires", "30d"},
		{"auth", "--edit", "r", "--reissue"},
		{"auth", "--edit", "d", "--expires", "10d", "--reissue"},
	} {
		if out, err := wharf(t, env, "", args...); err != nil {
			t.Errorf("after wharf login: %v", err)
		} else if strings.Contains(strings.Join(args, " "), "--create") || strings.Contains(strings.Join(args, " "), "--reissue") {
			if !strings.HasPrefix(strings.TrimSpace(out), "wrf") {
				t.Errorf("wharf %s printed %q, not a secret", strings.Join(args, " "), out)
			}
		}
	}
	_, err := wharf(t, env, "", "auth", "--create", "--name", "everything", "--scopes", "all")
	if err == nil {
		t.Fatal("the login token made an all token")
	}
	for _, want := range []string{"403", "its scopes all allow everything", "repos api", "--username", "wharf login --scopes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	// With no scopes: all its owner may, said as docs/cli.md says it, with how to limit it.
	_, err = wharf(t, env, "", "auth", "--create", "--name", "x")
	for _, want := range []string{"403", "it has no scope limits, so it allows everything", "--scopes 'repos api'", "--username"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refusal of a token with no scopes lacks %q: %v", want, err)
		}
	}
	// A channel token makes none, and says what to use instead.
	chanTok := strings.TrimSpace(mustWharf(t, env, "", "auth", "--create", "--name", "chan", "--resource", "acme:write", "--scopes", "user.token:edit conda"))
	_, err = wharf(t, env, "", "auth", "--create", "--name", "y", "--scopes", "conda:download", "--token", chanTok)
	for _, want := range []string{"403", "a token limited to channels (--resource) makes, changes and revokes no tokens", "--username", "wharf login"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refusal of a channel token making a token lacks %q: %v", want, err)
		}
	}
	// As the refusal says: the password makes it.
	mustWharf(t, append(env, "WHARF_PASSWORD=secret-password-1"), "", "auth", "--create", "--name", "everything", "--scopes", "all", "--username", "alice")
}
