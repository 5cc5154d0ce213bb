package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
