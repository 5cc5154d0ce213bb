package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/server"
)

var secretOnPage = regexp.MustCompile(`id="token-secret"[^>]*>\s*(wrf[sr]-[0-9A-Za-z]+)`)

// TestWebTokenFormsNeedARecentSignIn: a session older than 15 minutes may not make, extend or
// reissue a token without the password: a token outlives the session, so a stolen session
// cookie is not enough to mint one.
func TestWebTokenFormsNeedARecentSignIn(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			var ahead atomic.Int64
			e := newEnv(t, b, func(o *server.Options) {
				o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
			})
			e.user("alice", "horse-battery-staple-1")
			w := e.signedIn("alice", "horse-battery-staple-1")
			r := w.post("/tokens", url.Values{"name": {"fresh"}, "scope": {"conda:download"}})
			if r.status != http.StatusCreated {
				t.Fatalf("a token from a fresh session: %d %s", r.status, r.text())
			}
			ahead.Store(int64(20 * time.Minute))
			if r := w.get("/tokens/new"); !strings.Contains(string(r.body), `name="password"`) {
				t.Errorf("the form of a 20-minute-old session does not ask for the password")
			}
			for _, pw := range []string{"", "not-the-password"} {
				r := w.post("/tokens", url.Values{"name": {"stale"}, "scope": {"conda:download"}, "password": {pw}})
				if r.status != http.StatusForbidden || secretOnPage.Match(r.body) {
					t.Errorf("a token from a stale session with password %q: %d %s", pw, r.status, r.text())
				}
			}
			var list []struct{ Name string }
			e.do("GET", "/api/v1/tokens", "alice:horse-battery-staple-1", nil).json(t, &list)
			if len(list) != 1 {
				t.Fatalf("tokens after the refused forms: %+v", list)
			}
			// Reissue and extend are refused too, and change nothing.
			before := e.do("GET", "/api/v1/tokens", "alice:horse-battery-staple-1", nil)
			for _, path := range []string{"/tokens/fresh/reissue", "/tokens/fresh/extend"} {
				r := w.post(path, url.Values{"expires": {"30d"}})
				if r.status != http.StatusSeeOther || secretOnPage.Match(r.body) {
					t.Errorf("%s from a stale session: %d", path, r.status)
				}
				if r := w.follow(r); !strings.Contains(r.text(), "confirm your password") {
					t.Errorf("%s: the page does not say why: %s", path, r.text())
				}
			}
			if after := e.do("GET", "/api/v1/tokens", "alice:horse-battery-staple-1", nil); string(after.body) != string(before.body) {
				t.Errorf("the token changed: %s -> %s", before.body, after.body)
			}
			// With the password it goes through, and the session is fresh again.
			old := w.cookies["__Host-wharf-session"]
			r = w.post("/tokens", url.Values{"name": {"confirmed"}, "scope": {"conda:download"}, "password": {"horse-battery-staple-1"}})
			if r.status != http.StatusCreated || !secretOnPage.Match(r.body) {
				t.Fatalf("with the password: %d %s", r.status, r.text())
			}
			if w.cookies["__Host-wharf-session"] == old {
				t.Error("confirming the password kept the session id")
			}
			replay := e.browser()
			replay.cookies["__Host-wharf-session"] = old
			if r := replay.get("/tokens"); r.status != http.StatusSeeOther {
				t.Errorf("the session before the confirmation still works: %d", r.status)
			}
			// The new session counts from its own sign-in (the test clock goes back to now).
			ahead.Store(0)
			if r := w.post("/tokens/confirmed/reissue", nil); r.status != http.StatusOK || !secretOnPage.Match(r.body) {
				t.Errorf("reissue right after confirming: %d %s", r.status, r.text())
			}
		})
	}
}

// TestWebFailedFormsChangeNothingShared: a visitor's refused forms do not move the access
// epoch, which would make every replica forget what it knows of tokens.
func TestWebFailedFormsChangeNothingShared(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupOpen))
	epoch := func() int64 {
		n, err := e.store.AccessEpoch(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := epoch()
	w := e.browser()
	for range 10 {
		w.post("/account/verify", url.Values{"token": {"junk"}})
		w.post("/signup", url.Values{"username": {"-bad"}})
		w.post("/account/reset", url.Values{"token": {"junk"}, "password": {"whatever whatever"}})
		w.post("/logout", nil)
	}
	if n := epoch(); n != before {
		t.Errorf("the access epoch moved from %d to %d on refused forms", before, n)
	}
	// A change that is made still moves it.
	e.user("alice", "horse-battery-staple-1")
	a := e.signedIn("alice", "horse-battery-staple-1")
	if r := a.post("/orgs", url.Values{"name": {"acme"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create an org: %d %s", r.status, r.text())
	}
	if n := epoch(); n == before {
		t.Error("creating an org did not move the access epoch")
	}
}

// TestWebSignInBudgetIsTheAccounts: guesses by name and the right password by address spend
// one budget.
func TestWebSignInBudgetIsTheAccounts(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.Logins = ratelimit.NewLogins(ratelimit.Config{
			PerAccount: ratelimit.Limit{Burst: 3, Interval: time.Minute},
			PerAddress: ratelimit.Limit{Burst: 100, Interval: time.Second},
		})
	})
	e.user("alice", "horse-battery-staple-1")
	w := e.browser()
	for range 3 {
		w.post("/login", url.Values{"username": {"alice"}, "password": {"guess-guess-guess"}})
	}
	if r := w.post("/login", url.Values{"username": {"alice@example.com"}, "password": {"horse-battery-staple-1"}}); r.status != http.StatusTooManyRequests {
		t.Errorf("the right password by address after the name's budget is spent: %d, want 429", r.status)
	}
	if r := w.post("/login", url.Values{"username": {"ALICE"}, "password": {"horse-battery-staple-1"}}); r.status != http.StatusTooManyRequests {
		t.Errorf("the right password by the name in capitals: %d, want 429", r.status)
	}
}

// TestWebSignInComesBack: the sign-in link of a page brings the visitor back to it, a
// subchannel's path included; a mailed link's secret is not carried along.
func TestWebSignInComesBack(t *testing.T) {
	e := newEnv(t, backends[0])
	e.user("alice", "horse-battery-staple-1")
	w := e.signedIn("alice", "horse-battery-staple-1")
	if r := w.post("/channels/alice/subchannels", url.Values{"name": {"dev"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create a subchannel: %d %s", r.status, r.text())
	}
	anon := e.browser()
	r := anon.get("/channels/alice%2Fdev/access")
	if r.status != http.StatusSeeOther {
		t.Fatalf("visitor on a page that needs a user: %d", r.status)
	}
	loc := r.header.Get("Location")
	u, _ := url.Parse(loc)
	next := u.Query().Get("next")
	if next != "/channels/alice%2Fdev/access" {
		t.Fatalf("sent to %s; next = %q", loc, next)
	}
	r = anon.post("/login", url.Values{"username": {"alice"}, "password": {"horse-battery-staple-1"}, "next": {next}})
	if got := r.header.Get("Location"); got != next {
		t.Fatalf("after sign-in: sent to %q, want %q", got, next)
	}
	if r := anon.get(next); r.status != http.StatusOK {
		t.Errorf("the page signed in: %d %s", r.status, r.text())
	}
	// The header's sign-in link, on a public page with a subchannel in its path.
	r = e.browser().get("/channels/alice%2Fdev")
	if !strings.Contains(string(r.body), `href="/login?next=%2fchannels%2falice%252Fdev"`) {
		t.Errorf("sign-in link of a subchannel page: %s", regexp.MustCompile(`href="/login[^"]*"`).Find(r.body))
	}
	// On a page whose URL holds a mailed secret, the link does not carry it.
	r = e.browser().get("/account/reset?token=secret-of-the-link")
	if strings.Contains(string(r.body), "secret-of-the-link\"") && strings.Contains(string(r.body), "next=") && strings.Contains(string(r.body), "secret-of-the-link&") {
		t.Errorf("the sign-in link carries the reset secret")
	}
	if m := regexp.MustCompile(`href="/login[^"]*"`).Find(r.body); strings.Contains(string(m), "secret") {
		t.Errorf("sign-in link on the reset page: %s", m)
	}
}

func TestWebDeleteChannel(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("alice", "horse-battery-staple-1")
			e.user("bob", "horse-battery-staple-2")
			w := e.signedIn("alice", "horse-battery-staple-1")
			if r := w.post("/channels/alice/subchannels", url.Values{"name": {"dev"}}); r.status != http.StatusSeeOther {
				t.Fatalf("create a subchannel: %d %s", r.status, r.text())
			}
			exists := func(name string) bool {
				return e.do("GET", "/api/v1/channels/"+url.PathEscape(name), "alice:horse-battery-staple-1", nil).status == http.StatusOK
			}
			// An account's own channel is not removed by itself: no form, and the post refused.
			if r := w.get("/channels/alice/settings"); strings.Contains(r.text(), "Remove the channel") {
				t.Error("the settings of alice's own channel offer to remove it")
			}
			if r := w.follow(w.post("/channels/alice/delete", url.Values{"confirm": {"alice"}})); !strings.Contains(r.text(), "account's own channel") || !exists("alice") {
				t.Errorf("removing the account's channel: %s", r.text())
			}
			if r := w.get("/channels/alice%2Fdev/settings"); !strings.Contains(r.text(), "Remove the channel") {
				t.Errorf("the subchannel's settings offer no removal: %s", r.text())
			}
			// The name must be typed; a stranger is refused; nothing goes.
			if r := w.follow(w.post("/channels/alice%2Fdev/delete", url.Values{"confirm": {"dev"}})); !strings.Contains(r.text(), "type the channel's name") || !exists("alice/dev") {
				t.Errorf("a wrong confirmation: %s", r.text())
			}
			bob := e.signedIn("bob", "horse-battery-staple-2")
			if r := bob.post("/channels/alice%2Fdev/delete", url.Values{"confirm": {"alice/dev"}}); r.status != http.StatusForbidden || !exists("alice/dev") {
				t.Errorf("bob removes alice/dev: %d", r.status)
			}
			r := w.post("/channels/alice%2Fdev/delete", url.Values{"confirm": {"alice/dev"}})
			if r.status != http.StatusSeeOther || exists("alice/dev") {
				t.Fatalf("removal: %d, still there: %v", r.status, exists("alice/dev"))
			}
			if r := w.follow(r); !strings.Contains(r.text(), "is removed") {
				t.Errorf("after the removal: %s", r.text())
			}
		})
	}
}

// A NUL in a token's description is refused on every store alike (PostgreSQL cannot keep it).
func TestTokenDescriptionWithNUL(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			r := e.do("POST", "/api/v1/tokens", admin, []byte(`{"name":"x","description":"a\u0000b"}`), "Content-Type", "application/json")
			if r.status != http.StatusBadRequest {
				t.Errorf("a NUL in the description: %d %s", r.status, r.body)
			}
		})
	}
}
