package server_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
)

// Findings of the access-model review: each probe shows a way a private thing was learned or
// kept, and must stay closed.

func TestParentGoingPrivateReachesSubchannelCaches(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "alice/dev"}, 201)
	if r := e.uploadAs(alice, "alice/dev", spec("tool", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
		t.Fatal(r.status)
	}
	p := "/conda/alice/dev/noarch/repodata.json"
	if r := e.do("GET", p, "", nil); !strings.HasPrefix(r.header.Get("Cache-Control"), "public") {
		t.Fatalf("public subchannel: %v", r.header)
	}
	e.mustDo("PATCH", "/api/v1/channels/alice", alice, map[string]bool{"private": true}, 200)
	e.mustDo("GET", p, "", nil, 404)
	r := e.mustDo("GET", p, alice, nil, 200)
	if cc := r.header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
		t.Errorf("subchannel of a now private channel: Cache-Control %q, want private", cc)
	}
}

func TestSignupWithTakenNameSaysNothingOfTheAddress(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupOpen))
	e.users(bob)
	a := e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "bob", "email": "bob@example.com", "password": "a fine long passphrase"}, 409)
	b := e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "bob", "email": "nobody@example.com", "password": "a fine long passphrase"}, 409)
	if !bytes.Equal(scrubID(a.body), scrubID(b.body)) {
		t.Errorf("answers differ:\n%s\n%s", a.body, b.body)
	}
}

func TestPackagePrivacyCannotBeProbed(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice, eve)
	for _, s := range []string{"tool", "secret"} {
		if r := e.uploadAs(alice, "alice", spec(s, "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	e.mustDo("PATCH", "/api/v1/channels/alice/packages/secret", alice, map[string]bool{"private": true}, 200)
	for _, who := range []string{"", eve} {
		priv := e.do("PATCH", "/api/v1/channels/alice/packages/secret", who, []byte(`{"private":false}`), "Content-Type", "application/json")
		missing := e.do("PATCH", "/api/v1/channels/alice/packages/nosuchpkg", who, []byte(`{"private":false}`), "Content-Type", "application/json")
		if priv.status != 404 || missing.status != 404 || !bytes.Equal(scrubID(priv.body), bytes.ReplaceAll(scrubID(missing.body), []byte("nosuchpkg"), []byte("secret"))) {
			t.Errorf("as %q: private %d %s, missing %d %s; want the same 404", who, priv.status, priv.body, missing.status, missing.body)
		}
	}
	// A public package is public knowledge: refused, not hidden.
	e.mustDo("PATCH", "/api/v1/channels/alice/packages/tool", eve, map[string]bool{"private": true}, 403)
	// The channel's revision moves with private uploads (so it is not the Last-Modified of a
	// filtered view either: TestFilteredViewsAreDated).
	var ch struct {
		Revision int64 `json:"revision"`
	}
	e.mustDo("GET", "/api/v1/channels/alice", "", nil, 200).json(t, &ch)
	if ch.Revision != 0 {
		t.Errorf("anonymous sees the channel's revision %d", ch.Revision)
	}
}

func TestInvitationIsUsedWhateverTheAddress(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupInvite))
	e.users(bob)
	e.mustDo("POST", "/api/v1/invites", admin, map[string]string{"email": "carol@example.com"}, 202)
	ms := e.mails()
	tok := strings.Fields(ms[len(ms)-1].Text[strings.Index(ms[len(ms)-1].Text, "--invite ")+9:])[0]
	// Probing with an address that has an account uses the invitation up like any other.
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "probe", "email": "bob@example.com", "password": "a fine long passphrase", "invite": tok}, 202)
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "probe2", "email": "nobody@example.com", "password": "a fine long passphrase", "invite": tok}, 403)
}

func TestOrgListingsHidePrivateNamesFromMembers(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice, bob)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-merger", "org": "acme", "private": true}, 201)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "insiders"}, 201)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "everyone"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/insiders/grants", alice, map[string]string{"channel": "acme-merger", "level": "read"}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/everyone/grants", alice, map[string]string{"channel": "acme", "package": "secret-codename", "level": "read"}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/everyone/grants", alice, map[string]string{"channel": "acme", "level": "read"}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/everyone/members/bob", alice, nil, 204)
	for _, p := range []string{"/api/v1/orgs/acme", "/api/v1/orgs/acme/groups"} {
		r := e.mustDo("GET", p, bob, nil, 200)
		if bytes.Contains(r.body, []byte("acme-merger")) {
			t.Errorf("member's %s names a private channel: %s", p, r.body)
		}
		if r := e.mustDo("GET", p, alice, nil, 200); !bytes.Contains(r.body, []byte("acme-merger")) {
			t.Errorf("owner's %s lacks the grant: %s", p, r.body)
		}
	}
	// Another org's owner cannot probe private channel names through grants.
	e.users(eve)
	e.mustDo("POST", "/api/v1/orgs", eve, map[string]string{"name": "evil"}, 201)
	e.mustDo("POST", "/api/v1/orgs/evil/groups", eve, map[string]string{"name": "g"}, 201)
	priv := e.do("PUT", "/api/v1/orgs/evil/groups/g/grants", eve, []byte(`{"channel":"acme-merger","level":"read"}`), "Content-Type", "application/json")
	missing := e.do("PUT", "/api/v1/orgs/evil/groups/g/grants", eve, []byte(`{"channel":"nosuch","level":"read"}`), "Content-Type", "application/json")
	if priv.status != 404 || missing.status != 404 {
		t.Errorf("grant on another's private channel %d, on a missing one %d; want 404 for both", priv.status, missing.status)
	}
	e.mustDo("PUT", "/api/v1/orgs/evil/groups/g/grants", eve, map[string]string{"channel": "acme", "level": "read"}, 400)
}

func TestCopyKeepsPrivacyOverHTTP(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "alice-public"}, 201)
	if r := e.uploadAs(alice, "alice", spec("secret", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
		t.Fatal(r.status)
	}
	e.mustDo("PATCH", "/api/v1/channels/alice/packages/secret", alice, map[string]bool{"private": true}, 200)
	e.mustDo("POST", "/api/v1/channels/alice/copy", alice, map[string]any{"from_label": "main", "to_channel": "alice-public", "to_labels": []string{"main"}}, 200)
	e.mustDo("GET", "/conda/alice-public/noarch/secret-1.0-0.conda", "", nil, 404)
	if got := e.filenamesAs("", "/conda/alice-public/noarch/repodata.json"); got != "" {
		t.Errorf("anonymous sees the copy: %q", got)
	}
}
