package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
)

const (
	alice = "alice:alice-owns-acme-org"
	bob   = "bob:bob-is-a-developer"
	eve   = "eve:eve-is-not-a-member"
)

func (e *env) users(creds ...string) {
	e.t.Helper()
	for _, c := range creds {
		name, pw, _ := strings.Cut(c, ":")
		e.user(name, pw)
	}
}

func (e *env) mustDo(method, path, auth string, body any, want int) resp {
	e.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	r := e.do(method, path, auth, b, "Content-Type", "application/json")
	if r.status != want {
		e.t.Fatalf("%s %s as %q: %d %s, want %d", method, path, strings.SplitN(auth, ":", 2)[0], r.status, r.body, want)
	}
	return r
}

func (e *env) uploadAs(auth, channel string, s condatest.Spec) resp {
	e.t.Helper()
	return e.do("PUT", "/api/v1/channels/"+url.PathEscape(channel)+"/files/"+s.Filename(), auth, condatest.Build(e.t, s))
}

func (e *env) filenamesAs(auth, path string) string {
	e.t.Helper()
	r := e.do("GET", path, auth, nil)
	if r.status != 200 {
		e.t.Fatalf("GET %s as %q: %d %s", path, auth, r.status, r.body)
	}
	var rd repodata
	r.json(e.t, &rd)
	return strings.Join(rd.filenames(), " ")
}

// The access model end to end: an org, a group with a grant, a public channel with a private
// package and a private channel; anonymous, member and non-member readers over the conda
// routes with Basic credentials as conda sends them (user:password in the URL).
func TestAccessModelEndToEnd(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testAccessModel(t, b) })
	}
}

func testAccessModel(t *testing.T, b backend) {
	e := newEnv(t, b)
	e.users(alice, bob, eve)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-internal", "org": "acme", "private": true}, 201)
	tool := spec("tool", "1.0", "0", "noarch", condatest.Conda)
	secret := spec("secret", "1.0", "0", "noarch", condatest.Conda)
	for _, ch := range []string{"acme", "acme-internal"} {
		for _, s := range []condatest.Spec{tool, secret} {
			if r := e.uploadAs(alice, ch, s); r.status != 201 {
				t.Fatalf("org owner's upload to %s: %d %s", ch, r.status, r.body)
			}
		}
	}
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/secret", alice, map[string]bool{"private": true}, 200)
	// Nobody outside may change privacy.
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/secret", eve, map[string]bool{"private": false}, 404)
	e.mustDo("PATCH", "/api/v1/channels/acme", eve, map[string]bool{"private": false}, 403)

	pub, priv := "/conda/acme/noarch/repodata.json", "/conda/acme-internal/noarch/repodata.json"
	secretURL := "/conda/acme/noarch/" + secret.Filename()
	both := "secret-1.0-0.conda tool-1.0-0.conda"

	// Before bob is in a group he is a stranger.
	for _, who := range []string{"", eve, bob} {
		if got := e.filenamesAs(who, pub); got != "tool-1.0-0.conda" {
			t.Errorf("public channel as %q shows %q; want only the public package", who, got)
		}
		if r := e.do("GET", priv, who, nil); r.status != 404 {
			t.Errorf("private channel as %q: %d, want 404", who, r.status)
		}
		if r := e.do("GET", secretURL, who, nil); r.status != 404 {
			t.Errorf("private package download as %q: %d, want 404", who, r.status)
		}
	}
	if got := e.filenamesAs(alice, pub); got != both {
		t.Errorf("org owner sees %q, want both", got)
	}

	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme", "level": "read"}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-internal", "level": "read"}, 200)

	// conda puts the credentials in the channel URL; Go's client sends them as Basic.
	condaGet := func(user, pass, path string) (int, string, http.Header) {
		u, _ := url.Parse(e.srv.URL + path)
		u.User = url.UserPassword(user, pass)
		res, err := e.srv.Client().Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), res.Header
	}
	status, body, hdr := condaGet("bob", "bob-is-a-developer", pub)
	if status != 200 || !strings.Contains(body, "secret-1.0-0.conda") || !strings.Contains(body, "tool-1.0-0.conda") {
		t.Errorf("member's repodata via user:pass@host: %d %s", status, body)
	}
	if cc := hdr.Get("Cache-Control"); !strings.HasPrefix(cc, "private") || !strings.Contains(hdr.Get("Vary"), "Authorization") {
		t.Errorf("member's view: Cache-Control %q, Vary %q; want private and Vary: Authorization", cc, hdr.Get("Vary"))
	}
	if status, _, _ := condaGet("bob", "bob-is-a-developer", secretURL); status != 200 {
		t.Errorf("member's private download: %d", status)
	}
	if got := e.filenamesAs(bob, priv); got != both {
		t.Errorf("member's private channel shows %q", got)
	}
	if status, _, _ := condaGet("bob", "wrong-password", pub); status != 401 {
		t.Errorf("wrong password in the URL: %d, want 401", status)
	}
	// A member may read but not write.
	if r := e.uploadAs(bob, "acme", spec("other", "1.0", "0", "noarch", condatest.Conda)); r.status != 403 {
		t.Errorf("reader's upload: %d, want 403", r.status)
	}
	// Still nothing for eve, and anonymous still sees only the public package.
	if r := e.do("GET", secretURL, eve, nil); r.status != 404 {
		t.Errorf("non-member's private download: %d, want 404", r.status)
	}
	if got := e.filenamesAs("", pub); got != "tool-1.0-0.conda" {
		t.Errorf("anonymous now sees %q", got)
	}
	anon := e.do("GET", pub, "", nil)
	if cc := anon.header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") {
		t.Errorf("anonymous view of a public channel: Cache-Control %q, want public", cc)
	}
	for _, p := range []string{"/conda/acme/channeldata.json", "/api/v1/channels/acme/files", "/api/v1/channels/acme/labels"} {
		if r := e.do("GET", p, "", nil); strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), `"files": 2`) {
			t.Errorf("anonymous %s betrays the private package: %s", p, r.body)
		}
		if r := e.do("GET", p, bob, nil); !strings.Contains(string(r.body), "secret") && !strings.Contains(string(r.body), `"files": 2`) {
			t.Errorf("member's %s lacks the private package: %s", p, r.body)
		}
	}

	// Repodata is cached per distinct visible set, not per reader and not per request.
	e.users("carol:carol-is-a-developer")
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/carol", alice, nil, 204)
	_, before := e.server.IndexBuilds()
	for range 3 {
		for _, who := range []string{"", eve, bob, "carol:carol-is-a-developer"} {
			e.do("GET", "/conda/acme/noarch/repodata.json.zst", who, nil)
		}
	}
	if _, after := e.server.IndexBuilds(); after != before {
		t.Errorf("12 reads by 4 readers with 2 visible sets built %d new views; want 0 (both sets were cached)", after-before)
	}

	// Leaving the group takes effect on the next request.
	e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	if got := e.filenamesAs(bob, pub); got != "tool-1.0-0.conda" {
		t.Errorf("after leaving the group bob sees %q", got)
	}
	if r := e.do("GET", secretURL, bob, nil); r.status != 404 {
		t.Errorf("after leaving the group bob's private download: %d, want 404", r.status)
	}
	if r := e.do("GET", priv, bob, nil); r.status != 404 {
		t.Errorf("after leaving the group bob's private channel: %d, want 404", r.status)
	}

	// A grant on one package: that package and nothing else of the private channel.
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/grants?channel=acme-internal", alice, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-internal", "package": "secret", "level": "read"}, 200)
	if got := e.filenamesAs(bob, priv); got != "secret-1.0-0.conda" {
		t.Errorf("with a grant on one package bob sees %q of the private channel", got)
	}
	if r := e.do("GET", "/conda/acme-internal/noarch/"+tool.Filename(), bob, nil); r.status != 404 {
		t.Errorf("download of an ungranted package: %d, want 404", r.status)
	}

	// Grants only on the org's own channels.
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "eve", "level": "read"}, 400)
	// Group management is for owners.
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/eve", bob, nil, 403)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/eve", eve, nil, 403)
	e.mustDo("GET", "/api/v1/orgs/acme", eve, nil, 403)
	e.mustDo("GET", "/api/v1/orgs/acme", "", nil, 401)
	e.mustDo("GET", "/api/v1/orgs/acme", bob, nil, 200)

	// History: who changed grants, membership and privacy.
	var hist []struct{ Actor, Action string }
	e.mustDo("GET", "/api/v1/channels/acme/history", alice, nil, 200).json(t, &hist)
	var acts []string
	for _, h := range hist {
		acts = append(acts, h.Actor+" "+h.Action)
	}
	for _, want := range []string{"alice grant.set", "alice package.privacy"} {
		if !strings.Contains(strings.Join(acts, ","), want) {
			t.Errorf("channel history lacks %q: %v", want, acts)
		}
	}
	e.mustDo("GET", "/api/v1/channels/acme/history", bob, nil, 403)
	var orgHist []struct{ Actor, Action string }
	e.mustDo("GET", "/api/v1/orgs/acme/history", alice, nil, 200).json(t, &orgHist)
	if len(orgHist) < 5 || orgHist[0].Action != "group.member.add" {
		t.Errorf("org history = %+v", orgHist)
	}
}

// Disabling an account stops everything it holds at once, remembered credentials included.
func TestDisabledAccountStopsAtOnce(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(bob)
	e.mustDo("GET", "/api/v1/user", bob, nil, 200) // remembered now
	e.mustDo("PATCH", "/api/v1/users/bob", bob, map[string]bool{"disabled": true}, 403)
	e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": true}, 200)
	r := e.mustDo("GET", "/api/v1/user", bob, nil, 401)
	if !strings.Contains(string(r.body), "disabled") {
		t.Errorf("disabled account's answer: %s", r.body)
	}
	e.mustDo("GET", "/conda/bob/noarch/repodata.json", bob, nil, 401)
	e.mustDo("PATCH", "/api/v1/users/admin", admin, map[string]bool{"disabled": true}, 400)
	e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": false}, 200)
	e.mustDo("GET", "/api/v1/user", bob, nil, 200)
}

// Every org route refuses whoever may not use it: anonymous 401, a stranger 403, a member 403
// for what only owners may do.
func TestOrgRoutesRefuse(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice, bob, eve)
	e.mustDo("POST", "/api/v1/orgs", "", map[string]string{"name": "acme"}, 401)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme", "level": "read"}, 200)
	routes := []struct {
		method, path string
		body         any
		memberMay    bool
	}{
		{"GET", "/api/v1/orgs/acme", nil, true},
		{"GET", "/api/v1/orgs/acme/history", nil, true},
		{"GET", "/api/v1/orgs/acme/groups", nil, true},
		{"PUT", "/api/v1/orgs/acme/members/eve", map[string]string{"role": "owner"}, false},
		{"DELETE", "/api/v1/orgs/acme/members/alice", nil, false},
		{"POST", "/api/v1/orgs/acme/groups", map[string]string{"name": "x"}, false},
		{"DELETE", "/api/v1/orgs/acme/groups/devs", nil, false},
		{"PUT", "/api/v1/orgs/acme/groups/devs/members/eve", nil, false},
		{"DELETE", "/api/v1/orgs/acme/groups/devs/members/bob", nil, false},
		{"PUT", "/api/v1/orgs/acme/groups/devs/grants", map[string]string{"channel": "acme", "level": "manage"}, false},
		{"DELETE", "/api/v1/orgs/acme/groups/devs/grants?channel=acme", nil, false},
		{"POST", "/api/v1/channels", map[string]any{"name": "acme-x", "org": "acme"}, false},
	}
	for _, rt := range routes {
		e.mustDo(rt.method, rt.path, "", rt.body, 401)
		e.mustDo(rt.method, rt.path, eve, rt.body, 403)
		if !rt.memberMay {
			e.mustDo(rt.method, rt.path, bob, rt.body, 403)
		}
	}
	// Nothing changed.
	var org struct {
		Members []struct{ Name, Role string }
		Groups  []struct {
			Name    string
			Members []string
			Grants  []struct{ Channel, Level string }
		}
	}
	e.mustDo("GET", "/api/v1/orgs/acme", alice, nil, 200).json(t, &org)
	if len(org.Members) != 2 || len(org.Groups) != 1 || len(org.Groups[0].Members) != 1 || org.Groups[0].Grants[0].Level != "read" {
		t.Errorf("refused requests changed the org: %+v", org)
	}
}

func TestDeleteChannelAndPrivateUpload(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice, bob)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "alice-tmp"}, 201)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "alice-tmp/dev"}, 201)
	s := spec("hidden", "1.0", "0", "noarch", condatest.Conda)
	if r := e.do("PUT", "/api/v1/channels/alice-tmp/files/"+s.Filename()+"?private=true", alice, condatest.Build(t, s)); r.status != 201 || !strings.Contains(string(r.body), `"package_private": true`) {
		t.Fatalf("upload with private=true: %d %s", r.status, r.body)
	}
	e.mustDo("GET", "/conda/alice-tmp/noarch/"+s.Filename(), "", nil, 404)
	e.mustDo("DELETE", "/api/v1/channels/alice-tmp", "", nil, 401)
	e.mustDo("DELETE", "/api/v1/channels/alice-tmp", bob, nil, 403)
	e.mustDo("DELETE", "/api/v1/channels/alice", alice, nil, 400) // her own channel
	e.mustDo("DELETE", "/api/v1/channels/alice-tmp", alice, nil, 204)
	e.mustDo("GET", "/api/v1/channels/alice-tmp%2Fdev", alice, nil, 404)
	e.mustDo("GET", "/conda/alice-tmp/noarch/repodata.json", alice, nil, 404)
}
