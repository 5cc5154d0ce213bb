package server_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/server"
)

type userJSON struct {
	Name          string
	Email         string
	EmailVerified bool `json:"email_verified"`
	Admin         bool
	Disabled      bool
}

func (e *env) usersAsAdmin() map[string]userJSON {
	e.t.Helper()
	var list []userJSON
	e.mustDo("GET", "/api/v1/users", admin, nil, 200).json(e.t, &list)
	out := map[string]userJSON{}
	for _, u := range list {
		out[u.Name] = u
	}
	return out
}

var newPassword = regexp.MustCompile(`<code id="new-password">([^<]+)</code>`)

func TestWebAdmin(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			const pw = "correct-horse-battery-9"
			e.user("bob", pw)
			bob, anon := e.signedIn("bob", pw), e.browser()

			// A user who is not an administrator, and a visitor, are refused on every route,
			// and nothing changes.
			users := e.usersAsAdmin()
			posts := []struct {
				path string
				form url.Values
			}{
				{"/admin/users", url.Values{"name": {"mallory"}, "email": {"mallory@example.com"}, "password": {pw}, "admin": {"on"}}},
				{"/admin/users/bob/disable", nil},
				{"/admin/users/admin/disable", nil},
				{"/admin/users/bob/enable", nil},
				{"/admin/invites", url.Values{"email": {"mallory@example.com"}}},
				{"/admin/signup", url.Values{"mode": {"open"}}},
				{"/admin/mail-test", nil},
			}
			if r := bob.get("/admin"); r.status != http.StatusForbidden {
				t.Errorf("bob on /admin: %d", r.status)
			}
			if r := anon.get("/admin"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fadmin" {
				t.Errorf("visitor on /admin: %d %s", r.status, r.header.Get("Location"))
			}
			for _, p := range posts {
				if r := bob.post(p.path, p.form); r.status != http.StatusForbidden {
					t.Errorf("bob posting %s: %d, want 403", p.path, r.status)
				}
				if r := anon.post(p.path, p.form); r.status != http.StatusUnauthorized {
					t.Errorf("visitor posting %s: %d, want 401", p.path, r.status)
				}
			}
			if got := e.usersAsAdmin(); len(got) != len(users) || got["bob"] != users["bob"] || got["admin"] != users["admin"] {
				t.Errorf("refused forms changed the users: %+v, was %+v", got, users)
			}
			if r := anon.get("/signup"); r.status != http.StatusForbidden {
				t.Errorf("refused forms opened sign-up: %d", r.status)
			}
			if ms := e.mails(); len(ms) != 0 {
				t.Errorf("refused forms sent mail: %+v", ms)
			}
			if r := bob.get("/settings"); r.status != 200 {
				t.Errorf("bob was signed out by a refused form: %d", r.status)
			}

			ad := e.signedIn("admin", adminPassword)
			r := ad.get("/admin")
			if r.status != 200 {
				t.Fatalf("/admin: %d %s", r.status, r.text())
			}
			for _, want := range []string{"bob bob@example.com yes no active", "Sign-up is closed", "--signup closed", "outbox directory " + e.outbox,
				"Send a test mail to admin@example.com", "overrides the --signup flag"} {
				if !strings.Contains(html.UnescapeString(r.text()), want) {
					t.Errorf("/admin lacks %q: %s", want, r.text())
				}
			}
			if strings.Contains(string(r.body), `action="/admin/users/admin/disable"`) {
				t.Errorf("/admin offers the admin to disable themself")
			}

			// Create users: with a password; without one (the server's is shown once); an
			// administrator.
			page := ad.posted("/admin/users", url.Values{"name": {"carol"}, "email": {"carol@example.com"}, "password": {pw}}, "/admin")
			if !strings.Contains(page.text(), "The account carol is created") {
				t.Errorf("after creating carol: %s", page.text())
			}
			e.mustDo("GET", "/api/v1/user", "carol:"+pw, nil, 200)
			r = ad.post("/admin/users", url.Values{"name": {"dave"}, "email": {"dave@example.com"}, "admin": {"on"}})
			m := newPassword.FindSubmatch(r.body)
			if r.status != http.StatusCreated || m == nil {
				t.Fatalf("creating dave without a password: %d %s", r.status, r.text())
			}
			e.mustDo("GET", "/api/v1/users", "dave:"+htmlUnescape(string(m[1])), nil, 200) // an administrator
			if again := ad.get("/admin"); strings.Contains(string(again.body), string(m[1])) {
				t.Errorf("the made-up password is shown again")
			}
			page = ad.posted("/admin/users", url.Values{"name": {"carol"}, "email": {"carol2@example.com"}, "password": {pw}}, "/admin")
			if !strings.Contains(string(page.body), `class="flash error"`) {
				t.Errorf("a taken name: %s", page.text())
			}
			got := e.usersAsAdmin()
			if c, d := got["carol"], got["dave"]; c.Admin || !c.EmailVerified || !d.Admin || len(got) != 4 {
				t.Errorf("users after creation: %+v", got)
			}

			// Disable carol: her session, password and tokens stop working; enable her again.
			carol := e.signedIn("carol", pw)
			tok := e.newToken("carol:"+pw, map[string]any{"name": "ci"})
			e.asToken("GET", "/api/v1/user", tok, nil)
			page = ad.posted("/admin/users/carol/disable", nil, "/admin")
			if !strings.Contains(page.text(), "The account carol is disabled") || !strings.Contains(page.text(), "carol carol@example.com yes no disabled") {
				t.Errorf("after disabling carol: %s", page.text())
			}
			if !e.usersAsAdmin()["carol"].Disabled {
				t.Errorf("carol is not disabled")
			}
			if r := carol.get("/settings"); r.status != http.StatusSeeOther {
				t.Errorf("carol's session after she was disabled: %d", r.status)
			}
			e.mustDo("GET", "/api/v1/user", "carol:"+pw, nil, 401)
			if r := e.asToken("GET", "/api/v1/user", tok, nil); r.status != http.StatusUnauthorized {
				t.Errorf("carol's token after she was disabled: %d", r.status)
			}
			if r := e.browser().post("/login", url.Values{"username": {"carol"}, "password": {pw}}); r.status != http.StatusForbidden {
				t.Errorf("carol signing in while disabled: %d", r.status)
			}
			page = ad.posted("/admin/users/carol/enable", nil, "/admin")
			if !strings.Contains(page.text(), "The account carol is enabled again") || e.usersAsAdmin()["carol"].Disabled {
				t.Errorf("after enabling carol: %s", page.text())
			}
			e.mustDo("GET", "/api/v1/user", "carol:"+pw, nil, 200)
			if r := e.asToken("GET", "/api/v1/user", tok, nil); r.status != 200 {
				t.Errorf("carol's token after she was enabled: %d", r.status)
			}
			// An administrator may not disable themself.
			page = ad.posted("/admin/users/admin/disable", nil, "/admin")
			if !strings.Contains(page.text(), "cannot disable or demote their own account") || e.usersAsAdmin()["admin"].Disabled {
				t.Errorf("an administrator disabling themself: %s", page.text())
			}
			if r := ad.posted("/admin/users/nobody/disable", nil, "/admin"); !strings.Contains(r.text(), `user "nobody" not found`) {
				t.Errorf("disabling nobody: %s", r.text())
			}

			// The sign-up mode: every sign-up path follows the stored one.
			signup := func(name string) int {
				return e.do("POST", "/api/v1/signup", "", []byte(`{"username":"`+name+`","email":"`+name+`@example.com","password":"a fine long passphrase"}`),
					"Content-Type", "application/json").status
			}
			page = ad.posted("/admin/signup", url.Values{"mode": {"open"}}, "/admin")
			if !strings.Contains(page.text(), "Sign-up is now open") || !strings.Contains(page.text(), "Sign-up is open , as chosen here") {
				t.Errorf("after opening sign-up: %s", page.text())
			}
			if r := anon.get("/signup"); r.status != 200 || !strings.Contains(string(r.body), `name="username"`) {
				t.Errorf("/signup when open: %d", r.status)
			}
			if s := signup("erin"); s != http.StatusAccepted {
				t.Errorf("API sign-up when open: %d", s)
			}
			ad.posted("/admin/signup", url.Values{"mode": {"closed"}}, "/admin")
			if r := anon.get("/signup"); r.status != http.StatusForbidden {
				t.Errorf("/signup when closed: %d", r.status)
			}
			if s := signup("frank"); s != http.StatusForbidden {
				t.Errorf("API sign-up when closed: %d", s)
			}
			ad.posted("/admin/signup", url.Values{"mode": {"invite"}}, "/admin")
			if r := anon.get("/signup"); r.status != 200 || !strings.Contains(string(r.body), `name="invite"`) {
				t.Errorf("/signup when by invitation: %d", r.status)
			}
			if s := signup("frank"); s != http.StatusForbidden {
				t.Errorf("API sign-up without an invitation: %d", s)
			}
			page = ad.posted("/admin/signup", url.Values{"mode": {"wide-open"}}, "/admin")
			if !strings.Contains(page.text(), `sign-up mode "wide-open"`) || !strings.Contains(page.text(), "Sign-up is invite") {
				t.Errorf("a bad mode: %s", page.text())
			}
			if _, ok := e.usersAsAdmin()["frank"]; ok {
				t.Errorf("frank signed up while sign-up was closed")
			}

			// An invitation by mail.
			page = ad.posted("/admin/invites", url.Values{"email": {"gail@example.com"}}, "/admin")
			if !strings.Contains(page.text(), "An invitation is on its way to gail@example.com") {
				t.Errorf("after inviting: %s", page.text())
			}
			// Queued mails go out side by side, not in order: the newest to gail.
			if last := e.lastMailTo("gail@example.com"); !strings.Contains(last.Text, "/signup?invite=") {
				t.Errorf("invitation mail: %+v", last)
			}
			if r := ad.posted("/admin/invites", url.Values{"email": {"not an address"}}, "/admin"); !strings.Contains(string(r.body), `class="flash error"`) {
				t.Errorf("a bad address: %s", r.text())
			}

			// The test mail goes to the administrator's own address, and is in the outbox.
			page = ad.posted("/admin/mail-test", nil, "/admin")
			if !strings.Contains(page.text(), "A test mail to admin@example.com was handed to the outbox directory") {
				t.Errorf("after the test mail: %s", page.text())
			}
			ms := e.mails()
			if last := ms[len(ms)-1]; last.To != "admin@example.com" || last.Subject != "Wharf test mail" || !strings.Contains(last.Text, "outbox directory "+e.outbox) {
				t.Errorf("test mail: %+v", last)
			}
		})
	}
}

// brokenMail is a sender whose server refuses every mail.
type brokenMail struct{}

func (brokenMail) Send(context.Context, mail.Message) error {
	return errors.New("mail: send mail via smtp.example.com:587: 554 relay refused")
}

func TestWebAdminMailTestSaysWhyMailFailed(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) { o.Mail = brokenMail{} })
	ad := e.signedIn("admin", adminPassword)
	if r := ad.get("/admin"); !strings.Contains(r.text(), "a sender of type server_test.brokenMail") {
		t.Errorf("/admin with a sender of its own: %s", r.text())
	}
	page := ad.posted("/admin/mail-test", nil, "/admin")
	if !strings.Contains(page.text(), "The test mail to admin@example.com was not sent: mail: send mail via smtp.example.com:587: 554 relay refused") ||
		!strings.Contains(string(page.body), `class="flash error"`) {
		t.Errorf("after a failed test mail: %s", page.text())
	}
}
