package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
)

// apiRequest is one request a route of the REST API, conda or PyPI surface is tried with.
type apiRequest struct {
	path   string
	body   []byte
	header []string
}

// TestEveryRouteRefusesLimitedTokens walks the route table's REST API, conda and PyPI routes
// (the pages have TestWebEveryPageRendersForEveryRole) with the callers each must refuse,
// through every way of sending a token: a token of the server's administrator (who may do
// everything, so every refusal is the token's) limited by its scopes to what the route does
// not need, one limited to another channel, an expired one and a revoked one, and no
// credentials. Routes on the private channel acme answer 404 to those who may not know it
// (in the words of a channel that does not exist), 403 to a token whose owner may; routes
// on the public channel open, and those on no channel, 401 without credentials and 403
// with a token that does not allow them; an expired or revoked token is 401 everywhere. No
// refusal changes anything. A route missing from the table below fails the test.
func TestEveryRouteRefusesLimitedTokens(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := newEnv(t, backends[0], func(o *server.Options) { o.Now = clk.Now })
	e.users(bob)
	e.mustDo("POST", "/api/v1/orgs", admin, map[string]string{"name": "acme"}, 201)
	e.mustDo("PATCH", "/api/v1/channels/acme", admin, map[string]bool{"private": true}, 200)
	e.createChannel("open", false)
	e.createChannel("elsewhere", false)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", admin, map[string]string{"name": "devs"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/members/bob", admin, map[string]string{"role": "member"}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", admin, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", admin, map[string]string{"channel": "acme", "level": "read"}, 200)
	wheelURL := map[string]string{}
	for _, ch := range []string{"acme", "open"} {
		e.mustUpload(ch, spec("alpha", "1.0", "0", "noarch", condatest.Conda))
		if r := e.uploadDist(admin, ch, pypitest.Spec{Name: "beta"}); r.status != 201 {
			t.Fatalf("upload beta to %s: %d %s", ch, r.status, r.body)
		}
		wheelURL[ch] = e.fileURL(t, ch, "beta", admin)
	}
	e.newToken(admin, map[string]any{"name": "victim"}) // what the token routes name

	// The callers. Each token is its owner's, the administrator's.
	scoped := e.newToken(admin, map[string]any{"name": "scoped", "scopes": []string{"user.token:view"}})
	scopedNoView := e.newToken(admin, map[string]any{"name": "scoped-2", "scopes": []string{"conda:download"}}) // for the routes user.token:view allows
	elsewhere := e.newToken(admin, map[string]any{"name": "elsewhere", "resources": []map[string]string{{"channel": "elsewhere", "level": "manage"}}})
	expired := e.newToken(admin, map[string]any{"name": "expired", "expires": "1d"})
	revoked := e.newToken(admin, map[string]any{"name": "revoked"})
	e.mustDo("DELETE", "/api/v1/tokens/revoked", admin, nil, 204)

	jsonBody := func(v any) []byte { b, _ := json.Marshal(v); return b }
	asJSON := []string{"Content-Type", "application/json"}
	jsonReq := func(path string, v any) apiRequest { return apiRequest{path, jsonBody(v), asJSON} }
	upload := spec("gamma", "1.0", "0", "noarch", condatest.Conda)
	uploadBytes := condatest.Build(t, upload)
	whl := pypitest.Spec{Name: "delta"}
	twine, ctype := twineBody(pypitest.Build(t, whl), whl.Filename(), "delta", whl.Version)
	betaWheel := pypitest.Spec{Name: "beta"}.Filename()

	// requests gives, for each route and channel, what it is tried with.
	requests := func(ch string) map[string][]apiRequest {
		c := "/api/v1/channels/" + ch
		return map[string][]apiRequest{
			"GET /conda/":  {{path: "/conda/" + ch + "/noarch/repodata.json"}, {path: "/conda/" + ch + "/noarch/alpha-1.0-0.conda"}, {path: "/conda/" + ch + "/channeldata.json"}},
			"HEAD /conda/": {{path: "/conda/" + ch + "/noarch/repodata.json"}},
			"GET /pypi/":   {{path: "/pypi/" + ch + "/simple/"}, {path: "/pypi/" + ch + "/simple/beta/"}, {path: wheelURL[ch]}, {path: wheelURL[ch] + ".metadata"}},
			"HEAD /pypi/":  {{path: "/pypi/" + ch + "/simple/beta/"}},
			"POST /pypi/":  {{path: "/pypi/" + ch + "/", body: twine, header: []string{"Content-Type", ctype}}},

			"GET /api/v1/user":     {{path: "/api/v1/user"}},
			"GET /api/v1/channels": {{path: "/api/v1/channels"}},
			"POST /api/v1/channels": {jsonReq("/api/v1/channels", map[string]any{"name": "fresh"}),
				jsonReq("/api/v1/channels", map[string]any{"name": "fresh", "org": "acme"}), jsonReq("/api/v1/channels", map[string]any{"name": ch + "/fresh"})},
			"GET /api/v1/channels/{channel}":                                         {{path: c}},
			"GET /api/v1/channels/{channel}/files":                                   {{path: c + "/files"}},
			"PUT /api/v1/channels/{channel}/files/{filename}":                        {{path: c + "/files/" + upload.Filename(), body: uploadBytes}},
			"GET /api/v1/channels/{channel}/files/{subdir}/{filename}":               {{path: c + "/files/noarch/alpha-1.0-0.conda"}},
			"DELETE /api/v1/channels/{channel}/files/{subdir}/{filename}":            {{path: c + "/files/noarch/alpha-1.0-0.conda"}},
			"POST /api/v1/channels/{channel}/copy":                                   {jsonReq(c+"/copy", map[string]any{"files": []map[string]string{{"subdir": "noarch", "filename": "alpha-1.0-0.conda"}}, "to_labels": []string{"dev"}})},
			"GET /api/v1/channels/{channel}/labels":                                  {{path: c + "/labels"}},
			"GET /api/v1/channels/{channel}/history":                                 {{path: c + "/history"}},
			"PATCH /api/v1/channels/{channel}":                                       {jsonReq(c, map[string]bool{"private": ch == "open"})},
			"DELETE /api/v1/channels/{channel}":                                      {{path: c}},
			"PATCH /api/v1/channels/{channel}/packages/{package}":                    {jsonReq(c+"/packages/alpha", map[string]bool{"private": true})},
			"PATCH /api/v1/channels/{channel}/files/{subdir}/{filename}":             {jsonReq(c+"/files/pypi/"+betaWheel, map[string]bool{"yanked": true})},
			"PATCH /api/v1/channels/{channel}/packages/{package}/releases/{version}": {jsonReq(c+"/packages/beta/releases/1.0", map[string]bool{"yanked": true})},

			"POST /api/v1/signup":                                     {jsonReq("/api/v1/signup", map[string]string{"username": "carol", "email": "carol@example.com", "password": "a long enough passphrase"})},
			"POST /api/v1/account/verify":                             {jsonReq("/api/v1/account/verify", map[string]string{"token": "x"})},
			"POST /api/v1/account/verify/resend":                      {jsonReq("/api/v1/account/verify/resend", map[string]string{"email": "bob@example.com"})},
			"POST /api/v1/password-reset":                             {jsonReq("/api/v1/password-reset", map[string]string{"email": "bob@example.com"})},
			"POST /api/v1/password-reset/confirm":                     {jsonReq("/api/v1/password-reset/confirm", map[string]string{"token": "x", "password": "a long enough passphrase"})},
			"PUT /api/v1/user/password":                               {jsonReq("/api/v1/user/password", map[string]string{"old_password": adminPassword, "new_password": "another long passphrase"})},
			"GET /api/v1/users":                                       {{path: "/api/v1/users"}},
			"POST /api/v1/users":                                      {jsonReq("/api/v1/users", map[string]string{"name": "carol", "email": "carol@example.com", "password": "a long enough passphrase"})},
			"PATCH /api/v1/users/{user}":                              {jsonReq("/api/v1/users/bob", map[string]bool{"disabled": true})},
			"POST /api/v1/invites":                                    {jsonReq("/api/v1/invites", map[string]string{"email": "carol@example.com"})},
			"POST /api/v1/orgs":                                       {jsonReq("/api/v1/orgs", map[string]string{"name": "neworg"})},
			"GET /api/v1/orgs/{org}":                                  {{path: "/api/v1/orgs/acme"}},
			"GET /api/v1/orgs/{org}/history":                          {{path: "/api/v1/orgs/acme/history"}},
			"PUT /api/v1/orgs/{org}/members/{user}":                   {jsonReq("/api/v1/orgs/acme/members/bob", map[string]string{"role": "owner"})},
			"DELETE /api/v1/orgs/{org}/members/{user}":                {{path: "/api/v1/orgs/acme/members/bob"}},
			"GET /api/v1/orgs/{org}/groups":                           {{path: "/api/v1/orgs/acme/groups"}},
			"POST /api/v1/orgs/{org}/groups":                          {jsonReq("/api/v1/orgs/acme/groups", map[string]string{"name": "ops"})},
			"DELETE /api/v1/orgs/{org}/groups/{group}":                {{path: "/api/v1/orgs/acme/groups/devs"}},
			"PUT /api/v1/orgs/{org}/groups/{group}/members/{user}":    {{path: "/api/v1/orgs/acme/groups/devs/members/admin"}},
			"DELETE /api/v1/orgs/{org}/groups/{group}/members/{user}": {{path: "/api/v1/orgs/acme/groups/devs/members/bob"}},
			"PUT /api/v1/orgs/{org}/groups/{group}/grants":            {jsonReq("/api/v1/orgs/acme/groups/devs/grants", map[string]string{"channel": "acme", "level": "manage"})},
			"DELETE /api/v1/orgs/{org}/groups/{group}/grants":         {{path: "/api/v1/orgs/acme/groups/devs/grants?channel=acme"}},
			"GET /api/v1/scopes":                                      {{path: "/api/v1/scopes"}},
			"GET /api/v1/version":                                     {{path: "/api/v1/version"}},
			"POST /api/v1/tokens":                                     {jsonReq("/api/v1/tokens", map[string]any{"name": "more"})},
			"GET /api/v1/tokens":                                      {{path: "/api/v1/tokens"}},
			"GET /api/v1/tokens/current":                              {{path: "/api/v1/tokens/current"}},
			"PATCH /api/v1/tokens/{token}":                            {jsonReq("/api/v1/tokens/victim", map[string]any{"reissue": true})},
			"DELETE /api/v1/tokens/{token}":                           {{path: "/api/v1/tokens/victim"}},
			"GET /api/v1/openapi.json":                                {{path: "/api/v1/openapi.json"}},
		}
	}

	// state is what a refusal must not change.
	state := func() string {
		t.Helper()
		epoch, err := e.store.AccessEpoch(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var toks []struct{ Name string }
		e.mustDo("GET", "/api/v1/tokens", admin, nil, 200).json(t, &toks)
		return mustJSON(map[string]any{"epoch": epoch, "acme": e.channelState("acme"), "open": e.channelState("open"),
			"users": string(e.mustDo("GET", "/api/v1/users", admin, nil, 200).body), "org": string(e.mustDo("GET", "/api/v1/orgs/acme", admin, nil, 200).body),
			"channels": string(e.mustDo("GET", "/api/v1/channels", admin, nil, 200).body), "tokens": toks})
	}
	missing := func(tr int, tok string) string { // what a channel that does not exist gets
		return string(scrubID(transports[tr].send(e, "GET", "/api/v1/channels/no-such", tok, nil).body))
	}
	clk.add(49 * time.Hour) // expired is now expired; the others live a year
	before := state()
	unknown := 0

	for _, rt := range e.server.Routes() {
		if isPage(rt.Pattern) {
			continue
		}
		key := rt.Method + " " + rt.Pattern
		for _, ch := range []string{"acme", "open"} {
			reqs, ok := requests(ch)[key]
			if !ok {
				t.Errorf("route %s: no request in this test; add one", key)
				break
			}
			onChannel := strings.HasPrefix(rt.Pattern, "/conda/") || strings.HasPrefix(rt.Pattern, "/pypi/") || strings.Contains(rt.Pattern, "{channel}")
			anyone := rt.Action == "anyone" || rt.Action == "channel:list" ||
				ch == "open" && onChannel && (rt.Action == "channel:view" || rt.Action == "artifact:download")
			for _, req := range reqs {
				// A subchannel is made on its parent's channel.
				sub := strings.Contains(string(req.body), `"`+ch+`/`)
				if ch == "open" && !onChannel && !sub {
					continue // routes on no channel: tried once, with acme
				}
				private := ch == "acme" && (onChannel || sub)
				where := rt.Method + " " + req.path
				if req.body != nil && rt.Pattern == "/api/v1/channels" {
					where += " " + string(req.body)
				}
				check := func(who string, r resp, want int) {
					t.Helper()
					if r.status != want {
						t.Errorf("%s, %s: %d %.200s, want %d", where, who, r.status, r.body, want)
					}
					if want == 401 && r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s, %s: 401 without a challenge", where, who)
					}
				}
				for i, tr := range transports {
					check("expired token, "+tr.name, tr.send(e, rt.Method, req.path, expired, req.body, req.header...), 401)
					// An unknown token spends its address's budget (30 at once): each batch of
					// them comes from an address of its own.
					unknown++
					check("revoked token, "+tr.name, tr.send(e.from(2+unknown/20), rt.Method, req.path, revoked, req.body, req.header...), 401)
					if anyone {
						continue // a token only adds: what anyone may do, its holder may
					}
					tok := scoped
					if rt.Action == "token:view" {
						tok = scopedNoView
					}
					want := 403
					check("token limited by scope, "+tr.name, tr.send(e, rt.Method, req.path, tok, req.body, req.header...), want)
					r := tr.send(e, rt.Method, req.path, elsewhere, req.body, req.header...)
					switch {
					case private:
						check("token limited to another channel, "+tr.name, r, 404)
						if r.status == 404 && rt.Method != "HEAD" && strings.Contains(string(r.body), `"code"`) {
							if got, miss := strings.ReplaceAll(string(scrubID(r.body)), "acme", "no-such"), missing(i, elsewhere); got != miss {
								t.Errorf("%s, token limited to another channel, %s: %s; a missing channel gets %s", where, tr.name, got, miss)
							}
						}
					case rt.Action == "user:view" && rt.Method == "GET", rt.Action == "token:view":
						// A resource token may see its owner's account and tokens.
					default:
						check("token limited to another channel, "+tr.name, r, 403)
					}
				}
				if !anyone {
					want := 401
					if private {
						want = 404
					}
					check("no credentials", e.do(rt.Method, req.path, "", req.body, req.header...), want)
				}
			}
		}
	}
	if after := state(); after != before {
		t.Errorf("the refusals changed something:\nbefore %s\nafter  %s", before, after)
	}
	if r := e.do("GET", "/conda/acme/noarch/repodata.json", "", nil); r.status != 404 {
		t.Errorf("acme after the refusals: %d", r.status)
	}
}
