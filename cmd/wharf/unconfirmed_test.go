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

	// The lists mark her as the web's org page does, and as their --json does; alice, who
	// confirmed hers, goes unmarked.
	const mark = "dora (address not confirmed)"
	out, _ = run("org", "show", "acme")
	if !strings.Contains(out, "member "+mark+"\n") || !strings.Contains(out, "group devs: members alice, "+mark+"\n") || strings.Contains(out, "alice (") {
		t.Errorf("org show does not mark dora alone:\n%s", out)
	}
	if out, _ = run("group", "list", "acme"); !strings.Contains(out, "alice,"+mark) || strings.Contains(out, "alice (") {
		t.Errorf("group list does not mark dora alone:\n%s", out)
	}
	out, _ = run("group", "list", "acme", "--json")
	var groups []struct{ Members, Unconfirmed []string }
	if err := json.Unmarshal([]byte(out), &groups); err != nil || len(groups) != 1 || strings.Join(groups[0].Unconfirmed, ",") != "dora" {
		t.Errorf("group list --json: %v, %s", err, out)
	}
}
