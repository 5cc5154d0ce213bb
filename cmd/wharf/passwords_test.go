package main_test

import (
	"strings"
	"testing"
)

// A password set in full-width forms with wharf admin create-user logs in with wharf login
// typed in ASCII, and the other way round: the server hashes and checks NFKC.
func TestCLIPasswordForms(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	mustWharf(t, nil, "ｆｕｌｌ　ｗｉｄｔｈ　１２３４\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	mustWharf(t, nil, "plain ascii 5678\n", "admin", "create-user", "bob", "--email", "bob@example.com", "--password-stdin", "--data", data)
	env := []string{"WHARF_CREDENTIAL_STORE=file", "DBUS_SESSION_BUS_ADDRESS=unix:path=" + t.TempDir() + "/no-bus"}
	for user, typed := range map[string]string{"alice": "full width 1234", "bob": "ｐｌａｉｎ　ａｓｃｉｉ　５６７８"} {
		if out := mustWharf(t, env, typed+"\n", "login", "--server", s.url, "--username", user, "--password-stdin", "--json"); !strings.Contains(out, `"logged_in": true`) {
			t.Errorf("wharf login as %s: %s", user, out)
		}
	}
}
