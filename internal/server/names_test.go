package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// Every way of making a name refuses another spelling of a name that is there (case, '-',
// '_', '.', a separator at the end), over the API and in the pages, and says which name it
// is the same as.
func TestLookAlikeNamesRefused(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, signupMode(server.SignupOpen))
			e.users(alice)
			e.mustDo("POST", "/api/v1/orgs", admin, map[string]string{"name": "acme"}, 201)
			e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": "foo-bar"}, 201)
			e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": "acme/dev"}, 201)

			refused := func(r resp, named string) {
				t.Helper()
				if r.status != http.StatusConflict || !strings.Contains(string(r.body), "the same name as "+named) {
					t.Errorf("%d %s; want 409 naming %s", r.status, r.body, named)
				}
			}
			// The API.
			for _, n := range []string{"acme_", "acme.", "acme-"} {
				refused(e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": n}, 409), "the organization acme")
			}
			refused(e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": "foo.bar"}, 409), "the channel foo-bar")
			refused(e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": "foo_bar"}, 409), "the channel foo-bar")
			refused(e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": "acme/dev_"}, 409), "the subchannel acme/dev")
			refused(e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "foo-bar-"}, 409), "the channel foo-bar")
			refused(e.mustDo("POST", "/api/v1/orgs", admin, map[string]string{"name": "alice-"}, 409), "the user alice")
			refused(e.mustDo("POST", "/api/v1/users", admin, map[string]any{"name": "acme-", "email": "x@example.com", "password": "a long enough password"}, 409), "the organization acme")
			refused(e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "alice-", "email": "new@example.com", "password": "a long enough password"}, 409), "the user alice")

			// A subchannel asked for under another spelling of its parent is made in the parent,
			// under the parent's name.
			var made struct{ Name string }
			e.mustDo("POST", "/api/v1/channels", admin, map[string]any{"name": "acme_/test"}, 201).json(t, &made)
			if made.Name != "acme/test" {
				t.Errorf("subchannel made under acme_ is named %q, want acme/test", made.Name)
			}

			// The pages.
			ad, visitor := e.signedIn("admin", adminPassword), e.browser()
			pageRefused := func(r resp, named string) {
				t.Helper()
				if r.status == http.StatusSeeOther {
					r = ad.follow(r)
				}
				if !strings.Contains(r.text(), "the same name as "+named) {
					t.Errorf("page %d: %q; want it to name %s", r.status, r.text(), named)
				}
			}
			pageRefused(ad.post("/channels", url.Values{"name": {"acme."}}), "the organization acme")
			pageRefused(ad.post("/channels", url.Values{"name": {"foo_bar"}}), "the channel foo-bar")
			pageRefused(ad.post("/channels/acme/subchannels", url.Values{"name": {"dev."}}), "the subchannel acme/dev")
			pageRefused(ad.post("/orgs", url.Values{"name": {"alice-"}}), "the user alice")
			pageRefused(ad.post("/admin/users", url.Values{"name": {"acme-"}, "email": {"y@example.com"}, "password": {"a long enough password"}}), "the organization acme")
			r := visitor.post("/signup", url.Values{"username": {"foo-bar-"}, "email": {"z@example.com"}, "password": {"a long enough password"}})
			if r.status != http.StatusConflict || !strings.Contains(r.text(), "the same name as the channel foo-bar") {
				t.Errorf("sign-up page: %d %q", r.status, r.text())
			}

			// Nothing refused was made.
			var chans []struct{ Name string }
			e.mustDo("GET", "/api/v1/channels", admin, nil, 200).json(t, &chans)
			var got []string
			for _, c := range chans {
				got = append(got, c.Name)
			}
			if want := "acme acme/dev acme/test admin alice foo-bar"; strings.Join(got, " ") != want {
				t.Errorf("channels: %s, want %s", strings.Join(got, " "), want)
			}
		})
	}
}

// A look-up by another spelling finds the one channel (or account) that has the name, on every
// surface, and nothing else: a private channel stays as hidden as under its own name, and a
// token limited to one channel is limited to it under every spelling.
func TestLookAlikeLookups(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.users(alice, bob)
			e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
			e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "foo-bar"}, 201)
			e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "priv-chan", "private": true}, 201)
			for _, ch := range []string{"foo-bar", "priv-chan"} {
				if r := e.uploadAs(alice, ch, spec("tool", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
					t.Fatalf("upload to %s: %d %s", ch, r.status, r.body)
				}
				if r := e.uploadDist(alice, ch, pypitest.Spec{Name: "simplewheel", Version: "1.0"}); r.status != 201 {
					t.Fatalf("upload to %s: %d %s", ch, r.status, r.body)
				}
			}

			// A public channel under other spellings, anonymously.
			for _, n := range []string{"foo_bar", "FOO.BAR", "foo-bar-"} {
				if rd := e.repodata("/conda/" + n + "/noarch/repodata.json"); len(rd.filenames()) != 1 {
					t.Errorf("conda %s: %v", n, rd.filenames())
				}
				var info struct{ Name string }
				e.mustDo("GET", "/api/v1/channels/"+n, "", nil, 200).json(t, &info)
				if info.Name != "foo-bar" {
					t.Errorf("API channel %s is %q, want foo-bar", n, info.Name)
				}
				if idx, r := e.simple("/pypi/"+n+"/simple/simplewheel/", ""); r.status != 200 || len(idx.Files) != 1 {
					t.Errorf("PyPI %s: %d %s", n, r.status, r.body)
				}
				if r := e.browser().get("/channels/" + n); r.status != 200 || !strings.Contains(r.text(), "foo-bar") {
					t.Errorf("page of %s: %d", n, r.status)
				}
			}

			// A private one: as hidden under another spelling as under its own, with the same
			// words as a channel that does not exist; found by those who may read it.
			for _, path := range []string{"/conda/%s/noarch/repodata.json", "/api/v1/channels/%s", "/pypi/%s/simple/", "/api/v1/channels/%s/files"} {
				for _, who := range []string{"", bob} {
					lookAlike := e.do("GET", strings.Replace(path, "%s", "PRIV_CHAN", 1), who, nil)
					missing := e.do("GET", strings.Replace(path, "%s", "NOPE_CHAN", 1), who, nil)
					same := requestIDRE.ReplaceAllString(strings.ReplaceAll(string(lookAlike.body), "PRIV_CHAN", "NOPE_CHAN"), "") == requestIDRE.ReplaceAllString(string(missing.body), "")
					if lookAlike.status != 404 || strings.Contains(string(lookAlike.body), "priv-chan") || !same {
						t.Errorf("%s as %q: %d %s; want what a missing channel gets: %d %s", path, who, lookAlike.status, lookAlike.body, missing.status, missing.body)
					}
				}
				if r := e.do("GET", strings.Replace(path, "%s", "priv.chan", 1), alice, nil); r.status != 200 {
					t.Errorf("%s as the owner: %d %s", path, r.status, r.body)
				}
			}
			if r := e.browser().get("/channels/priv_chan"); r.status != 404 || strings.Contains(string(r.body), "priv-chan") {
				t.Errorf("page of priv_chan for a visitor: %d %s", r.status, r.text())
			}
			// Writing under another spelling writes to the one channel, with its owner's rights.
			if r := e.uploadAs(bob, "PRIV.CHAN", spec("bobs", "1.0", "0", "noarch", condatest.Conda)); r.status != 404 {
				t.Errorf("bob uploading to PRIV.CHAN: %d %s", r.status, r.body)
			}
			if r := e.uploadAs(alice, "PRIV.CHAN", spec("second", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
				t.Errorf("alice uploading to PRIV.CHAN: %d %s", r.status, r.body)
			}
			if rd := e.repodataAs(alice, "/conda/priv-chan/noarch/repodata.json"); len(rd.filenames()) != 2 {
				t.Errorf("priv-chan after an upload to PRIV.CHAN: %v", rd.filenames())
			}

			// Tokens: made for a spelling, they hold the channel; limited to one channel, they
			// reach it under any spelling and no other channel under any.
			tok := e.newToken(alice, map[string]any{"name": "r", "resources": []map[string]string{{"channel": "Priv_Chan", "level": "read"}}})
			for _, n := range []string{"priv-chan", "priv_chan", "PRIV.CHAN"} {
				if r := e.asToken("GET", "/conda/"+n+"/noarch/repodata.json", tok, nil); r.status != 200 {
					t.Errorf("resource token on %s: %d %s", n, r.status, r.body)
				}
			}
			other := e.newToken(alice, map[string]any{"name": "o", "resources": []map[string]string{{"channel": "foo.bar", "level": "read"}}})
			if r := e.asToken("GET", "/conda/priv_chan/noarch/repodata.json", other, nil); r.status != 404 {
				t.Errorf("a token for foo-bar on priv_chan: %d %s", r.status, r.body)
			}
			if r := e.asToken("GET", "/conda/Foo_Bar/noarch/repodata.json", other, nil); r.status != 200 {
				t.Errorf("a token for foo-bar on Foo_Bar: %d %s", r.status, r.body)
			}
			e.mustDo("POST", "/api/v1/tokens", bob, map[string]any{"name": "x", "resources": []map[string]string{{"channel": "priv_chan", "level": "read"}}}, 404)

			// Accounts and orgs.
			if r := e.browser().get("/users/ALICE-"); r.status != 200 || !strings.Contains(r.text(), "alice") {
				t.Errorf("/users/ALICE-: %d", r.status)
			}
			var org struct{ Name string }
			e.mustDo("GET", "/api/v1/orgs/ACME_", alice, nil, 200).json(t, &org)
			if org.Name != "acme" {
				t.Errorf("org ACME_ is %q", org.Name)
			}
			var who struct{ Name string }
			e.mustDo("GET", "/api/v1/user", "Alice_:alice-owns-acme-org", nil, 200).json(t, &who)
			if who.Name != "alice" {
				t.Errorf("signed in as Alice_, the server says %q", who.Name)
			}
			// Failed sign-ins under every spelling spend one budget: spellings are no way around it.
			spellings := []string{"bob", "Bob", "bob-", "BOB_", "bob."}
			for i := range 10 {
				if r := e.do("GET", "/api/v1/user", spellings[i%len(spellings)]+":wrong password", nil); r.status != 401 {
					t.Fatalf("wrong password %d: %d", i, r.status)
				}
			}
			if r := e.do("GET", "/api/v1/user", "b-o-b:wrong password", nil); r.status != 401 {
				t.Errorf("another name (b-o-b) is not bob: %d", r.status)
			}
			if r := e.do("GET", "/api/v1/user", "BOB-:bob-is-a-developer", nil); r.status != http.StatusTooManyRequests {
				t.Errorf("after 10 failures spread over spellings of bob: %d, want 429", r.status)
			}
		})
	}
}

var requestIDRE = regexp.MustCompile(`"request_id":"[0-9a-f]*"`)

func (e *env) repodataAs(auth, path string) repodata {
	e.t.Helper()
	var rd repodata
	e.mustDo("GET", path, auth, nil, 200).json(e.t, &rd)
	return rd
}

// A database with look-alikes from before the rule works as before, and the server names each
// group in a warning when it starts.
func TestLookAlikesFromBeforeTheRule(t *testing.T) {
	ctx := context.Background()
	old := storetest.OldSQLite(t, 9)
	for _, n := range []string{"acme", "acme_", "foo-bar", "foo.bar"} {
		old.Exec(t, `INSERT INTO channels (name, created_at, updated_at) VALUES (?, 1, 1)`, n)
	}
	st, err := store.Open(ctx, old.DSN)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer st.Close()
	bl, err := blob.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := server.New(st, bl, server.Options{TempDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, want := range []string{`names="acme acme_" found_by_other_spellings=acme`, `names="foo-bar foo.bar" found_by_other_spellings=foo-bar`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("startup log lacks %s:\n%s", want, logs.String())
		}
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	e := &env{t: t, srv: hs}
	for asked, want := range map[string]string{"acme": "acme", "acme_": "acme_", "ACME-": "acme", "foo.bar": "foo.bar", "foo_bar": "foo-bar"} {
		var info struct{ Name string }
		e.mustDo("GET", "/api/v1/channels/"+asked, "", nil, 200).json(t, &info)
		if info.Name != want {
			t.Errorf("GET channel %s = %s, want %s", asked, info.Name, want)
		}
	}
}
