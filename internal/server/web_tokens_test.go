package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
)

var secretRE = regexp.MustCompile(`id="token-secret">([A-Za-z0-9-]+)<`)

// pageSecret reads the secret off a token's secret page, and notes it for the leak check.
func pageSecret(t *testing.T, r resp) string {
	t.Helper()
	m := secretRE.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the page: %d %s", r.status, r.text())
	}
	noteIssued(string(m[1]))
	return string(m[1])
}

type apiToken struct {
	ID        int64
	Name      string
	Owner     string
	Scopes    []string
	Resources []struct{ Channel, Level string }
	ExpiresAt time.Time `json:"expires_at"`
}

// tokensOf lists tokens through the API: auth's own, or with org those of the org.
func (e *env) tokensOf(auth, org string) []apiToken {
	e.t.Helper()
	path := "/api/v1/tokens"
	if org != "" {
		path += "?org=" + url.QueryEscape(org)
	}
	var out []apiToken
	e.mustDo("GET", path, auth, nil, 200).json(e.t, &out)
	return out
}

func (e *env) tokenNamed(auth, org, name string) apiToken {
	e.t.Helper()
	for _, tk := range e.tokensOf(auth, org) {
		if tk.Name == name {
			return tk
		}
	}
	e.t.Fatalf("no token %q among %s's", name, org)
	return apiToken{}
}

// tokenForm is the new-token form as the page sends it, with three channel rows.
func tokenForm(name string, scopes []string, resources ...string) url.Values {
	v := url.Values{"name": {name}, "description": {""}, "org": {""}, "expires": {"30d"}, "expires_on": {""}, "strength": {"strong"}, "scope": scopes}
	for i := range 3 {
		ch, lvl := "", "read"
		if i < len(resources) {
			ch, lvl, _ = strings.Cut(resources[i], ":")
		}
		v.Add("resource_channel", ch)
		v.Add("resource_level", lvl)
	}
	return v
}

const privRepo = "/conda/alice-private/noarch/repodata.json"

func TestWebTokensCreateUseRevoke(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.users(alice, eve)
			e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "alice-private", "private": true}, 201)
			if r := e.uploadAs(alice, "alice-private", spec("tool", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			e.mustDo("POST", "/api/v1/channels", eve, map[string]any{"name": "eve-hidden", "private": true}, 201)
			w := e.signedIn("alice", "alice-owns-acme-org")

			// The form: scopes grouped with their descriptions, channels the viewer may see.
			r := w.get("/tokens/new")
			if r.status != http.StatusOK {
				t.Fatalf("new token page: %d %s", r.status, r.text())
			}
			page := string(r.body)
			for _, want := range []string{`value="conda:download"`, "see and download conda packages", "<legend>anaconda.org</legend>",
				"<legend>artifact</legend>", "<legend>user.token</legend>", `<option value="alice-private">`, `name="resource_level"`, `name="expires_on"`} {
				if !strings.Contains(page, want) {
					t.Errorf("the new token page lacks %s", want)
				}
			}
			if strings.Contains(page, "eve-hidden") {
				t.Error("the new token page offers a private channel of another user")
			}

			// Create: the answer is the secret page itself, not kept by caches.
			r = w.post("/tokens", tokenForm("ci", []string{"conda:download"}, "alice-private:read"))
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.text())
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("secret page Cache-Control = %q", cc)
			}
			secret := pageSecret(t, r)
			page = r.text()
			for _, want := range []string{
				`conda config --set channel_alias "https://wharf.example.com/t/` + secret + `/conda"`,
				"conda install -c alice-private <package>",
				`conda install -c "https://wharf.example.com/t/` + secret + `/conda/alice-private" <package>`,
				`pip install --index-url "https://__token__:` + secret + `@wharf.example.com/pypi/alice-private/simple/" <package>`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the secret page lacks %q:\n%s", want, page)
				}
			}
			if !strings.Contains(string(r.body), `data-copy="token-secret"`) {
				t.Error("no copy button for the secret")
			}
			tk := e.tokenNamed(alice, "", "ci")
			if len(tk.Scopes) != 1 || tk.Scopes[0] != "conda:download" || len(tk.Resources) != 1 || tk.Resources[0] != (struct{ Channel, Level string }{"alice-private", "read"}) {
				t.Errorf("token as stored: %+v", tk)
			}
			if d := time.Until(tk.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
				t.Errorf("expires in %v, want 30 days", d)
			}

			// The list shows it, before and after use; the secret is never shown again.
			r = w.get("/tokens")
			if r.status != http.StatusOK {
				t.Fatalf("tokens page: %d", r.status)
			}
			text := r.text()
			for _, want := range []string{"ci", "conda:download", "alice-private (read)", "never"} {
				if !strings.Contains(text, want) {
					t.Errorf("the list lacks %q: %s", want, text)
				}
			}
			if !strings.Contains(string(r.body), `class="inline revoke" data-token="ci"`) {
				t.Error("no revoke form for the token ci")
			}
			if strings.Contains(string(r.body), secret) {
				t.Error("the list shows the secret")
			}

			// The token downloads from the private channel.
			if r := e.do("GET", "/t/"+secret+privRepo, "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "tool-1.0-0") {
				t.Fatalf("download with the token: %d %s", r.status, r.body)
			}
			if r := w.get("/tokens"); strings.Contains(r.text(), "never") {
				t.Errorf("last use not shown after a use: %s", r.text())
			}

			// A token never acts on the pages: a browser with only a token is a visitor.
			anon := e.browser()
			if r := anon.do("GET", "/tokens", nil, "Authorization", "token "+secret); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
				t.Errorf("GET /tokens with a token: %d %s", r.status, r.header.Get("Location"))
			}
			if r := anon.post("/tokens", tokenForm("sneaky", nil), "Authorization", "token "+secret); r.status != http.StatusUnauthorized {
				t.Errorf("POST /tokens with a token: %d", r.status)
			}
			if r := anon.get("/t/" + secret + "/tokens"); r.status != http.StatusNotFound {
				t.Errorf("the page under a token URL: %d", r.status)
			}
			if n := len(e.tokensOf(alice, "")); n != 1 {
				t.Errorf("alice has %d tokens, want 1", n)
			}

			// Eve sees none of it.
			ew := e.signedIn("eve", "eve-is-not-a-member")
			if r := ew.get("/tokens"); r.status != http.StatusOK || strings.Contains(r.text(), "alice-private") || strings.Contains(string(r.body), `data-token="ci"`) {
				t.Errorf("eve's token list: %d %s", r.status, r.text())
			}

			// Revoke through the page: the token stops working.
			r = w.post("/tokens/"+strconv.FormatInt(tk.ID, 10)+"/revoke", url.Values{})
			if r.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d %s", r.status, r.text())
			}
			if r := w.follow(r); !strings.Contains(r.text(), "The token ci is revoked") || strings.Contains(string(r.body), `data-token="ci"`) {
				t.Errorf("after revoking: %s", r.text())
			}
			if r := e.do("GET", "/t/"+secret+privRepo, "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("download with a revoked token: %d", r.status)
			}
			if n := len(e.tokensOf(alice, "")); n != 0 {
				t.Errorf("alice has %d tokens after revoking, want 0", n)
			}
		})
	}
}

func TestWebTokensRenameExtendReissue(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, func(o *server.Options) { o.MaxTokenLifetime = 100 * 24 * time.Hour })
			e.users(alice)
			w := e.signedIn("alice", "alice-owns-acme-org")

			// Only the lifetimes the server allows are offered.
			r := w.get("/tokens/new")
			if !strings.Contains(string(r.body), `<option value="90d" selected>`) || strings.Contains(string(r.body), `value="365d"`) {
				t.Errorf("lifetimes offered under a 100-day maximum: %s", r.body)
			}
			f := tokenForm("laptop", []string{"api:read"})
			f.Set("expires", "7d")
			r = w.post("/tokens", f)
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.text())
			}
			old := pageSecret(t, r)
			tk := e.tokenNamed(alice, "", "laptop")
			id := "/tokens/" + strconv.FormatInt(tk.ID, 10)

			// Rename.
			r = w.post(id+"/rename", url.Values{"name": {"desk"}})
			if r := w.follow(r); !strings.Contains(r.text(), "The token laptop is now named desk") {
				t.Errorf("after renaming: %s", r.text())
			}
			e.tokenNamed(alice, "", "desk")
			r = w.post(id+"/rename", url.Values{"name": {""}})
			if r := w.follow(r); !strings.Contains(r.text(), "1 to 100 characters") {
				t.Errorf("empty name: %s", r.text())
			}
			e.tokenNamed(alice, "", "desk")

			// Extend: the expiry moves, up to the server's maximum and no further.
			r = w.post(id+"/extend", url.Values{"expires": {"90d"}, "expires_on": {""}})
			if r := w.follow(r); !strings.Contains(r.text(), "now expires on") {
				t.Errorf("after extending: %s", r.text())
			}
			ext := e.tokenNamed(alice, "", "desk").ExpiresAt
			if d := time.Until(ext); d < 89*24*time.Hour || d > 91*24*time.Hour {
				t.Errorf("extended to %v from now, want 90 days", d)
			}
			for _, v := range []url.Values{
				{"expires": {"365d"}},
				{"expires": {"7d"}, "expires_on": {time.Now().AddDate(0, 0, 120).Format(time.DateOnly)}},
			} {
				r = w.post(id+"/extend", v)
				if r := w.follow(r); !strings.Contains(r.text(), "past the latest this server allows") {
					t.Errorf("extend %v: %s", v, r.text())
				}
			}
			on := time.Now().AddDate(0, 0, 50).UTC().Format(time.DateOnly)
			r = w.post(id+"/extend", url.Values{"expires": {"7d"}, "expires_on": {on}})
			if r := w.follow(r); !strings.Contains(r.text(), "now expires on "+on) {
				t.Errorf("extend to a date: %s", r.text())
			}

			// Reissue: a new secret on the page, the old one dead at once.
			if r := e.asToken("GET", "/api/v1/user", old, nil); r.status != http.StatusOK {
				t.Fatalf("old secret before reissue: %d", r.status)
			}
			r = w.post(id+"/reissue", url.Values{})
			if r.status != http.StatusOK {
				t.Fatalf("reissue: %d %s", r.status, r.text())
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("reissue page Cache-Control = %q", cc)
			}
			fresh := pageSecret(t, r)
			if fresh == old {
				t.Fatal("reissue kept the secret")
			}
			if r := e.asToken("GET", "/api/v1/user", old, nil); r.status != http.StatusUnauthorized {
				t.Errorf("old secret after reissue: %d", r.status)
			}
			if r := e.asToken("GET", "/api/v1/user", fresh, nil); r.status != http.StatusOK {
				t.Errorf("new secret: %d %s", r.status, r.body)
			}
			if got := e.tokenNamed(alice, "", "desk"); got.ID != tk.ID {
				t.Errorf("reissue changed the id: %d, was %d", got.ID, tk.ID)
			}
		})
	}
}

func TestWebTokensRefused(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.users(alice, bob, eve)
			e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
			e.mustDo("PUT", "/api/v1/orgs/acme/members/bob", alice, map[string]string{"role": "member"}, 200)
			e.mustDo("POST", "/api/v1/channels", eve, map[string]any{"name": "eve-hidden", "private": true}, 201)
			tok := e.newToken(alice, map[string]any{"name": "ci", "scopes": []string{"api:read"}})
			tk := e.tokenNamed(alice, "", "ci")
			id := "/tokens/" + strconv.FormatInt(tk.ID, 10)
			works := func(what string) {
				t.Helper()
				if r := e.asToken("GET", "/api/v1/user", tok, nil); r.status != http.StatusOK {
					t.Errorf("%s: alice's token: %d", what, r.status)
				}
				if got := e.tokenNamed(alice, "", "ci"); !got.ExpiresAt.Equal(tk.ExpiresAt) {
					t.Errorf("%s: the expiry moved", what)
				}
			}

			// A visitor is sent to sign in, and changes nothing.
			anon := e.browser()
			for _, p := range []string{"/tokens", "/tokens/new"} {
				if r := anon.get(p); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next="+url.QueryEscape(p) {
					t.Errorf("visitor GET %s: %d %s", p, r.status, r.header.Get("Location"))
				}
			}
			if r := anon.post("/tokens", tokenForm("anon", nil)); r.status != http.StatusUnauthorized {
				t.Errorf("visitor POST /tokens: %d", r.status)
			}
			for _, op := range []string{"revoke", "rename", "extend", "reissue"} {
				if r := anon.post(id+"/"+op, url.Values{"name": {"x"}, "expires": {"7d"}}); r.status != http.StatusUnauthorized || secretRE.Match(r.body) {
					t.Errorf("visitor %s: %d", op, r.status)
				}
			}
			works("visitor")

			// Another user finds no token of alice's by its id, nor acts on acme's.
			ew := e.signedIn("eve", "eve-is-not-a-member")
			for _, op := range []string{"revoke", "rename", "extend", "reissue"} {
				if r := ew.post(id+"/"+op, url.Values{"name": {"x"}, "expires": {"7d"}}); r.status != http.StatusNotFound || secretRE.Match(r.body) {
					t.Errorf("eve %s alice's token: %d %s", op, r.status, r.text())
				}
				if r := ew.post(id+"/"+op, url.Values{"org": {"acme"}, "name": {"x"}, "expires": {"7d"}}); r.status != http.StatusForbidden || secretRE.Match(r.body) {
					t.Errorf("eve %s with org=acme: %d %s", op, r.status, r.text())
				}
			}
			e.tokenNamed(alice, "", "ci")
			works("eve")

			// A member who does not own acme may not make its tokens, and is not offered to.
			bw := e.signedIn("bob", "bob-is-a-developer")
			if r := bw.get("/tokens/new"); strings.Contains(r.text(), "acme (organization)") {
				t.Error("bob is offered acme as a token owner")
			}
			f := tokenForm("deploy", nil)
			f.Set("org", "acme")
			if r := bw.post("/tokens", f); r.status != http.StatusForbidden || secretRE.Match(r.body) || !strings.Contains(r.text(), "only the owners of organization acme") {
				t.Errorf("bob makes an acme token: %d %s", r.status, r.text())
			}
			if n := len(e.tokensOf(alice, "acme")); n != 0 {
				t.Errorf("acme has %d tokens, want 0", n)
			}

			// Its owner may: the token is acme's, in her list, and bob cannot touch it.
			aw := e.signedIn("alice", "alice-owns-acme-org")
			if r := aw.get("/tokens/new"); !strings.Contains(r.text(), "acme (organization)") {
				t.Error("alice is not offered acme as a token owner")
			}
			r := aw.post("/tokens", f)
			if r.status != http.StatusCreated {
				t.Fatalf("alice makes an acme token: %d %s", r.status, r.text())
			}
			orgSecret := pageSecret(t, r)
			if !strings.Contains(r.text(), "conda install -c acme <package>") {
				t.Errorf("the org token's lines do not name acme's channel: %s", r.text())
			}
			deploy := e.tokenNamed(alice, "acme", "deploy")
			if r := e.asToken("GET", "/api/v1/channels", orgSecret, nil); r.status != http.StatusOK {
				t.Errorf("the org token: %d", r.status)
			}
			if r := aw.get("/tokens"); !strings.Contains(string(r.body), `data-token="deploy"`) || !strings.Contains(r.text(), "acme organization") {
				t.Errorf("alice's list lacks acme's token: %s", r.text())
			}
			if r := bw.get("/tokens"); strings.Contains(string(r.body), `data-token="deploy"`) {
				t.Error("bob's list shows acme's token")
			}
			did := "/tokens/" + strconv.FormatInt(deploy.ID, 10)
			if r := bw.post(did+"/revoke", url.Values{"org": {"acme"}}); r.status != http.StatusForbidden {
				t.Errorf("bob revokes acme's token: %d", r.status)
			}
			if r := bw.post(did+"/revoke", url.Values{}); r.status != http.StatusNotFound {
				t.Errorf("bob revokes acme's token by id: %d", r.status)
			}
			if r := aw.post(did+"/revoke", url.Values{}); r.status != http.StatusNotFound {
				t.Errorf("alice revokes acme's token without naming acme: %d", r.status)
			}
			if r := e.asToken("GET", "/api/v1/channels", orgSecret, nil); r.status != http.StatusOK {
				t.Errorf("the org token after refused revokes: %d", r.status)
			}
			if r := aw.post(did+"/revoke", url.Values{"org": {"acme"}}); r.status != http.StatusSeeOther {
				t.Errorf("alice revokes acme's token: %d %s", r.status, r.text())
			}
			if r := e.asToken("GET", "/api/v1/channels", orgSecret, nil); r.status != http.StatusUnauthorized {
				t.Errorf("the org token after its revocation: %d", r.status)
			}

			// Bad forms: the page again with why, and no token.
			for _, c := range []struct {
				form   url.Values
				status int
				want   string
			}{
				{tokenForm("x1", []string{"conda:download", "nope:nothing"}), 400, `unknown scope "nope:nothing"`},
				{tokenForm("x2", nil, "alice:admin"), 400, "level must be"},
				{tokenForm("x3", nil, "eve-hidden:read"), 404, "eve-hidden"},
				{tokenForm("ci", nil), 409, ""},
				{tokenForm("", nil), 400, "1 to 100 characters"},
				{func() url.Values {
					f := tokenForm("x4", nil)
					f.Set("expires_on", time.Now().AddDate(2, 0, 0).Format(time.DateOnly))
					return f
				}(), 400, "past the latest this server allows"},
				{func() url.Values {
					f := tokenForm("x5", nil)
					f.Set("strength", "medium")
					return f
				}(), 400, "strength must be"},
			} {
				r := aw.post("/tokens", c.form)
				if r.status != c.status || !strings.Contains(r.text(), c.want) || secretRE.Match(r.body) {
					t.Errorf("create %v: %d, want %d with %q: %s", c.form, r.status, c.status, c.want, r.text())
				}
				if !strings.Contains(string(r.body), `action="/tokens"`) {
					t.Errorf("create %v: the form is not shown again", c.form)
				}
			}
			if r := aw.post("/tokens", tokenForm("x1", []string{"conda:download", "nope:nothing"})); !strings.Contains(string(r.body), `value="conda:download" checked`) {
				t.Error("the form shown again lost the scopes checked")
			}
			if got := e.tokensOf(alice, ""); len(got) != 1 {
				t.Errorf("alice has %d tokens after refused forms, want 1: %+v", len(got), got)
			}
			works("bad forms")
		})
	}
}
