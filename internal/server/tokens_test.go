package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
)

// newToken creates a token as auth and returns its secret.
func (e *env) newToken(auth string, req map[string]any) string {
	e.t.Helper()
	var out struct {
		Token string
		Info  struct{ ID int64 }
	}
	e.mustDo("POST", "/api/v1/tokens", auth, req, 201).json(e.t, &out)
	noteIssued(out.Token)
	return out.Token
}

// asToken sends a request with a token in the Authorization header.
func (e *env) asToken(method, path, tok string, body []byte, header ...string) resp {
	e.t.Helper()
	return e.do(method, path, "", body, append([]string{"Authorization", "token " + tok}, header...)...)
}

// clock is a settable clock for the server's token checks.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var condaPattern = regexp.MustCompile(`/t/([a-zA-Z0-9-]*)`)

// tokenEnv is an org with a private channel holding a conda package, alice its owner and bob
// a member with read through a group.
func tokenEnv(t *testing.T, opts ...func(*server.Options)) *env {
	e := newEnv(t, backends[0], opts...)
	e.users(alice, bob)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-private", "org": "acme", "private": true}, 201)
	if r := e.uploadAs(alice, "acme-private", spec("tool", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
		t.Fatal(r.status)
	}
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-private", "level": "read"}, 200)
	return e
}

const privRepodata = "/conda/acme-private/noarch/repodata.json"

func TestTokenInEveryPlace(t *testing.T) {
	e := tokenEnv(t)
	tok := e.newToken(bob, map[string]any{"name": "ci", "scopes": []string{"conda:download", "api:read"}})
	if m := condaPattern.FindStringSubmatch("/t/" + tok + "/conda/x"); m == nil || m[1] != tok {
		t.Fatalf("conda's pattern cuts the token: %v", m)
	}
	if !strings.HasPrefix(tok, "wrfs-") || len(tok) != 54 {
		t.Errorf("token %q: want wrfs- and 54 characters", tok[:5])
	}
	withBasic := func(user, pass string) []string {
		return []string{"Authorization", "Basic " + encodeBase64(user+":"+pass)}
	}
	for name, r := range map[string]resp{
		"/t/ at the start":    e.do("GET", "/t/"+tok+privRepodata, "", nil),
		"/t/ after /conda":    e.do("GET", "/conda/t/"+tok+strings.TrimPrefix(privRepodata, "/conda"), "", nil),
		"Authorization token": e.asToken("GET", privRepodata, tok, nil),
		"Bearer":              e.do("GET", privRepodata, "", nil, "Authorization", "Bearer "+tok),
		"Basic __token__":     e.do("GET", privRepodata, "", nil, withBasic("__token__", tok)...),
		"Basic any user":      e.do("GET", privRepodata, "", nil, withBasic("whoever", tok)...),
		"Basic x-auth-token":  e.do("GET", privRepodata, "", nil, withBasic(tok, "x-auth-token")...),
	} {
		if r.status != 200 || !strings.Contains(string(r.body), "tool-1.0-0.conda") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// The same token on the API.
	if r := e.asToken("GET", "/api/v1/channels/acme-private/files", tok, nil); r.status != 200 || !strings.Contains(string(r.body), "tool") {
		t.Errorf("API with the token: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/t/"+tok+"/api/v1/channels/acme-private/files", "", nil); r.status != 200 {
		t.Errorf("API with /t/: %d %s", r.status, r.body)
	}
	// The same token twice is fine; two different ones are not.
	if r := e.do("GET", "/t/"+tok+privRepodata, "", nil, "Authorization", "token "+tok); r.status != 200 {
		t.Errorf("same token twice: %d", r.status)
	}
	other := e.newToken(bob, map[string]any{"name": "other"})
	if r := e.do("GET", "/t/"+other+privRepodata, "", nil, "Authorization", "token "+tok); r.status != 400 {
		t.Errorf("two different tokens: %d, want 400", r.status)
	}
	// Without it: the private channel is not there.
	e.mustDo("GET", privRepodata, "", nil, 404)
}

func TestMalformedTokensCostNoLookup(t *testing.T) {
	e := tokenEnv(t)
	tok := e.newToken(bob, map[string]any{"name": "ci"})
	before := e.store.tokenLookups.Load()
	bad := []string{
		tok[:len(tok)-1] + map[bool]string{true: "A", false: "B"}[tok[len(tok)-1] != 'A'], // checksum
		"wrfx" + tok[4:], // kind
		tok[:20],         // length
		"ghp_" + tok[4:], // prefix
		tok[:10] + "_" + tok[11:],
	}
	for _, b := range bad {
		r := e.asToken("GET", privRepodata, b, nil)
		if r.status != 401 || !strings.Contains(string(r.body), "malformed") || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("malformed token: %d %s", r.status, r.body)
		}
	}
	if n := e.store.tokenLookups.Load() - before; n != 0 {
		t.Errorf("%d store look-ups for malformed tokens, want 0", n)
	}
	// A well-formed unknown token is looked up and refused.
	made := e.newToken(bob, map[string]any{"name": "gone"})
	e.mustDo("DELETE", "/api/v1/tokens/gone", bob, nil, 204)
	if r := e.asToken("GET", privRepodata, made, nil); r.status != 401 {
		t.Errorf("unknown token: %d", r.status)
	}
}

func TestTokenLifecycle(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := tokenEnv(t, func(o *server.Options) { o.Now = clk.Now; o.MaxTokenLifetime = 90 * 24 * time.Hour })
	// Expiry: default a year, cut to the server's maximum; beyond it refused.
	e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "long", "expires": "400d"}, 400)
	e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "ci", "scopes": []string{"nope"}}, 400)
	e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "ci", "strength": "medium"}, 400)
	tok := e.newToken(bob, map[string]any{"name": "ci", "description": "for the build", "scopes": []string{"conda:download"}, "expires": "30d"})
	e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "ci"}, 409)
	weak := e.newToken(bob, map[string]any{"name": "weak", "strength": "weak"})
	if len(weak) != 33 {
		t.Errorf("weak token has %d characters, want 33", len(weak))
	}
	var list []map[string]any
	e.mustDo("GET", "/api/v1/tokens", bob, nil, 200).json(t, &list)
	if len(list) != 2 || strings.Contains(mustJSON(list), tok) || strings.Contains(mustJSON(list), weak) {
		t.Errorf("list = %v; want two tokens and no secret", list)
	}
	e.asToken("GET", privRepodata, tok, nil)
	var info struct {
		ID         int64
		Name       string
		Scopes     []string
		LastUsedAt *time.Time `json:"last_used_at"`
		ExpiresAt  time.Time  `json:"expires_at"`
	}
	r := e.asToken("GET", "/api/v1/tokens/current", tok, nil)
	r.json(t, &info)
	if r.status != 200 || info.Name != "ci" || info.LastUsedAt == nil || info.ExpiresAt.Sub(clk.Now()) > 31*24*time.Hour {
		t.Errorf("current = %d %+v", r.status, info)
	}
	e.mustDo("GET", "/api/v1/tokens/current", bob, nil, 400)

	// Expired: refused the moment it passes.
	clk.add(31 * 24 * time.Hour)
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 401 || !strings.Contains(string(r.body), "expired") {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
	// Extend brings it back; beyond the maximum is refused.
	e.mustDo("PATCH", "/api/v1/tokens/ci", bob, map[string]any{"expires": "100d"}, 400)
	e.mustDo("PATCH", "/api/v1/tokens/ci", bob, map[string]any{"expires": "10d", "name": "build"}, 200)
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 200 {
		t.Errorf("extended token: %d", r.status)
	}
	// Reissue: same id, new secret, the old one dead at once.
	var re struct {
		Token string
		Info  struct{ ID int64 }
	}
	e.mustDo("PATCH", "/api/v1/tokens/build", bob, map[string]any{"reissue": true}, 200).json(t, &re)
	noteIssued(re.Token)
	if re.Info.ID != info.ID || re.Token == "" || re.Token == tok {
		t.Errorf("reissue = %+v", re)
	}
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 401 {
		t.Errorf("old secret after reissue: %d, want 401", r.status)
	}
	if r := e.asToken("GET", privRepodata, re.Token, nil); r.status != 200 {
		t.Errorf("new secret after reissue: %d", r.status)
	}
	// Revoke by id: refused on the next request.
	e.mustDo("DELETE", "/api/v1/tokens/"+jsonNumber(info.ID), bob, nil, 204)
	if r := e.asToken("GET", privRepodata, re.Token, nil); r.status != 401 {
		t.Errorf("revoked token: %d, want 401", r.status)
	}
	e.mustDo("DELETE", "/api/v1/tokens/build", bob, nil, 404)
	// Another user's tokens are not reachable.
	e.mustDo("DELETE", "/api/v1/tokens/weak", alice, nil, 404)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonNumber(n int64) string { return mustJSON(n) }

// Effective permission is the token's limits ∩ what its owner may do at the moment of use.
func TestTokenFollowsItsOwner(t *testing.T) {
	e := tokenEnv(t)
	tok := e.newToken(bob, map[string]any{"name": "ci", "scopes": []string{"all"}})
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 200 {
		t.Fatalf("token of a member: %d", r.status)
	}
	// An 'all' token of a reader cannot write.
	if r := e.asToken("PUT", "/api/v1/channels/acme-private/files/"+spec("x", "1.0", "0", "noarch", condatest.Conda).Filename(), tok,
		condatest.Build(t, spec("x", "1.0", "0", "noarch", condatest.Conda))); r.status != 403 {
		t.Errorf("reader's all-token upload: %d, want 403", r.status)
	}
	e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 404 {
		t.Errorf("after the owner left the group: %d, want 404", r.status)
	}
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 200 {
		t.Errorf("after the owner came back: %d", r.status)
	}
	e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": true}, 200)
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 401 {
		t.Errorf("owner disabled: %d, want 401", r.status)
	}
	// No token may change a password.
	e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": false}, 200)
	if r := e.asToken("PUT", "/api/v1/user/password", tok, []byte(`{"old_password":"bob-is-a-developer","new_password":"a new passphrase 77"}`), "Content-Type", "application/json"); r.status != 403 {
		t.Errorf("password change with a token: %d, want 403", r.status)
	}
}

// Each scope lets through what it names and refuses one thing it does not, over HTTP.
func TestScopesOverHTTP(t *testing.T) {
	e := tokenEnv(t)
	pkg := func(n string) condatest.Spec { return spec(n, "1.0", "0", "noarch", condatest.Conda) }
	upload := func(tok, name string) int {
		s := pkg(name)
		return e.asToken("PUT", "/api/v1/channels/acme-private/files/"+s.Filename(), tok, condatest.Build(t, s)).status
	}
	download := func(tok string) int {
		return e.asToken("GET", "/conda/acme-private/noarch/tool-1.0-0.conda", tok, nil).status
	}
	apiFiles := func(tok string) int { return e.asToken("GET", "/api/v1/channels/acme-private/files", tok, nil).status }
	history := func(tok string) int {
		return e.asToken("GET", "/api/v1/channels/acme-private/history", tok, nil).status
	}
	remove := func(tok, name string) int {
		return e.asToken("DELETE", "/api/v1/channels/acme-private/files/noarch/"+pkg(name).Filename(), tok, nil).status
	}
	mk := func(scopes ...string) string {
		return e.newToken(alice, map[string]any{"name": "s-" + strings.Join(scopes, "+"), "scopes": scopes})
	}
	type check struct {
		what string
		got  int
		want int
	}
	for scope, checks := range map[string]func(tok string) []check{
		"all": func(k string) []check {
			return []check{{"upload", upload(k, "a1"), 201}, {"delete", remove(k, "a1"), 204}}
		},
		"conda:download": func(k string) []check {
			return []check{{"download", download(k), 200}, {"upload", upload(k, "c1"), 403}}
		},
		"conda": func(k string) []check {
			return []check{{"upload", upload(k, "c2"), 201}, {"delete", remove(k, "c2"), 403}}
		},
		"repos":         func(k string) []check { return []check{{"download", download(k), 200}, {"history", history(k), 403}} },
		"pypi:download": func(k string) []check { return []check{{"conda download", download(k), 403}} },
		"api": func(k string) []check {
			return []check{{"api files", apiFiles(k), 200}, {"conda download", download(k), 403}}
		},
		"api:read": func(k string) []check {
			return []check{{"api files", apiFiles(k), 200}, {"upload", upload(k, "r1"), 403}}
		},
		"api:write": func(k string) []check { return []check{{"upload", upload(k, "w1"), 201}, {"history", history(k), 403}} },
		"artifact:download": func(k string) []check {
			return []check{{"download", download(k), 200}, {"upload", upload(k, "d1"), 403}}
		},
		"artifact:create": func(k string) []check {
			return []check{{"upload", upload(k, "ac"), 201}, {"download", download(k), 403}}
		},
		"artifact:delete": func(k string) []check {
			if r := e.uploadAs(alice, "acme-private", pkg("ad")); r.status != 201 { // its own file: map order is random
				t.Fatalf("upload for the delete check: %d", r.status)
			}
			return []check{{"delete", remove(k, "ad"), 204}, {"api files", apiFiles(k), 403}}
		},
		"channel:history": func(k string) []check { return []check{{"history", history(k), 200}, {"upload", upload(k, "h1"), 403}} },
		"channel:view": func(k string) []check {
			return []check{{"api files", apiFiles(k), 200}, {"download", download(k), 403}}
		},
		"subchannel:view": func(k string) []check { return []check{{"api files of a channel", apiFiles(k), 403}} },
		"user.token:view": func(k string) []check {
			return []check{{"list tokens", e.asToken("GET", "/api/v1/tokens", k, nil).status, 200}}
		},
		"api:modify-group": func(k string) []check {
			return []check{{"org", e.asToken("GET", "/api/v1/orgs/acme", k, nil).status, 200}}
		},
	} {
		for _, c := range checks(mk(scope)) {
			if c.got != c.want {
				t.Errorf("scope %s / %s: %d, want %d", scope, c.what, c.got, c.want)
			}
		}
	}
	// Every scope the server lists is accepted in a token.
	var scopes []struct{ Scope, Description string }
	e.mustDo("GET", "/api/v1/scopes", "", nil, 200).json(t, &scopes)
	if len(scopes) < 40 {
		t.Fatalf("only %d scopes listed", len(scopes))
	}
	for i, sc := range scopes {
		if sc.Description == "" {
			t.Errorf("scope %s lacks a description", sc.Scope)
		}
		e.newToken(alice, map[string]any{"name": "every-" + jsonNumber(int64(i)), "scopes": []string{sc.Scope}})
	}
}

// Resource tokens: each level allows its actions on its channel, and nothing elsewhere.
func TestResourceTokensOverHTTP(t *testing.T) {
	e := tokenEnv(t)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-other", "org": "acme", "private": true}, 201)
	tokens := map[string]string{}
	for _, lvl := range []string{"read", "write", "manage"} {
		tokens[lvl] = e.newToken(alice, map[string]any{"name": "r-" + lvl, "resources": []map[string]string{{"channel": "acme-private", "level": lvl}}})
		if !strings.HasPrefix(tokens[lvl], "wrfr-") {
			t.Errorf("resource token prefix: %s", tokens[lvl][:5])
		}
	}
	for lvl, tok := range tokens {
		name := "res-" + lvl
		s := spec(name, "1.0", "0", "noarch", condatest.Conda)
		up := e.asToken("PUT", "/api/v1/channels/acme-private/files/"+s.Filename(), tok, condatest.Build(t, s)).status
		if want := map[string]int{"read": 403, "write": 201, "manage": 201}[lvl]; up != want {
			t.Errorf("%s token upload: %d, want %d", lvl, up, want)
		}
		if st := e.asToken("GET", privRepodata, tok, nil).status; st != 200 {
			t.Errorf("%s token read: %d", lvl, st)
		}
		hist := e.asToken("GET", "/api/v1/channels/acme-private/history", tok, nil).status
		if want := map[string]int{"read": 403, "write": 403, "manage": 200}[lvl]; hist != want {
			t.Errorf("%s token history: %d, want %d", lvl, hist, want)
		}
		if st := e.asToken("GET", "/conda/acme-other/noarch/repodata.json", tok, nil).status; st != 404 {
			t.Errorf("%s token on another channel: %d, want 404", lvl, st)
		}
		if st := e.asToken("POST", "/api/v1/orgs/acme/groups", tok, []byte(`{"name":"x"}`), "Content-Type", "application/json").status; st != 403 {
			t.Errorf("%s token managing the org: %d, want 403", lvl, st)
		}
	}
	// Resources on a channel one cannot see: as if it did not exist.
	e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "x", "resources": []map[string]string{{"channel": "acme-other", "level": "read"}}}, 404)
}

// A token with user.token:edit makes tokens no broader and no longer-lived than itself.
func TestTokensMakingTokens(t *testing.T) {
	e := tokenEnv(t)
	parent := e.newToken(alice, map[string]any{"name": "parent", "scopes": []string{"user.token:edit", "conda:download"}, "expires": "10d"})
	post := func(body map[string]any) resp {
		b, _ := json.Marshal(body)
		return e.asToken("POST", "/api/v1/tokens", parent, b, "Content-Type", "application/json")
	}
	if r := post(map[string]any{"name": "child", "scopes": []string{"conda:download"}}); r.status != 201 {
		t.Errorf("narrower child: %d %s", r.status, r.body)
	} else {
		var out struct{ Token string }
		r.json(t, &out)
		noteIssued(out.Token)
	}
	if r := post(map[string]any{"name": "broad", "scopes": []string{"all"}}); r.status != 403 {
		t.Errorf("broader child: %d, want 403", r.status)
	}
	if r := post(map[string]any{"name": "long", "scopes": []string{"conda:download"}, "expires": "30d"}); r.status != 400 {
		t.Errorf("longer-lived child: %d, want 400", r.status)
	}
	other := e.newToken(alice, map[string]any{"name": "other", "scopes": []string{"all"}})
	_ = other
	if r := e.asToken("PATCH", "/api/v1/tokens/other", parent, []byte(`{"reissue":true}`), "Content-Type", "application/json"); r.status != 403 {
		t.Errorf("reissue of a broader token by a narrower one: %d, want 403", r.status)
	}
	// A login token ("repos api", as wharf login makes) may make narrower ones by what they allow.
	login := e.newToken(alice, map[string]any{"name": "login", "scopes": []string{"repos", "api"}})
	for _, sc := range []string{"conda:download", "pypi:upload"} {
		if r := e.asToken("POST", "/api/v1/tokens", login, []byte(`{"name":"from-login-`+sc+`","scopes":["`+sc+`"]}`), "Content-Type", "application/json"); r.status != 201 {
			t.Errorf("login token making a %s token: %d %s", sc, r.status, r.body)
		} else {
			var out struct{ Token string }
			json.Unmarshal(r.body, &out)
			noteIssued(out.Token)
		}
	}
	if r := e.asToken("POST", "/api/v1/tokens", login, []byte(`{"name":"from-login-all","scopes":["all"]}`), "Content-Type", "application/json"); r.status != 403 {
		t.Errorf("login token making an all token: %d, want 403", r.status)
	}
	noEdit := e.newToken(alice, map[string]any{"name": "noedit", "scopes": []string{"conda:download"}})
	if r := e.asToken("POST", "/api/v1/tokens", noEdit, []byte(`{"name":"x"}`), "Content-Type", "application/json"); r.status != 403 {
		t.Errorf("token without user.token:edit making a token: %d, want 403", r.status)
	}
}

func TestOrgTokens(t *testing.T) {
	e := tokenEnv(t)
	e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "org", "org": "acme"}, 403)
	tok := e.newToken(alice, map[string]any{"name": "deploy", "org": "acme", "scopes": []string{"conda"}})
	s := spec("orgpkg", "1.0", "0", "noarch", condatest.Conda)
	if r := e.asToken("PUT", "/api/v1/channels/acme-private/files/"+s.Filename(), tok, condatest.Build(t, s)); r.status != 201 {
		t.Errorf("org token upload to the org's channel: %d %s", r.status, r.body)
	}
	if r := e.asToken("GET", "/conda/bob/noarch/repodata.json", tok, nil); r.status != 200 {
		t.Errorf("org token reading a public channel: %d", r.status)
	}
	var list []map[string]any
	e.mustDo("GET", "/api/v1/tokens?org=acme", alice, nil, 200).json(t, &list)
	if len(list) != 1 || list[0]["owner"] != "acme" || list[0]["org"] != true {
		t.Errorf("org tokens = %v", list)
	}
	e.mustDo("GET", "/api/v1/tokens?org=acme", bob, nil, 403)
	e.mustDo("DELETE", "/api/v1/tokens/deploy?org=acme", alice, nil, 204)
	if r := e.asToken("GET", privRepodata, tok, nil); r.status != 401 {
		t.Errorf("revoked org token: %d", r.status)
	}
}

func TestTokenURLsAreNotLogged(t *testing.T) {
	e := tokenEnv(t)
	tok := e.newToken(bob, map[string]any{"name": "ci"})
	e.do("GET", "/t/"+tok+privRepodata, "", nil)
	e.do("GET", "/t/"+tok+"/conda/acme-private/noarch/nope.conda", "", nil)
	e.do("GET", "/t/"+tok+"/api/v1/nope", "", nil)
	if !strings.Contains(suiteLogs.String(), `"token_id":`) {
		t.Error("requests with a token do not log its id")
	}
	u, _ := url.Parse(e.srv.URL + "/t/" + tok + privRepodata)
	res, err := e.srv.Client().Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Referrer-Policy") != "no-referrer" || res.StatusCode != http.StatusOK {
		t.Errorf("/t/ answer: %d, Referrer-Policy %q", res.StatusCode, res.Header.Get("Referrer-Policy"))
	}
	// TestMain checks that no issued secret is anywhere in the logs.
}

// Last use is kept in memory and written in batches (at the latest when the server closes),
// never once per request.
func TestLastUseIsWrittenInBatches(t *testing.T) {
	e := tokenEnv(t)
	tok := e.newToken(bob, map[string]any{"name": "ci"})
	for range 5 {
		e.asToken("GET", privRepodata, tok, nil)
	}
	u, _ := e.store.UserByName(t.Context(), "bob")
	if st, _ := e.store.TokenOf(t.Context(), u.ID, 0, "ci"); !st.LastUsedAt.IsZero() {
		t.Errorf("last use written per request (%v)", st.LastUsedAt)
	}
	e.server.Close()
	if st, _ := e.store.TokenOf(t.Context(), u.ID, 0, "ci"); st.LastUsedAt.IsZero() {
		t.Error("last use not written when the server closed")
	}
}

// A stale token in one client's configuration must not lock out the valid tokens of others
// behind the same address.
func TestStaleTokenDoesNotBlockValidOnes(t *testing.T) {
	e := tokenEnv(t)
	stale := e.newToken(bob, map[string]any{"name": "stale"})
	good := e.newToken(bob, map[string]any{"name": "good"})
	e.mustDo("DELETE", "/api/v1/tokens/stale", bob, nil, 204)
	last := 0
	for range 40 {
		last = e.asToken("GET", privRepodata, stale, nil).status
	}
	if last != 429 {
		t.Errorf("40 requests with a revoked token: last %d, want 429 (slow down)", last)
	}
	if r := e.asToken("GET", privRepodata, good, nil); r.status != 200 {
		t.Errorf("a valid token from the same address: %d, want 200", r.status)
	}
}

// Findings of the token review, each kept closed.
func TestTokenReviewFindings(t *testing.T) {
	e := tokenEnv(t)
	good := e.newToken(bob, map[string]any{"name": "good", "scopes": []string{"conda:download"}})

	t.Run("no user name reaches the unknown-token budget", func(t *testing.T) {
		for range 120 {
			e.do("GET", "/api/v1/channels", "", nil, "Authorization", "Basic "+encodeBase64("\x00token:x"))
		}
		if r := e.asToken("GET", privRepodata, good, nil); r.status != 200 {
			t.Errorf("valid token after sign-in failures as \\x00token: %d", r.status)
		}
	})
	t.Run("subchannel:create makes no top-level channel", func(t *testing.T) {
		tok := e.newToken(alice, map[string]any{"name": "subonly", "scopes": []string{"subchannel:create"}})
		if r := e.asToken("POST", "/api/v1/channels", tok, []byte(`{"name":"alice-top"}`), "Content-Type", "application/json"); r.status != 403 {
			t.Errorf("top-level channel with subchannel:create: %d, want 403", r.status)
		}
		if r := e.asToken("POST", "/api/v1/channels", tok, []byte(`{"name":"alice/sub"}`), "Content-Type", "application/json"); r.status != 201 {
			t.Errorf("subchannel with subchannel:create: %d %s", r.status, r.body)
		}
	})
	t.Run("no reissue that outlives the asking token", func(t *testing.T) {
		parent := e.newToken(alice, map[string]any{"name": "short", "scopes": []string{"user.token:edit", "conda:download"}, "expires": "1d"})
		e.newToken(alice, map[string]any{"name": "yearlong", "scopes": []string{"conda:download"}})
		if r := e.asToken("PATCH", "/api/v1/tokens/yearlong", parent, []byte(`{"reissue":true}`), "Content-Type", "application/json"); r.status != 403 {
			t.Errorf("reissue of a longer-lived token: %d, want 403", r.status)
		}
		if r := e.asToken("PATCH", "/api/v1/tokens/yearlong", parent, []byte(`{"reissue":true,"expires":"12h"}`), "Content-Type", "application/json"); r.status != 200 {
			t.Errorf("reissue shortened to within the asking token's life: %d %s", r.status, r.body)
		} else {
			var out struct{ Token string }
			json.Unmarshal(r.body, &out)
			noteIssued(out.Token)
		}
	})
	t.Run("org tokens die with their maker's ownership", func(t *testing.T) {
		e.users("carol:carol-owns-too-now")
		e.mustDo("PUT", "/api/v1/orgs/acme/members/carol", alice, map[string]string{"role": "owner"}, 200)
		tok := e.newToken("carol:carol-owns-too-now", map[string]any{"name": "deploy", "org": "acme"})
		if r := e.asToken("GET", privRepodata, tok, nil); r.status != 200 {
			t.Fatalf("org token: %d", r.status)
		}
		e.mustDo("PUT", "/api/v1/orgs/acme/members/carol", alice, map[string]string{"role": "member"}, 200)
		if r := e.asToken("GET", privRepodata, tok, nil); r.status != 401 {
			t.Errorf("org token after its maker stepped down: %d, want 401", r.status)
		}
		e.mustDo("PUT", "/api/v1/orgs/acme/members/carol", alice, map[string]string{"role": "owner"}, 200)
		e.mustDo("PATCH", "/api/v1/users/carol", admin, map[string]bool{"disabled": true}, 200)
		if r := e.asToken("GET", privRepodata, tok, nil); r.status != 401 {
			t.Errorf("org token after its maker was disabled: %d, want 401", r.status)
		}
	})
	t.Run("no secret in error bodies", func(t *testing.T) {
		for _, p := range []string{"/conda/" + good + "/noarch/repodata.json", "/conda/T/" + good + "/noarch/repodata.json",
			"/t/" + good + "/conda/t/" + good + "/noarch/repodata.json", "/api/v1/channels/" + good} {
			if r := e.do("GET", p, "", nil); strings.Contains(string(r.body), good) || strings.Contains(string(r.body), good[5:20]) {
				t.Errorf("GET %s answers with the secret: %s", p[:12], r.body)
			}
		}
	})
	t.Run("token URLs are never for shared caches", func(t *testing.T) {
		r := e.do("GET", "/t/"+good+"/conda/bob/noarch/repodata.json", "", nil)
		if cc := r.header.Get("Cache-Control"); r.status != 200 || !strings.HasPrefix(cc, "private") {
			t.Errorf("public channel under /t/: %d, Cache-Control %q", r.status, cc)
		}
	})
	t.Run("no pages under a token URL", func(t *testing.T) {
		e.mustDo("GET", "/t/"+good+"/account/reset", "", nil, 404)
	})
	t.Run("precise refusals", func(t *testing.T) {
		e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "huge", "expires": "213504d"}, 400)
		e.mustDo("PATCH", "/api/v1/tokens/good", bob, map[string]any{"expires": "2000-01-01"}, 400)
		other := e.newToken(bob, map[string]any{"name": "other2"})
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+privRepodata, nil)
		req.Header.Add("Authorization", "token "+good)
		req.Header.Add("Authorization", "token "+other)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("two Authorization headers: %d, want 400", res.StatusCode)
		}
		if r := e.do("GET", privRepodata, "", nil, "Authorization", "Basic "+encodeBase64(good+":"+other)); r.status != 400 {
			t.Errorf("Basic with two tokens: %d, want 400", r.status)
		}
	})
}

// Two replicas on one store: a revocation through one is seen by the other without waiting
// for what it remembers to age out (its memory is made to last an hour here).
func TestRevocationReachesOtherReplicas(t *testing.T) {
	e := tokenEnv(t, func(o *server.Options) { o.IdentityTTL = time.Hour })
	tok := e.newToken(bob, map[string]any{"name": "ci"})
	replica, err := server.New(e.store, e.blobs, server.Options{TempDir: t.TempDir(), IdentityTTL: time.Hour,
		Logger: slog.New(slog.NewJSONHandler(suiteLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	get := func() int {
		r := httptest.NewRequest("GET", privRepodata, nil)
		r.Header.Set("Authorization", "token "+tok)
		w := httptest.NewRecorder()
		replica.Handler().ServeHTTP(w, r)
		return w.Code
	}
	if c := get(); c != 200 {
		t.Fatalf("the replica before the revocation: %d", c)
	}
	e.mustDo("DELETE", "/api/v1/tokens/ci", bob, nil, 204)
	deadline := time.Now().Add(10 * time.Second)
	for get() != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the replica still takes the revoked token after 10 s (it polls the shared epoch every second)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Every token and yank route refuses whoever may not use it.
func TestTokenAndYankRoutesRefuse(t *testing.T) {
	e := tokenEnv(t)
	e.users(eve)
	e.newToken(bob, map[string]any{"name": "ci"})
	if r := e.uploadDist(alice, "acme-private", pypitest.Spec{Name: "yankee"}); r.status != 201 {
		t.Fatal(r.status)
	}
	whl := pypitest.Spec{Name: "yankee"}.Filename()
	for _, c := range []struct {
		method, path, auth string
		body               any
		want               int
	}{
		{"POST", "/api/v1/tokens", "", map[string]any{"name": "x"}, 401},
		{"GET", "/api/v1/tokens", "", nil, 401},
		{"PATCH", "/api/v1/tokens/ci", "", map[string]any{"reissue": true}, 401},
		{"DELETE", "/api/v1/tokens/ci", "", nil, 401},
		{"PATCH", "/api/v1/tokens/ci", eve, map[string]any{"reissue": true}, 404}, // eve's tokens: none of that name
		{"DELETE", "/api/v1/tokens/ci", eve, nil, 404},
		{"GET", "/api/v1/tokens?org=acme", eve, nil, 403},
		{"PATCH", "/api/v1/channels/acme-private/files/pypi/" + whl, "", map[string]any{"yanked": true}, 404},
		{"PATCH", "/api/v1/channels/acme-private/files/pypi/" + whl, eve, map[string]any{"yanked": true}, 404},
		{"PATCH", "/api/v1/channels/acme-private/files/pypi/" + whl, bob, map[string]any{"yanked": true}, 403}, // a reader
		{"PATCH", "/api/v1/channels/acme-private/packages/yankee/releases/1.0", bob, map[string]any{"yanked": true}, 403},
	} {
		e.mustDo(c.method, c.path, c.auth, c.body, c.want)
	}
	// bob's token was not touched.
	var list []map[string]any
	e.mustDo("GET", "/api/v1/tokens", bob, nil, 200).json(t, &list)
	if len(list) != 1 {
		t.Errorf("bob's tokens after refused requests: %v", list)
	}
}

// TestUploadsKeepTheIdentityCache: uploads, the frequent writes, change no one's rights, so a
// download client's token stays remembered across them (each upload used to cost every active
// client its next look-ups); a change of rights still drops it.
func TestUploadsKeepTheIdentityCache(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", true)
	tok := e.newToken(admin, map[string]any{"name": "reader", "scopes": []string{"conda:download"}})
	get := func() {
		t.Helper()
		if r := e.asToken("GET", "/conda/acme/noarch/repodata.json", tok, nil); r.status != 200 {
			t.Fatalf("download: %d %s", r.status, r.body)
		}
	}
	get() // remembered from here on
	before := e.store.tokenLookups.Load()
	for i := range 3 {
		e.mustUpload("acme", spec("up", "1."+string(rune('0'+i)), "0", "noarch", condatest.Conda))
		get()
	}
	if n := e.store.tokenLookups.Load() - before; n != 0 {
		t.Errorf("the token was looked up %d times across 3 uploads; want 0", n)
	}
	e.mustDo("POST", "/api/v1/orgs", admin, map[string]any{"name": "acme2"}, 201)
	get()
	if n := e.store.tokenLookups.Load() - before; n != 1 {
		t.Errorf("after creating an org the token was looked up %d times; want 1 (a change of rights forgets it)", n)
	}
}

// A token whose scopes allow an action on a package of a private channel may take it without
// channel:view as well, as on a file of it: channel:edit makes a package private,
// artifact:edit yanks a release (the routes on a package used to answer 404, as if the
// channel did not exist, to tokens without channel:view).
func TestScopedTokensActOnPackagesOfPrivateChannels(t *testing.T) {
	e := tokenEnv(t)
	if r := e.uploadDist(alice, "acme-private", pypitest.Spec{Name: "yankee"}); r.status != 201 {
		t.Fatal(r.status)
	}
	edit := e.newToken(alice, map[string]any{"name": "edit", "scopes": []string{"channel:edit"}})
	yank := e.newToken(alice, map[string]any{"name": "yank", "scopes": []string{"artifact:edit"}})
	if r := e.asToken("PATCH", "/api/v1/channels/acme-private/packages/tool", edit, []byte(`{"private":true}`), "Content-Type", "application/json"); r.status != 200 {
		t.Errorf("channel:edit token, package privacy: %d %s", r.status, r.body)
	}
	if r := e.asToken("PATCH", "/api/v1/channels/acme-private/packages/yankee/releases/1.0", yank, []byte(`{"yanked":true}`), "Content-Type", "application/json"); r.status != 200 {
		t.Errorf("artifact:edit token, yank a release: %d %s", r.status, r.body)
	}
	// Each still refused what its scope does not allow, and a stranger's token finds nothing.
	if r := e.asToken("PATCH", "/api/v1/channels/acme-private/packages/yankee/releases/1.0", edit, []byte(`{"yanked":false}`), "Content-Type", "application/json"); r.status != 403 {
		t.Errorf("channel:edit token, yank a release: %d %s", r.status, r.body)
	}
	e.users(eve)
	stranger := e.newToken(eve, map[string]any{"name": "edit", "scopes": []string{"channel:edit"}})
	if r := e.asToken("PATCH", "/api/v1/channels/acme-private/packages/tool", stranger, []byte(`{"private":false}`), "Content-Type", "application/json"); r.status != 404 {
		t.Errorf("a stranger's channel:edit token: %d %s", r.status, r.body)
	}
}
