package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCmd runs cmd with args against server as alice, and returns its standard output.
func runCmd(t *testing.T, cmd *cobra.Command, server string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("WHARF_TOKEN", "")
	t.Setenv("WHARF_USERNAME", "alice")
	t.Setenv("WHARF_PASSWORD", "pw")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(append(args, "--server", server))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestYankSendsWhatItWasAsked(t *testing.T) {
	release := `{"channel":"acme","project":"demo-lib","version":"1.0","yanked":true,"files":2}`
	file := `{"channel":"acme","package":"demo-lib","kind":"pypi","subdir":"pypi","filename":"demo_lib-1.0.tar.gz","version":"1.0","labels":["main"]}`
	fake := newFakeServer(t, map[string]string{
		"PATCH /api/v1/channels/acme/packages/demo-lib/releases/1.0":       release,
		"PATCH /api/v1/channels/acme/files/pypi/demo_lib-1.0.tar.gz":       file,
		"PATCH /api/v1/channels/acme%2Fdev/packages/demo-lib/releases/2.0": strings.Replace(release, "1.0", "2.0", 1),
	})
	cases := []struct {
		name string
		yank bool
		args []string
		want fakeRequest
		says string
	}{
		{"a release, with a reason", true, []string{"acme", "Demo_Lib", "1.0", "--reason", "broken build"},
			fakeRequest{"PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0", `{"yanked":true,"reason":"broken build"}`, ""},
			"yanked demo-lib 1.0 in acme (2 files): broken build"},
		{"a release of a subchannel", true, []string{"acme/dev", "demo-lib", "2.0"},
			fakeRequest{"PATCH", "/api/v1/channels/acme%2Fdev/packages/demo-lib/releases/2.0", `{"yanked":true}`, ""},
			"yanked demo-lib 2.0 in acme (2 files)\n"},
		{"one file", true, []string{"acme", "--file", "demo_lib-1.0.tar.gz", "--reason", "no"},
			fakeRequest{"PATCH", "/api/v1/channels/acme/files/pypi/demo_lib-1.0.tar.gz", `{"yanked":true,"reason":"no"}`, ""},
			"yanked demo_lib-1.0.tar.gz of demo-lib 1.0 in acme: no"},
		{"unyank a release", false, []string{"acme", "demo-lib", "1.0"},
			fakeRequest{"PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0", `{"yanked":false}`, ""},
			"unyanked demo-lib 1.0"},
		{"unyank a file named as file list shows it", false, []string{"acme", "--file", "pypi/demo_lib-1.0.tar.gz", "--json"},
			fakeRequest{"PATCH", "/api/v1/channels/acme/files/pypi/demo_lib-1.0.tar.gz", `{"yanked":false}`, ""},
			`"filename": "demo_lib-1.0.tar.gz"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake.requests = nil
			out, err := runCmd(t, yankCmd(c.yank), fake.URL, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if len(fake.requests) != 1 {
				t.Fatalf("sent %+v, want one request", fake.requests)
			}
			if got := fake.requests[0]; got.method != c.want.method || got.uri != c.want.uri || !sameJSON(got.body, c.want.body) {
				t.Errorf("sent %+v\nwant %+v", got, c.want)
			}
			if !strings.Contains(out, c.says) {
				t.Errorf("printed %q, want %q in it", out, c.says)
			}
		})
	}
}

func TestYankArgumentsAreCheckedBeforeAnyRequest(t *testing.T) {
	fake := newFakeServer(t, nil)
	for _, c := range []struct {
		yank bool
		args []string
		want string
	}{
		{true, []string{"acme"}, "name a release as CHANNEL PROJECT VERSION"},
		{true, []string{"acme", "demo-lib"}, "name a release as CHANNEL PROJECT VERSION"},
		{true, []string{"acme", "demo-lib", "1.0", "--file", "demo_lib-1.0.tar.gz"}, "with --file, give only the CHANNEL"},
		{true, []string{"acme", "demo-lib", " "}, "empty"},
		{false, []string{"acme", "demo-lib", "1.0", "--reason", "x"}, "unknown flag: --reason"},
		{true, []string{"acme", "--file", "noarch/demo-1.0-0.conda"}, "only Python distributions"},
		{true, []string{"acme", "--file", "demo-1.0-0.tar.bz2"}, "only Python distributions"},
	} {
		if _, err := runCmd(t, yankCmd(c.yank), fake.URL, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("yank=%v %q: %v; want an error with %q", c.yank, c.args, err, c.want)
		}
	}
	if len(fake.requests) != 0 {
		t.Errorf("bad command lines sent requests: %v", fake.requests)
	}
}
