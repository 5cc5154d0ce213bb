package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Adding an account that has not confirmed its address to an org or a group works, and the
// CLI prints the server's warning on standard error (and in --json).
func TestCLIWarnsOfUnconfirmedAccounts(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t), "--signup", "open")
	srv := []string{"WHARF_SERVER=" + s.url}
	mustWharf(t, nil, "quiet harbour phrase 9\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	mustWharf(t, srv, "lantern orchard phrase 7\n", "signup", "dora", "--email", "dora@example.com", "--password-stdin")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs)
		}
	})
	mailedToken(t, data, "dora@example.com", "/account/verify") // the account is there once its mail is
	alice := append(srv, "WHARF_USERNAME=alice", "WHARF_PASSWORD=quiet harbour phrase 9")
	mustWharf(t, alice, "", "org", "create", "acme")
	mustWharf(t, alice, "", "group", "create", "acme", "devs")

	// run returns standard output and standard error.
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), wharfBin, args...)
		cmd.Env = append(os.Environ(), "WHARF_TOKEN=", "WHARF_SITE=", "WHARF_CREDENTIAL_STORE=", "HOME="+t.TempDir())
		cmd.Env = append(cmd.Env, alice...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("wharf %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	const warning = "wharf: warning: dora has not confirmed their email address"
	if out, errOut := run("org", "member", "set", "acme", "dora", "--role", "member"); !strings.Contains(out, "dora is member of acme") || !strings.Contains(errOut, warning) {
		t.Errorf("org member set: %q, %q", out, errOut)
	}
	if out, errOut := run("group", "add", "acme", "devs", "dora"); !strings.Contains(out, "added dora to group devs") || !strings.Contains(errOut, warning) {
		t.Errorf("group add: %q, %q", out, errOut)
	}
	out, _ := run("group", "add", "acme", "devs", "dora", "--json")
	var answer struct{ Warning string }
	if err := json.Unmarshal([]byte(out), &answer); err != nil || !strings.Contains(answer.Warning, "dora has not confirmed") {
		t.Errorf("group add --json: %q, %v", out, err)
	}
	if _, errOut := run("group", "add", "acme", "devs", "alice"); errOut != "" {
		t.Errorf("adding a confirmed account warns: %q", errOut)
	}
}
