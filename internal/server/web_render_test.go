package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
)

// pageParams fills the wildcards of page routes for TestWebEveryPageRendersForEveryRole. A
// page route with a wildcard missing here fails the test, so new pages cannot be left out.
var pageParams = map[string]string{
	"channel":  "acme",
	"package":  "alpha",
	"org":      "acme",
	"group":    "devs",
	"user":     "alice",
	"token":    "1",
	"id":       "1",
	"subdir":   "noarch",
	"filename": "alpha-1.0-0.conda",
}

var wildcardRE = regexp.MustCompile(`\{([^}.$]+)(\.\.\.)?\}`)

func fillPattern(t *testing.T, pattern string) string {
	t.Helper()
	p := strings.TrimSuffix(pattern, "{$}")
	return wildcardRE.ReplaceAllStringFunc(p, func(m string) string {
		name := wildcardRE.FindStringSubmatch(m)[1]
		v, ok := pageParams[name]
		if !ok {
			t.Fatalf("route %s: no value for {%s} in pageParams", pattern, name)
		}
		return url.PathEscape(v)
	})
}

func isPage(pattern string) bool {
	return !strings.HasPrefix(pattern, "/api/") && !strings.HasPrefix(pattern, "/conda/") && !strings.HasPrefix(pattern, "/pypi/")
}

// TestWebEveryPageRendersForEveryRole GETs every page of the route table as a visitor, a
// stranger, a member of the org, the org's owner and an administrator: no page fails, none
// shows a template's trace, each is a whole HTML page, and those who may see a page get it.
func TestWebEveryPageRendersForEveryRole(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, func(o *server.Options) { o.Signup = server.SignupOpen })
			for _, u := range []string{"alice", "bob", "carol"} {
				e.user(u, "sea-shell-lantern-"+u[:1])
			}
			alice := "alice:sea-shell-lantern-a"
			mustAPI := func(method, path, auth string, body any, want int) {
				t.Helper()
				b, _ := json.Marshal(body)
				if r := e.do(method, path, auth, b, "Content-Type", "application/json"); r.status != want {
					t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
				}
			}
			// acme: alice's org, with a private channel of its name, a private package in it,
			// and a group devs (bob) that may read it.
			mustAPI("POST", "/api/v1/orgs", alice, map[string]any{"name": "acme"}, http.StatusCreated)
			mustAPI("PATCH", "/api/v1/channels/acme", alice, map[string]any{"private": true}, http.StatusOK)
			mustAPI("POST", "/api/v1/orgs/acme/groups", alice, map[string]any{"name": "devs"}, http.StatusCreated)
			mustAPI("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, http.StatusNoContent)
			mustAPI("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]any{"channel": "acme", "level": "read"}, http.StatusOK)
			e.mustUpload("acme", condatest.Spec{Name: "alpha", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic", Depends: []string{"python >=3.9"}})
			mustAPI("PATCH", "/api/v1/channels/acme/packages/alpha", alice, map[string]any{"private": true}, http.StatusOK)
			mustAPI("POST", "/api/v1/tokens", alice, map[string]any{"name": "ci", "scopes": []string{"conda:download"}}, http.StatusCreated)

			roles := []struct {
				name, password string
				// every page answers 200, or (for those marked) a refusal
				allOK bool
			}{
				{"visitor", "", false},
				{"carol", "sea-shell-lantern-c", false},
				{"bob", "sea-shell-lantern-b", false},
				{"alice", "sea-shell-lantern-a", false},
				{"admin", adminPassword, true},
			}
			// Every form that needs a permission refuses a visitor (401) and a signed-in
			// stranger (403, or 404 where the thing is private), and changes nothing.
			epoch, _ := e.store.AccessEpoch(t.Context())
			carol := e.signedIn("carol", "sea-shell-lantern-c")
			for _, rt := range e.server.Routes() {
				if rt.Method != "POST" || !isPage(rt.Pattern) || rt.Action == "anyone" {
					continue
				}
				path := fillPattern(t, rt.Pattern)
				if r := e.browser().post(path, url.Values{"name": {"x"}, "user": {"carol"}, "role": {"owner"}, "private": {"false"}, "package": {"alpha"}}); r.status != http.StatusUnauthorized &&
					!(strings.HasPrefix(rt.Pattern, "/channels/{channel}") && r.status == http.StatusNotFound) { // acme is private: 404
					t.Errorf("visitor POST %s: %d, want 401", path, r.status)
				}
				own := rt.Pattern == "/channels" || rt.Pattern == "/orgs" || rt.Pattern == "/tokens" || strings.HasPrefix(rt.Pattern, "/settings/")
				if own {
					continue // carol's own things: tested with their pages
				}
				r := carol.post(path, url.Values{"name": {"x"}, "user": {"carol"}, "role": {"owner"}, "private": {"false"}, "package": {"alpha"}, "channel": {"acme"}, "level": {"manage"}})
				if r.status != http.StatusForbidden && r.status != http.StatusNotFound {
					t.Errorf("stranger POST %s (%s): %d, want 403 or 404: %s", path, rt.Action, r.status, r.text())
				}
			}
			if n, _ := e.store.AccessEpoch(t.Context()); n != epoch {
				t.Errorf("refused forms moved the access epoch from %d to %d", epoch, n)
			}
			if r := e.do("GET", "/api/v1/orgs/acme", alice, nil); !strings.Contains(string(r.body), `"devs"`) || strings.Contains(string(r.body), "carol") {
				t.Errorf("the org after the refused forms: %s", r.body)
			}

			for _, role := range roles {
				w := e.browser()
				if role.password != "" {
					w.login(role.name, role.password)
				}
				for _, rt := range e.server.Routes() {
					if rt.Method != "GET" || !isPage(rt.Pattern) {
						continue
					}
					path := fillPattern(t, rt.Pattern)
					if strings.HasPrefix(path, "/account/") {
						path += "?token=not-a-real-link"
					}
					r := w.get(path)
					where := role.name + " GET " + path
					switch {
					case r.status >= 500:
						t.Errorf("%s: %d %s", where, r.status, r.body)
						continue
					case r.status == http.StatusSeeOther:
						if role.password != "" && path != "/login" {
							t.Errorf("%s: sent to %s though signed in", where, r.header.Get("Location"))
						}
						continue
					}
					if strings.Contains(rt.Pattern, "/files/") && r.status != http.StatusNotFound {
						// A download, not a page: the private package's file, for who may read it.
						if role.name == "visitor" || role.name == "carol" || r.status != http.StatusOK || r.header.Get("Content-Type") != "application/octet-stream" {
							t.Errorf("%s: %d %v", where, r.status, r.header)
						}
						continue
					}
					body := string(r.body)
					if !strings.HasPrefix(body, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
						t.Errorf("%s: %d, not a whole page:\n%s", where, r.status, body)
					}
					for _, bad := range []string{"<no value>", "ZgotmplZ", "%!", "template:", "map[", "&lt;nil&gt;"} {
						if strings.Contains(body, bad) {
							t.Errorf("%s: the page shows %q:\n%s", where, bad, body)
						}
					}
					if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
						t.Errorf("%s: Content-Type %q", where, ct)
					}
					if role.allOK && r.status != http.StatusOK {
						t.Errorf("%s: %d for an administrator: %s", where, r.status, r.text())
					}
					// The private package and channel never show to those who may not see them.
					if (role.name == "visitor" || role.name == "carol") && r.status == http.StatusOK && strings.Contains(r.text(), "alpha") {
						t.Errorf("%s: the page names the private package alpha: %s", where, r.text())
					}
				}
			}
		})
	}
}
