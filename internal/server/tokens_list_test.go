package server_test

import (
	"bytes"
	"html"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/cli"
	"github.com/wharfhq/wharf/internal/server"
)

// wharf auth --list and the web's /tokens page list the same tokens in the same words: what
// each may do (api.TokenInfo.Allowance), and which have expired.
func TestTokenListIsTheSameInTheCLIAndTheWeb(t *testing.T) {
	// The tokens are made two days ago, so that "old" (a day) has expired by now, for the
	// server and for the command, which judges by its own clock.
	var clock atomic.Int64
	clock.Store(time.Now().Add(-50 * time.Hour).UnixNano())
	e := newEnv(t, backends[0], func(o *server.Options) { o.Now = func() time.Time { return time.Unix(0, clock.Load()) } })
	e.users(alice)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "alice-private", "private": true}, 201)
	for _, tk := range []map[string]any{
		{"name": "everything"},
		{"name": "ci", "scopes": []string{"conda:download", "pypi:download"}, "resources": []map[string]string{{"channel": "alice-private", "level": "read"}}},
		{"name": "repos-only", "scopes": []string{"repos"}},
		{"name": "old", "scopes": []string{"api:read"}, "expires": "1d"},
	} {
		e.mustDo("POST", "/api/v1/tokens", alice, tk, 201)
	}
	clock.Store(time.Now().UnixNano())
	var infos []api.TokenInfo
	e.mustDo("GET", "/api/v1/tokens", alice, nil, 200).json(t, &infos)
	if len(infos) != 4 {
		t.Fatalf("%d tokens", len(infos))
	}

	// The command's list.
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(t.TempDir(), "cfg"))
	for k, v := range map[string]string{"WHARF_SERVER": e.srv.URL, "WHARF_USERNAME": "alice", "WHARF_PASSWORD": "alice-owns-acme-org", "WHARF_TOKEN": "", "WHARF_SITE": ""} {
		t.Setenv(k, v)
	}
	root := cli.Root()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	if rc := cli.Execute(t.Context(), root, []string{"auth", "--list"}); rc != 0 {
		t.Fatalf("wharf auth --list: %s", errOut.String())
	}
	cliRows := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			cliRows[f[1]] = line
		}
	}

	// The web's list.
	page := string(e.signedIn("alice", "alice-owns-acme-org").get("/tokens").body)
	webRows := map[string]string{}
	for _, row := range strings.Split(page, "<tr>")[1:] {
		if _, rest, ok := strings.Cut(row, "<strong>"); ok {
			name, _, _ := strings.Cut(rest, "</strong>")
			webRows[html.UnescapeString(name)] = row
		}
	}

	now := time.Unix(0, clock.Load())
	for _, ti := range infos {
		may := ti.Allowance()
		if c := cliRows[ti.Name]; !strings.Contains(c, may) {
			t.Errorf("wharf auth --list, token %s: %q lacks %q", ti.Name, c, may)
		}
		w := webRows[ti.Name]
		if !strings.Contains(w, "<td>"+html.EscapeString(may)+"</td>") {
			t.Errorf("/tokens, token %s: lacks %q:\n%s", ti.Name, may, w)
		}
		expired := ti.Name == "old"
		if ti.IsExpired(now) != expired || strings.Contains(cliRows[ti.Name], "(expired)") != expired || strings.Contains(w, ">expired<") != expired {
			t.Errorf("token %s: expired %v; the command says %q, the page %v", ti.Name, expired, cliRows[ti.Name], strings.Contains(w, ">expired<"))
		}
	}
}
