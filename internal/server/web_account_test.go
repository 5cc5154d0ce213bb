package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/server"
)

func TestWebSignInAndSessions(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("alice", "horse-battery-staple-1")

			// A visitor is sent to the sign-in page, and back after it.
			anon := e.browser()
			r := anon.get("/settings")
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fsettings" {
				t.Fatalf("visitor on /settings: %d %v", r.status, r.header.Get("Location"))
			}
			r = anon.post("/login", url.Values{"username": {"alice"}, "password": {"wrong-password"}, "next": {"/settings"}})
			if r.status != http.StatusUnauthorized || !strings.Contains(r.text(), "Wrong user name or password") {
				t.Fatalf("wrong password: %d %s", r.status, r.text())
			}
			if len(anon.cookies) != 0 {
				t.Errorf("a failed sign-in set cookies: %v", anon.cookies)
			}
			// A planted session id is never adopted: sign-in makes a new one.
			anon.cookies["__Host-wharf-session"] = "planted"
			r = anon.post("/login", url.Values{"username": {"alice"}, "password": {"horse-battery-staple-1"}, "next": {"/settings"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/settings" {
				t.Fatalf("sign-in: %d %s", r.status, r.body)
			}
			sid := anon.cookies["__Host-wharf-session"]
			if sid == "" || sid == "planted" {
				t.Fatalf("session cookie after sign-in: %q", sid)
			}
			ck := r.header.Get("Set-Cookie")
			for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
				if !strings.Contains(ck, attr) {
					t.Errorf("session cookie %q lacks %s", ck, attr)
				}
			}
			r = anon.get("/settings")
			if r.status != http.StatusOK || !strings.Contains(r.text(), "alice@example.com") {
				t.Fatalf("settings: %d %s", r.status, r.text())
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
				t.Errorf("CSP = %q", csp)
			}
			// Open redirects are not followed.
			for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
				b := e.browser()
				r := b.post("/login", url.Values{"username": {"alice"}, "password": {"horse-battery-staple-1"}, "next": {next}})
				if loc := r.header.Get("Location"); loc != "/" {
					t.Errorf("next=%q: redirected to %q", next, loc)
				}
			}

			// The session cookie is never taken on the API, conda or PyPI routes.
			for _, p := range []string{"/api/v1/user", "/api/v1/tokens"} {
				if r := anon.get(p); r.status != http.StatusUnauthorized {
					t.Errorf("GET %s with the session cookie: %d, want 401", p, r.status)
				}
			}

			// Sign-out ends the session on the server: the old cookie replayed is nobody's.
			r = anon.post("/logout", nil)
			if r.status != http.StatusSeeOther {
				t.Fatalf("sign-out: %d", r.status)
			}
			replay := e.browser()
			replay.cookies["__Host-wharf-session"] = sid
			if r := replay.get("/settings"); r.status != http.StatusSeeOther {
				t.Errorf("replayed cookie after sign-out: %d, want a redirect to sign in", r.status)
			}

			// A password change signs out every other browser, and keeps this one signed in
			// with a new session id.
			one, two := e.signedIn("alice", "horse-battery-staple-1"), e.signedIn("alice", "horse-battery-staple-1")
			before := one.cookies["__Host-wharf-session"]
			r = one.post("/settings/password", url.Values{"old_password": {"horse-battery-staple-1"}, "new_password": {"horse-battery-staple-2"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("password change: %d %s", r.status, r.body)
			}
			if r := one.follow(r); r.status != http.StatusOK || !strings.Contains(r.text(), "password is changed") {
				t.Errorf("after the change: %d %s", r.status, r.text())
			}
			if one.cookies["__Host-wharf-session"] == before {
				t.Error("the session id stayed the same across a password change")
			}
			if r := two.get("/settings"); r.status != http.StatusSeeOther {
				t.Errorf("other browser after the password change: %d", r.status)
			}
			// A wrong current password changes nothing.
			r = one.post("/settings/password", url.Values{"old_password": {"nope-nope-nope"}, "new_password": {"horse-battery-staple-3"}})
			if r := one.follow(r); !strings.Contains(r.text(), "current password is wrong") {
				t.Errorf("wrong current password: %s", r.text())
			}
			e.browser().login("alice", "horse-battery-staple-2")

			// Signing out of the other browsers from the settings page.
			three := e.signedIn("alice", "horse-battery-staple-2")
			if r := one.post("/settings/sessions/end-others", nil); r.status != http.StatusSeeOther {
				t.Fatalf("end others: %d", r.status)
			}
			if r := three.get("/settings"); r.status != http.StatusSeeOther {
				t.Errorf("browser after 'sign out everywhere else': %d", r.status)
			}
			if r := one.get("/settings"); r.status != http.StatusOK {
				t.Errorf("this browser after 'sign out everywhere else': %d", r.status)
			}
		})
	}
}

func TestWebRefusesCrossSitePosts(t *testing.T) {
	e := newEnv(t, backends[0])
	e.user("alice", "horse-battery-staple-1")
	w := e.signedIn("alice", "horse-battery-staple-1")
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		r := w.do("POST", "/settings/password", strings.NewReader("old_password=horse-battery-staple-1&new_password=changed-by-evil"),
			append([]string{"Content-Type", "application/x-www-form-urlencoded"}, h...)...)
		if r.status != http.StatusForbidden {
			t.Errorf("cross-site POST %v: %d, want 403", h, r.status)
		}
	}
	// Nothing changed: the old password still signs in.
	e.browser().login("alice", "horse-battery-staple-1")
	// GET never changes anything: a GET of the sign-out URL finds no page.
	if r := w.get("/logout"); r.status != http.StatusNotFound {
		t.Errorf("GET /logout: %d, want 404", r.status)
	}
	if r := w.get("/settings"); r.status != http.StatusOK {
		t.Errorf("still signed in after GET /logout: %d", r.status)
	}
}

// TestWebSignUpConfirmReset: the account flows through the pages, with the links the outbox
// holds.
func TestWebSignUpConfirmReset(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, signupMode(server.SignupOpen))
			w := e.browser()
			if r := w.get("/signup"); r.status != http.StatusOK || !strings.Contains(r.text(), "Create an account") {
				t.Fatalf("sign-up page: %d %s", r.status, r.text())
			}
			// A bad form is shown again with what was typed and why it was refused.
			r := w.post("/signup", url.Values{"username": {"dana"}, "email": {"dana@example.com"}, "password": {"short"}})
			if r.status != http.StatusBadRequest || !strings.Contains(r.text(), "password") || !strings.Contains(string(r.body), `value="dana@example.com"`) {
				t.Errorf("short password: %d %s", r.status, r.text())
			}
			r = w.post("/signup", url.Values{"username": {"dana"}, "email": {"dana@example.com"}, "password": {"tidal marble orchard 77"}})
			if r.status != http.StatusAccepted || !strings.Contains(r.text(), "Check your mail") {
				t.Fatalf("sign-up: %d %s", r.status, r.text())
			}
			// Not confirmed yet (once the queued sign-up has made the account): sign-in says so
			// and offers a new link.
			e.mails()
			r = w.post("/login", url.Values{"username": {"dana"}, "password": {"tidal marble orchard 77"}})
			if r.status != http.StatusForbidden || !strings.Contains(r.text(), "Confirm your email address first") ||
				!strings.Contains(string(r.body), `action="/account/verify/resend"`) || len(w.cookies) != 0 {
				t.Errorf("sign-in before confirming: %d %s %v", r.status, r.text(), w.cookies)
			}
			if r := w.post("/account/verify/resend", url.Values{"email": {"dana@example.com"}}); r.status != http.StatusAccepted {
				t.Errorf("resend: %d %s", r.status, r.text())
			}
			path, link := e.lastLink("dana@example.com")
			// Opening the link changes nothing (mail scanners open links); its button does.
			r = w.get(path + "?token=" + link)
			if r.status != http.StatusOK || r.header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(string(r.body), `value="`+link+`"`) {
				t.Fatalf("verify page: %d %v", r.status, r.header)
			}
			if r := w.post("/login", url.Values{"username": {"dana"}, "password": {"tidal marble orchard 77"}}); r.status != http.StatusForbidden {
				t.Errorf("sign-in after only opening the link: %d", r.status)
			}
			if r := w.post("/account/verify", url.Values{"token": {link}}); r.status != http.StatusOK || !strings.Contains(r.text(), "Address confirmed") {
				t.Fatalf("confirm: %d %s", r.status, r.text())
			}
			if r := w.post("/account/verify", url.Values{"token": {link}}); r.status != http.StatusBadRequest {
				t.Errorf("the link used twice: %d", r.status)
			}
			w.login("dana", "tidal marble orchard 77")
			other := e.signedIn("dana", "tidal marble orchard 77")

			// Reset: ask with the address, use the mailed link; every session ends.
			anon := e.browser()
			if r := anon.get("/account/reset"); r.status != http.StatusOK || !strings.Contains(string(r.body), `name="email"`) {
				t.Fatalf("reset page: %d %s", r.status, r.text())
			}
			if r := anon.post("/account/reset", url.Values{"email": {"dana@example.com"}}); r.status != http.StatusAccepted {
				t.Fatalf("ask for a reset: %d %s", r.status, r.text())
			}
			// An unknown address gets the same answer, and no mail.
			before := len(e.mails())
			if r := anon.post("/account/reset", url.Values{"email": {"nobody@example.com"}}); r.status != http.StatusAccepted {
				t.Errorf("reset of an unknown address: %d", r.status)
			}
			if n := len(e.mails()); n != before {
				t.Errorf("a reset of an unknown address mailed someone")
			}
			path, link = e.lastLink("dana@example.com")
			if r := anon.get(path + "?token=" + link); r.status != http.StatusOK || r.header.Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("reset link page: %d", r.status)
			}
			r = anon.post("/account/reset", url.Values{"token": {link}, "password": {"dana"}})
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `name="password"`) {
				t.Errorf("a bad new password: %d %s", r.status, r.text())
			}
			if r := anon.post("/account/reset", url.Values{"token": {link}, "password": {"copper kettle meadow 9"}}); r.status != http.StatusOK {
				t.Fatalf("reset: %d %s", r.status, r.text())
			}
			for i, s := range []*webClient{w, other} {
				if r := s.get("/settings"); r.status != http.StatusSeeOther {
					t.Errorf("browser %d after the reset: %d, want signed out", i, r.status)
				}
			}
			e.browser().login("dana", "copper kettle meadow 9")
		})
	}
}

func TestWebSignInIsRateLimited(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.Logins = ratelimit.NewLogins(ratelimit.Config{
			PerAccount: ratelimit.Limit{Burst: 3, Interval: time.Minute},
			PerAddress: ratelimit.Limit{Burst: 100, Interval: time.Second},
		})
	})
	e.user("alice", "horse-battery-staple-1")
	w := e.browser()
	for range 3 {
		if r := w.post("/login", url.Values{"username": {"alice"}, "password": {"guess-guess-guess"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.status)
		}
	}
	// Past the budget the right password is refused too, and the page says when to try again.
	r := w.post("/login", url.Values{"username": {"alice"}, "password": {"horse-battery-staple-1"}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.text(), "try again in") || len(w.cookies) != 0 {
		t.Errorf("sign-in past the budget: %d %v %s", r.status, r.header, r.text())
	}
	// The budget is the one HTTP Basic spends.
	if r := e.do("GET", "/api/v1/user", "alice:horse-battery-staple-1", nil); r.status != http.StatusTooManyRequests {
		t.Errorf("Basic sign-in past the budget the form spent: %d", r.status)
	}
	// An unknown account costs the same and says the same.
	r = w.post("/login", url.Values{"username": {"nobody"}, "password": {"guess-guess-guess"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.text(), "Wrong user name or password") {
		t.Errorf("unknown account: %d %s", r.status, r.text())
	}
}

// TestWebFormsTakeOddInput: odd, huge or broken form values get a 4xx page, never a 5xx.
func TestWebFormsTakeOddInput(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, signupMode(server.SignupOpen))
			e.user("alice", "horse-battery-staple-1")
			w := e.signedIn("alice", "horse-battery-staple-1")
			odd := []string{"\x00", "\xff\xfe", strings.Repeat("a", 10000), "a/../b", "<script>alert(1)</script>", "%00", " ", "💥"}
			forms := map[string][]string{
				"/login":                 {"username", "password", "next"},
				"/signup":                {"username", "email", "password", "invite"},
				"/account/reset":         {"email", "token", "password"},
				"/account/verify":        {"token"},
				"/settings/password":     {"old_password", "new_password"},
				"/channels":              {"name", "org", "private"},
				"/orgs":                  {"name"},
				"/tokens":                {"name", "scope", "resource_channel", "resource_level", "expires", "expires_on", "strength", "org"},
				"/channels/alice/access": {"package", "private"},
			}
			for path, fields := range forms {
				for _, v := range odd {
					f := url.Values{}
					for _, k := range fields {
						f.Set(k, v)
					}
					r := w.post(path, f)
					if r.status >= 500 {
						t.Errorf("POST %s with %q: %d %s", path, v, r.status, r.body)
					}
					if strings.Contains(string(r.body), "<script>alert(1)</script>") {
						t.Errorf("POST %s: the page carries the script unescaped", path)
					}
				}
			}
			// A form past the size cap is refused whole.
			big := url.Values{"name": {strings.Repeat("x", 100<<10)}}
			if r := w.post("/orgs", big); r.status != http.StatusRequestEntityTooLarge && r.status != http.StatusBadRequest {
				t.Errorf("a 100 KiB form: %d", r.status)
			}
			// The session still works: nothing above broke it.
			if r := w.get("/settings"); r.status != http.StatusOK {
				t.Errorf("settings after the odd forms: %d", r.status)
			}
		})
	}
}

// TestWebEndOneSession: a user signs out one of their browsers from the settings page; another
// user cannot end it by its id.
func TestWebEndOneSession(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("alice", "horse-battery-staple-1")
			e.user("bob", "horse-battery-staple-2")
			one, two := e.signedIn("alice", "horse-battery-staple-1"), e.signedIn("alice", "horse-battery-staple-1")
			bob := e.signedIn("bob", "horse-battery-staple-2")
			// The settings page of "one" names the other session's form.
			ids := regexp.MustCompile(`action="/settings/sessions/(\d+)/end"`).FindAllStringSubmatch(string(one.get("/settings").body), -1)
			if len(ids) != 1 {
				t.Fatalf("session forms on the settings page: %v", ids)
			}
			other := ids[0][1]
			if r := bob.post("/settings/sessions/"+other+"/end", nil); r.status != http.StatusSeeOther {
				t.Fatalf("bob's post: %d", r.status)
			} else if f := bob.follow(r); !strings.Contains(f.text(), "session") || !strings.Contains(f.text(), "not found") {
				t.Errorf("bob ending alice's session: %s", f.text())
			}
			if r := two.get("/settings"); r.status != http.StatusOK {
				t.Fatalf("alice's second browser after bob's try: %d", r.status)
			}
			if r := one.post("/settings/sessions/"+other+"/end", nil); r.status != http.StatusSeeOther {
				t.Fatalf("alice ends her other session: %d", r.status)
			}
			if r := two.get("/settings"); r.status != http.StatusSeeOther {
				t.Errorf("the ended session still works: %d", r.status)
			}
			if r := one.get("/settings"); r.status != http.StatusOK {
				t.Errorf("the browser that ended the other: %d", r.status)
			}
			if r := one.post("/settings/sessions/not-a-number/end", nil); r.status != http.StatusNotFound {
				t.Errorf("a malformed session id: %d", r.status)
			}
		})
	}
}
