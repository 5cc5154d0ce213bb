package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/server"
)

// postAs sends a JSON body with a token and returns the answer.
func (e *env) postAs(method, path, tok string, body any) resp {
	e.t.Helper()
	b, _ := json.Marshal(body)
	r := e.asToken(method, path, tok, b, "Content-Type", "application/json")
	if r.status < 300 {
		var out struct{ Token string }
		if json.Unmarshal(r.body, &out) == nil && out.Token != "" {
			noteIssued(out.Token)
		}
	}
	return r
}

// Issue 12, item 3: the token `wharf login` makes ("repos api") makes the tokens of the seed
// documents, a channel read token and an artifact:download token, and extends and reissues
// them; a token is compared with the one asking by what it allows, and a refusal says which
// part is broader and how to do it anyway.
func TestLoginTokenMakesNarrowerTokens(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := tokenEnv(t, func(o *server.Options) { o.Now = clk.Now })
	login := e.newToken(alice, map[string]any{"name": "wharf-host", "scopes": []string{"repos", "api"}, "expires": "90d"})
	for name, req := range map[string]map[string]any{
		"r":  {"resources": []map[string]string{{"channel": "acme-private", "level": "read"}}},
		"d":  {"scopes": []string{"artifact:download"}},
		"cd": {"scopes": []string{"conda:download"}, "resources": []map[string]string{{"channel": "acme-private", "level": "write"}}},
		"m":  {"resources": []map[string]string{{"channel": "acme-private", "level": "manage"}}},
	} {
		req["name"] = name
		r := e.postAs("POST", "/api/v1/tokens", login, req)
		if r.status != 201 {
			t.Errorf("login token making %s %v: %d %s", name, req, r.status, r.body)
			continue
		}
		var out struct {
			Token string
			Info  struct {
				ExpiresAt time.Time `json:"expires_at"`
			}
		}
		r.json(t, &out)
		if out.Info.ExpiresAt.After(clk.Now().Add(90 * 24 * time.Hour)) {
			t.Errorf("%s expires %v, after the login token", name, out.Info.ExpiresAt)
		}
		if name == "r" || name == "d" {
			if st := e.asToken("GET", privRepodata, out.Token, nil).status; st != 200 {
				t.Errorf("token %s made by the login token reads: %d", name, st)
			}
		}
		for _, edit := range []map[string]any{{"expires": "30d"}, {"reissue": true}, {"reissue": true, "expires": "10d"}} {
			if r := e.postAs("PATCH", "/api/v1/tokens/"+name, login, edit); r.status != 200 {
				t.Errorf("login token editing %s with %v: %d %s", name, edit, r.status, r.body)
			}
		}
	}

	// Refusals, each naming the broader part and the way out.
	for _, c := range []struct {
		req  map[string]any
		says []string
	}{
		{map[string]any{"name": "all", "scopes": []string{"all"}}, []string{"its scopes all allow everything", "repos api", "--username", "wharf login --scopes"}},
		// No scopes and no resources: all its owner may, said as the docs say it, with how
		// to limit it.
		{map[string]any{"name": "nolimit"}, []string{"it has no scope limits, so it allows everything", "(repos api) do not",
			"Give it scopes within those of the token asking", "--scopes 'repos api'", "--username"}},
	} {
		r := e.postAs("POST", "/api/v1/tokens", login, c.req)
		if r.status != 403 {
			t.Errorf("%v from the login token: %d, want 403", c.req, r.status)
		}
		for _, s := range c.says {
			if !strings.Contains(string(r.body), s) {
				t.Errorf("%v from the login token: %q missing from %s", c.req, s, r.body)
			}
		}
	}
	// A token limited to some actions (resource tokens make no tokens at all).
	maker := e.newToken(alice, map[string]any{"name": "conda-maker", "scopes": []string{"user.token:edit", "conda"}})
	for _, c := range []struct {
		req  map[string]any
		says []string
	}{
		{map[string]any{"name": "py", "scopes": []string{"pypi:download"}, "resources": []map[string]string{{"channel": "acme-private", "level": "read"}}},
			[]string{"its scopes pypi:download allow artifact:download (api, pypi packages)", "which the scopes of the token asking (user.token:edit conda) do not"}},
		{map[string]any{"name": "hist", "resources": []map[string]string{{"channel": "acme-private", "level": "manage"}}},
			[]string{"it has no scope limits, so it allows", "channel:manage (api)", "more"}},
	} {
		r := e.postAs("POST", "/api/v1/tokens", maker, c.req)
		if r.status != 403 {
			t.Errorf("%v from a conda token: %d %s, want 403", c.req["name"], r.status, r.body)
		}
		for _, s := range c.says {
			if !strings.Contains(string(r.body), s) {
				t.Errorf("%v from a conda token: %q missing from %s", c.req["name"], s, r.body)
			}
		}
	}
	if r := e.postAs("POST", "/api/v1/tokens", maker, map[string]any{"name": "within", "scopes": []string{"conda:download"},
		"resources": []map[string]string{{"channel": "acme-private", "level": "write"}}}); r.status != 201 {
		t.Errorf("a narrower token from a conda token: %d %s", r.status, r.body)
	}
	channelTok := e.newToken(alice, map[string]any{"name": "chan", "scopes": []string{"user.token:edit", "conda"},
		"resources": []map[string]string{{"channel": "acme-private", "level": "write"}}})
	// A token limited to channels makes no tokens, whatever its scopes, and is told so, with
	// what to use instead; so is one whose scopes do not reach tokens.
	for name, tok := range map[string]string{
		"a resource token": channelTok,
		"a conda token":    e.newToken(alice, map[string]any{"name": "conda-only", "scopes": []string{"conda"}}),
	} {
		r := e.postAs("POST", "/api/v1/tokens", tok, map[string]any{"name": "from-" + name, "scopes": []string{"conda:download"}})
		says := []string{"a token limited to channels (--resource) makes, changes and revokes no tokens", "--username", "wharf login"}
		if name == "a conda token" {
			says = []string{"this token's scopes (conda) do not allow making, changing or revoking tokens", "user.token:edit", "--username", "wharf login --scopes"}
		}
		if r.status != 403 {
			t.Errorf("%s making a token: %d, want 403", name, r.status)
		}
		for _, s := range says {
			if !strings.Contains(string(r.body), s) {
				t.Errorf("%s making a token: %q missing from %s", name, s, r.body)
			}
		}
	}
	// Extending or reissuing a broader token: refused, saying why.
	e.newToken(alice, map[string]any{"name": "wide", "scopes": []string{"all"}})
	if r := e.postAs("PATCH", "/api/v1/tokens/wide", login, map[string]any{"expires": "10d"}); r.status != 403 || !strings.Contains(string(r.body), "token wide is broader") {
		t.Errorf("login token extending an all token: %d %s", r.status, r.body)
	}
	// Expiry: never past the asking token's own.
	if r := e.postAs("POST", "/api/v1/tokens", login, map[string]any{"name": "long", "scopes": []string{"conda"}, "expires": "120d"}); r.status != 400 ||
		!strings.Contains(string(r.body), "outlives itself") {
		t.Errorf("a token outliving the login token: %d %s", r.status, r.body)
	}
	e.newToken(alice, map[string]any{"name": "yearlong", "scopes": []string{"conda:download"}})
	if r := e.postAs("PATCH", "/api/v1/tokens/yearlong", login, map[string]any{"reissue": true}); r.status != 403 || !strings.Contains(string(r.body), "earlier expiry") {
		t.Errorf("reissue of a longer-lived token: %d %s", r.status, r.body)
	}
	// With the password, anything the owner may.
	e.mustDo("POST", "/api/v1/tokens", alice, map[string]any{"name": "by-password", "scopes": []string{"all"}}, 201)
}

// An organization token with user.token:edit makes organization tokens that work: they act
// for the organization while the owner who made the first is one.
func TestOrgTokenMakesWorkingTokens(t *testing.T) {
	e := tokenEnv(t)
	org := e.newToken(alice, map[string]any{"name": "deploy", "org": "acme", "scopes": []string{"user.token:edit", "conda"}})
	r := e.postAs("POST", "/api/v1/tokens", org, map[string]any{"name": "ci", "scopes": []string{"conda:download"}})
	if r.status != 201 {
		t.Fatalf("org token making a token: %d %s", r.status, r.body)
	}
	var out struct {
		Token string
		Info  struct{ Owner string }
	}
	r.json(t, &out)
	if out.Info.Owner != "acme" {
		t.Errorf("the token made by an org token belongs to %q", out.Info.Owner)
	}
	if st := e.asToken("GET", privRepodata, out.Token, nil).status; st != 200 {
		t.Errorf("a token made by an org token: %d, want 200", st)
	}
	if r := e.postAs("POST", "/api/v1/tokens", org, map[string]any{"name": "wider", "scopes": []string{"conda", "pypi"}}); r.status != 403 {
		t.Errorf("org token making a broader token: %d", r.status)
	}
	// It dies with its maker's ownership, as the org token that made it does.
	e.users("carol:carol-owns-too-now")
	e.mustDo("PUT", "/api/v1/orgs/acme/members/carol", alice, map[string]string{"role": "owner"}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/members/alice", "carol:carol-owns-too-now", map[string]string{"role": "member"}, 200)
	if st := e.asToken("GET", privRepodata, out.Token, nil).status; st != 401 {
		t.Errorf("after its maker stepped down: %d, want 401", st)
	}
}

// Every action a conda or PyPI route asks of the policy is one the token comparison looks
// at on that surface (access.SurfaceActions), so that no action slips between them.
func TestSurfaceActionsCoverTheRoutes(t *testing.T) {
	e := newEnv(t, backends[0])
	for _, rt := range e.server.Routes() {
		for _, surface := range []string{"conda", "pypi"} {
			if strings.HasPrefix(rt.Pattern, "/"+surface+"/") && !containsAction(access.SurfaceActions(surface), rt.Action) {
				t.Errorf("%s %s asks %s, which the comparison of tokens does not look at on %s", rt.Method, rt.Pattern, rt.Action, surface)
			}
		}
	}
}

func containsAction(as []access.Action, a string) bool {
	for _, x := range as {
		if string(x) == a {
			return true
		}
	}
	return false
}
