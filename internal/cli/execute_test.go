package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/version"
)

// execute runs a command line through Execute, as main does.
func execute(t *testing.T, args ...string) (rc int, stdout, stderr string) {
	t.Helper()
	root := Root()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(""))
	rc = Execute(t.Context(), root, args)
	return rc, out.String(), errOut.String()
}

// commands lists the command paths under c, with whether each is runnable.
func commands(c *cobra.Command) (runnable, groups [][]string) {
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			if sub.HasSubCommands() {
				groups = append(groups, p)
			}
			if sub.Runnable() && !sub.HasSubCommands() || sub.Name() == "auth" {
				runnable = append(runnable, p)
			}
			walk(sub, p)
		}
	}
	walk(c, nil)
	return runnable, groups
}

// Every command with --json reports a failure as one JSON object on standard output, and
// nothing on standard error: a flag it does not know, and whatever else goes wrong (here:
// arguments it does not take, or a server that is not there).
func TestEveryCommandReportsErrorsAsJSON(t *testing.T) {
	loginStore(t)
	t.Setenv("HOME", t.TempDir())
	t.Chdir(t.TempDir()) // nothing may land in the test's directory
	t.Setenv("WHARF_SERVER", "http://127.0.0.1:1")
	runnable, _ := commands(Root())
	withJSON := 0
	for _, path := range runnable {
		cmd, _, err := Root().Find(path)
		if err != nil || cmd.Flags().Lookup("json") == nil {
			continue
		}
		withJSON++
		for _, extra := range [][]string{{"--json", "--no-such-flag"}, {"--json", "x1", "x2", "x3", "x4", "x5"}, {"--json=true", "x1", "x2", "x3", "x4", "x5"}} {
			args := append(append([]string(nil), path...), extra...)
			rc, out, errOut := execute(t, args...)
			if rc == 0 {
				if extra[1] == "--no-such-flag" {
					t.Errorf("wharf %s: exit 0", strings.Join(args, " "))
				}
				continue // did not fail; nothing to report
			}
			var got map[string]any
			dec := json.NewDecoder(strings.NewReader(out))
			if err := dec.Decode(&got); err != nil || dec.More() {
				t.Errorf("wharf %s: standard output is not one JSON object (%v):\n%s", strings.Join(args, " "), err, out)
				continue
			}
			if msg, _ := got["error"].(string); msg == "" {
				t.Errorf("wharf %s: %s; want {\"error\": MESSAGE}", strings.Join(args, " "), out)
			}
			if errOut != "" {
				t.Errorf("wharf %s: standard error %q; the JSON says it all", strings.Join(args, " "), errOut)
			}
		}
	}
	t.Logf("%d commands with --json", withJSON)
	if withJSON < 40 {
		t.Errorf("only %d commands with --json found; the walk is broken", withJSON)
	}
	// Without --json, the error goes to standard error as before.
	if rc, out, errOut := execute(t, "channel", "list", "--no-such-flag"); rc != 1 || out != "" || !strings.HasPrefix(errOut, "wharf: unknown flag") {
		t.Errorf("without --json: %d %q %q", rc, out, errOut)
	}
}

// An unknown subcommand fails, at every level, with the names meant; a command that groups
// others still shows its help when given none.
func TestUnknownSubcommandsFailWithSuggestions(t *testing.T) {
	loginStore(t)
	_, groups := commands(Root())
	groups = append(groups, nil) // the top level
	for _, path := range groups {
		cmd, _, _ := Root().Find(path)
		if len(path) == 0 {
			cmd = Root()
		}
		var sub string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() && s.Name() != "help" && len(s.Name()) > 3 {
				sub = s.Name()
				break
			}
		}
		if sub == "" {
			continue
		}
		typo := sub[:len(sub)-1] // one letter short: wharf channel lis
		rc, out, errOut := execute(t, append(append([]string(nil), path...), typo, "--json")...)
		if rc == 0 {
			t.Errorf("wharf %s %s: exit 0", strings.Join(path, " "), typo)
			continue
		}
		msg := errOut
		var je struct{ Error string }
		if json.Unmarshal([]byte(out), &je) == nil {
			msg = je.Error
		}
		if !strings.Contains(msg, "unknown command \""+typo+"\"") || !strings.Contains(msg, "Did you mean this?\n\t"+sub) {
			t.Errorf("wharf %s %s: %q", strings.Join(path, " "), typo, msg)
		}
	}
	if rc, out, _ := execute(t, "channel"); rc != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("wharf channel: %d %q", rc, out)
	}
	if rc, _, errOut := execute(t, "channel", "lst"); rc != 1 || !strings.Contains(errOut, "Did you mean this?\n\tlist") {
		t.Errorf("wharf channel lst: %d %q", rc, errOut)
	}
}

func TestVersion(t *testing.T) {
	rc, v, _ := execute(t, "version")
	rc2, flag, _ := execute(t, "--version")
	if rc != 0 || rc2 != 0 || v != flag || v != version.String()+"\n" || !strings.HasPrefix(v, "wharf ") || !strings.Contains(v, "go1.") {
		t.Errorf("wharf version = %d %q, wharf --version = %d %q", rc, v, rc2, flag)
	}
	_, out, _ := execute(t, "version", "--json")
	var got api.VersionInfo
	if err := json.Unmarshal([]byte(out), &got); err != nil || got != version.Get() || got.Version == "" || got.Go == "" {
		t.Errorf("wharf version --json = %s (%v)", out, err)
	}
}

// A bad WHARF_ value of the server's configuration stops only the commands that read it, with
// an error Execute reports (as JSON with --json); wharf version and the client commands run.
func TestBadServerEnvironmentStopsOnlyTheCommandsThatReadIt(t *testing.T) {
	loginStore(t)
	t.Setenv("WHARF_BODY_TIMEOUT", "soon")
	if rc, out, errOut := execute(t, "version"); rc != 0 || !strings.HasPrefix(out, "wharf ") {
		t.Errorf("wharf version: %d %q %q", rc, out, errOut)
	}
	if rc, out, errOut := execute(t, "channel", "list", "--server", "http://127.0.0.1:1", "--json"); rc != 1 || strings.Contains(out, "WHARF_BODY_TIMEOUT") || !strings.Contains(out, "cannot reach") || errOut != "" {
		t.Errorf("wharf channel list: %d %q %q", rc, out, errOut)
	}
	data := t.TempDir()
	for _, args := range [][]string{{"serve", "--data", data}, {"admin", "fsck", "--data", data}, {"admin", "outbox", "--data", data}, {"admin", "create-user", "x", "--email", "x@example.com", "--data", data}} {
		rc, out, errOut := execute(t, args...)
		if rc != 1 || out != "" || !strings.Contains(errOut, `WHARF_BODY_TIMEOUT="soon"`) {
			t.Errorf("wharf %s: %d %q %q", strings.Join(args, " "), rc, out, errOut)
		}
		if args[0] == "serve" {
			continue // no --json
		}
		rc, out, errOut = execute(t, append(args, "--json")...)
		var je struct{ Error string }
		if rc != 1 || json.Unmarshal([]byte(out), &je) != nil || !strings.Contains(je.Error, "WHARF_BODY_TIMEOUT") || errOut != "" {
			t.Errorf("wharf %s --json: %d %q %q", strings.Join(args, " "), rc, out, errOut)
		}
	}
}

// wharf help with a topic that is not a command fails as the command would, with the names
// meant; a known topic shows that command's help.
func TestHelpOfAnUnknownTopic(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		meant   string
		rc      int
		helpFor string
	}{
		{[]string{"help", "chanel"}, "channel", 1, ""},
		{[]string{"help", "channel", "lst"}, "list", 1, ""},
		{[]string{"help", "channel", "list"}, "", 0, "wharf channel list"},
		{[]string{"help"}, "", 0, "wharf [command]"},
	} {
		rc, out, errOut := execute(t, tc.args...)
		if rc != tc.rc || (tc.meant != "" && !strings.Contains(errOut, "Did you mean this?\n\t"+tc.meant)) || (tc.helpFor != "" && !strings.Contains(out, "Usage:\n  "+tc.helpFor)) {
			t.Errorf("wharf %s: %d\n%s\n%s", strings.Join(tc.args, " "), rc, out, errOut)
		}
	}
}
