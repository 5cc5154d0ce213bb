package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/server"
)

func signupMode(mode string) func(*server.Options) {
	return func(o *server.Options) { o.Signup = mode }
}

// mails returns the outbox, oldest first, once the mail queued so far is in it.
func (e *env) mails() []mail.Message {
	e.t.Helper()
	if err := e.server.WaitMail(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	ms, err := mail.ReadOutbox(e.outbox)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// lastMailTo is the newest mail to addr.
func (e *env) lastMailTo(addr string) mail.Message {
	e.t.Helper()
	ms := e.mails()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].To == addr {
			return ms[i]
		}
	}
	e.t.Fatalf("no mail to %s; outbox: %+v", addr, ms)
	return mail.Message{}
}

var linkToken = regexp.MustCompile(`https://wharf\.example\.com(/account/(?:verify|reset))\?token=([A-Za-z0-9_-]+)`)

// lastLink is the path and token of the newest mailed link to addr.
func (e *env) lastLink(addr string) (path, token string) {
	e.t.Helper()
	ms := e.mails()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].To == addr {
			if m := linkToken.FindStringSubmatch(ms[i].Text); m != nil {
				return m[1], m[2]
			}
		}
	}
	e.t.Fatalf("no link mailed to %s; outbox: %+v", addr, ms)
	return "", ""
}

func (e *env) form(path string, values url.Values) resp {
	e.t.Helper()
	return e.do("POST", path, "", []byte(values.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

func TestSignupAndVerify(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupOpen))
	const creds = "carol:violet evening passphrase"
	r := e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": "violet evening passphrase"}, 202)
	if !strings.Contains(string(r.body), "follow its link") {
		t.Errorf("sign-up answer: %s", r.body)
	}
	e.mails() // the account is made after the answer, with its mail
	r = e.mustDo("GET", "/api/v1/user", creds, nil, 401)
	if !strings.Contains(string(r.body), "confirm your email") {
		t.Errorf("before confirmation: %s", r.body)
	}
	path, token := e.lastLink("carol@example.com")
	if path != "/account/verify" {
		t.Fatalf("mailed link %s", path)
	}
	// Opening the link changes nothing (mail scanners open links); its button does.
	page := e.do("GET", path+"?token="+token, "", nil)
	if page.status != 200 || !bytes.Contains(page.body, []byte(`method="post"`)) || !bytes.Contains(page.body, []byte(token)) {
		t.Fatalf("verify page: %d %s", page.status, page.body)
	}
	if page.header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(page.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("verify page headers: %v", page.header)
	}
	e.mustDo("GET", "/api/v1/user", creds, nil, 401)
	if r := e.form("/account/verify", url.Values{"token": {token}}); r.status != 200 || !bytes.Contains(r.body, []byte("carol")) {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	e.mustDo("GET", "/api/v1/user", creds, nil, 200)
	if r := e.form("/account/verify", url.Values{"token": {token}}); r.status != 400 {
		t.Errorf("second use of the link: %d, want 400", r.status)
	}
	e.mustDo("POST", "/api/v1/account/verify", "", map[string]string{"token": token}, 400)
	// Every account owns a channel of its name.
	e.mustDo("GET", "/api/v1/channels/carol", creds, nil, 200)
	if r := e.uploadAs(creds, "carol", spec("mine", "1.0", "0", "noarch", condatest.Conda)); r.status != 201 {
		t.Errorf("upload to one's own channel: %d %s", r.status, r.body)
	}
	// The API confirmation and resend work too.
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "dave", "email": "dave@example.com", "password": "amber morning passphrase"}, 202)
	e.mustDo("POST", "/api/v1/account/verify/resend", "", map[string]string{"email": "dave@example.com"}, 202)
	_, tok2 := e.lastLink("dave@example.com")
	e.mustDo("POST", "/api/v1/account/verify", "", map[string]string{"token": tok2}, 200)
	e.mustDo("GET", "/api/v1/user", "dave:amber morning passphrase", nil, 200)
}

// Sign-up and reset answer byte for byte the same whether or not an account has the address.
func TestNoAccountEnumeration(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupOpen))
	e.users(bob) // bob@example.com
	existing := e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "bob2", "email": "bob@example.com", "password": "a fine long passphrase"}, 202)
	fresh := e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "newbie", "email": "newbie@example.com", "password": "a fine long passphrase"}, 202)
	if !bytes.Equal(existing.body, fresh.body) {
		t.Errorf("sign-up answers differ:\n%s\n%s", existing.body, fresh.body)
	}
	if ms := e.mails(); len(ms) != 2 || !strings.Contains(e.lastMailTo("bob@example.com").Subject, "tried to sign up") {
		t.Errorf("bob was not told of the attempt: %+v", ms)
	}
	if _, err := e.store.UserByName(t.Context(), "bob2"); err == nil {
		t.Error("a second account was made for bob's address")
	}
	a := e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": "bob@example.com"}, 202)
	b := e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": "nobody@example.com"}, 202)
	if !bytes.Equal(a.body, b.body) || a.header.Get("Content-Length") != b.header.Get("Content-Length") {
		t.Errorf("reset answers differ:\n%s\n%s", a.body, b.body)
	}
	c := e.mustDo("POST", "/api/v1/account/verify/resend", "", map[string]string{"email": "bob@example.com"}, 202)
	d := e.mustDo("POST", "/api/v1/account/verify/resend", "", map[string]string{"email": "nobody@example.com"}, 202)
	if !bytes.Equal(c.body, d.body) {
		t.Errorf("resend answers differ:\n%s\n%s", c.body, d.body)
	}
	// An unknown user and a wrong password get the same refusal.
	u := e.do("GET", "/api/v1/user", "nobody:whatever-password", nil)
	w := e.do("GET", "/api/v1/user", "bob:whatever-password", nil)
	if u.status != 401 || w.status != 401 || !bytes.Equal(scrubID(u.body), scrubID(w.body)) {
		t.Errorf("unknown user %d %s vs wrong password %d %s", u.status, u.body, w.status, w.body)
	}
}

var requestIDField = regexp.MustCompile(`"request_id":"[0-9a-f]+"`)

func scrubID(b []byte) []byte { return requestIDField.ReplaceAll(b, nil) }

func TestSignupRefusals(t *testing.T) {
	closed := newEnv(t, backends[0])
	closed.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": "a fine long passphrase"}, 403)

	e := newEnv(t, backends[0], signupMode(server.SignupOpen))
	e.users(bob)
	for _, c := range []struct {
		name, user, email, password string
		want                        int
		says                        string
	}{
		{"reserved name", "api", "x@example.com", "a fine long passphrase", 400, "reserved"},
		{"upper case", "Carol", "x@example.com", "a fine long passphrase", 400, "lowercase"},
		{"name of a channel or user", "bob", "x@example.com", "a fine long passphrase", 409, "a user, an organization"},
		{"bad address", "carol", "carol", "a fine long passphrase", 400, "email address"},
		{"short password", "carol", "x@example.com", "short", 400, "at least 8"},
		{"common password", "carol", "x@example.com", "password1", 400, "common"},
		{"password holds the name", "carol", "x@example.com", "xxcarolxx-long", 400, "name"},
	} {
		r := e.do("POST", "/api/v1/signup", "", []byte(`{"username":"`+c.user+`","email":"`+c.email+`","password":"`+c.password+`"}`), "Content-Type", "application/json")
		if r.status != c.want || !strings.Contains(strings.ToLower(string(r.body)), c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, r.status, r.body, c.want, c.says)
		}
	}
	// Long passwords and any characters are fine; nothing is truncated.
	long := strings.Repeat("ü", 64) + " and more"
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": long}, 202)
	_, tok := e.lastLink("carol@example.com")
	e.mustDo("POST", "/api/v1/account/verify", "", map[string]string{"token": tok}, 200)
	e.mustDo("GET", "/api/v1/user", "carol:"+long, nil, 200)
	e.mustDo("GET", "/api/v1/user", "carol:"+long[:len(long)-1], nil, 401)
}

func TestInvitations(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupInvite))
	e.users(bob)
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": "a fine long passphrase"}, 403)
	e.mustDo("POST", "/api/v1/invites", bob, map[string]string{"email": "carol@example.com"}, 403)
	e.mustDo("POST", "/api/v1/invites", "", map[string]string{"email": "carol@example.com"}, 401)
	e.mustDo("POST", "/api/v1/invites", admin, map[string]string{"email": "carol@example.com"}, 202)
	ms := e.mails()
	m := regexp.MustCompile(`--invite ([A-Za-z0-9_-]+)`).FindStringSubmatch(ms[len(ms)-1].Text)
	if m == nil {
		t.Fatalf("invitation mail: %+v", ms[len(ms)-1])
	}
	bad := map[string]string{"username": "carol", "email": "carol@example.com", "password": "a fine long passphrase", "invite": "not-a-real-invitation"}
	e.mustDo("POST", "/api/v1/signup", "", bad, 403)
	// A refused sign-up leaves the invitation good.
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "bob", "email": "carol@example.com", "password": "a fine long passphrase", "invite": m[1]}, 409)
	ok := map[string]string{"username": "carol", "email": "carol@example.com", "password": "a fine long passphrase", "invite": m[1]}
	e.mustDo("POST", "/api/v1/signup", "", ok, 201)
	// The invitation reached the address, so the account is active at once.
	e.mustDo("GET", "/api/v1/user", "carol:a fine long passphrase", nil, 200)
	ok["username"] = "carol2"
	e.mustDo("POST", "/api/v1/signup", "", ok, 403)
}

func TestPasswordResetAndChange(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(bob)
	e.mustDo("GET", "/api/v1/user", bob, nil, 200)
	e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": "bob@example.com"}, 202)
	_, first := e.lastLink("bob@example.com")
	e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": "bob@example.com"}, 202)
	path, tok := e.lastLink("bob@example.com")
	if path != "/account/reset" || tok == first {
		t.Fatalf("reset link %s %s", path, tok)
	}
	if r := e.do("GET", path+"?token="+tok, "", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`type="password"`)) {
		t.Fatalf("reset page: %d %s", r.status, r.body)
	}
	e.mustDo("GET", "/api/v1/user", bob, nil, 200) // opening the page changed nothing
	// A refused password leaves the link good.
	if r := e.form("/account/reset", url.Values{"token": {tok}, "password": {"12345678"}}); r.status != 400 || !bytes.Contains(r.body, []byte("common")) {
		t.Errorf("common password: %d %s", r.status, r.body)
	}
	if r := e.form("/account/reset", url.Values{"token": {tok}, "password": {"brand new passphrase 42"}}); r.status != 200 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	e.mustDo("GET", "/api/v1/user", bob, nil, 401) // the old password, remembered before, is gone
	const newBob = "bob:brand new passphrase 42"
	e.mustDo("GET", "/api/v1/user", newBob, nil, 200)
	e.mustDo("POST", "/api/v1/password-reset/confirm", "", map[string]string{"token": tok, "password": "yet another passphrase"}, 400)
	// The earlier link died with the change.
	e.mustDo("POST", "/api/v1/password-reset/confirm", "", map[string]string{"token": first, "password": "yet another passphrase"}, 400)

	// Change: needs the old password.
	e.mustDo("PUT", "/api/v1/user/password", newBob, map[string]string{"old_password": "wrong", "new_password": "the third passphrase"}, 403)
	e.mustDo("PUT", "/api/v1/user/password", "", map[string]string{"old_password": "x", "new_password": "the third passphrase"}, 401)
	e.mustDo("PUT", "/api/v1/user/password", newBob, map[string]string{"old_password": "brand new passphrase 42", "new_password": "bob"}, 400)
	e.mustDo("PUT", "/api/v1/user/password", newBob, map[string]string{"old_password": "brand new passphrase 42", "new_password": "the third passphrase"}, 204)
	e.mustDo("GET", "/api/v1/user", newBob, nil, 401)
	e.mustDo("GET", "/api/v1/user", "bob:the third passphrase", nil, 200)
	// A reset link from before a change is dead too.
	e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": "bob@example.com"}, 202)
	_, late := e.lastLink("bob@example.com")
	e.mustDo("PUT", "/api/v1/user/password", "bob:the third passphrase", map[string]string{"old_password": "the third passphrase", "new_password": "the fourth passphrase"}, 204)
	e.mustDo("POST", "/api/v1/password-reset/confirm", "", map[string]string{"token": late, "password": "a fifth passphrase"}, 400)
}

func TestFailedSignInsAreRateLimited(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.Logins = ratelimit.NewLogins(ratelimit.Config{
			PerAccount: ratelimit.Limit{Burst: 3, Interval: time.Minute},
			PerAddress: ratelimit.Limit{Burst: 100, Interval: time.Second},
		})
	})
	e.users(bob, eve)
	// Correct credentials never spend the budget.
	for range 10 {
		e.mustDo("GET", "/api/v1/user", bob, nil, 200)
	}
	for range 3 {
		e.mustDo("GET", "/api/v1/user", "bob:guess", nil, 401)
	}
	r := e.do("GET", "/api/v1/user", bob, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: %d, Retry-After %q; want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	// Unknown accounts are limited the same way; other accounts are not held up.
	for range 3 {
		e.mustDo("GET", "/api/v1/user", "ghost:guess", nil, 401)
	}
	e.mustDo("GET", "/api/v1/user", "ghost:guess", nil, 429)
	e.mustDo("GET", "/api/v1/user", eve, nil, 200)
	// The password change counts failures too.
	for range 3 {
		e.mustDo("PUT", "/api/v1/user/password", eve, map[string]string{"old_password": "nope", "new_password": "a new passphrase for e"}, 403)
	}
	e.mustDo("PUT", "/api/v1/user/password", eve, map[string]string{"old_password": "eve-is-not-a-member", "new_password": "a new passphrase for e"}, 429)
}

func TestAdminManagesAccounts(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(bob)
	e.mustDo("GET", "/api/v1/users", bob, nil, 403)
	e.mustDo("GET", "/api/v1/users", "", nil, 401)
	e.mustDo("POST", "/api/v1/users", bob, map[string]any{"name": "x", "email": "x@example.com"}, 403)
	var created struct {
		User     struct{ Name string }
		Password string
	}
	e.mustDo("POST", "/api/v1/users", admin, map[string]any{"name": "frank", "email": "frank@example.com"}, 201).json(t, &created)
	if created.User.Name != "frank" || len(created.Password) < 16 {
		t.Fatalf("created = %+v", created)
	}
	e.mustDo("GET", "/api/v1/user", "frank:"+created.Password, nil, 200) // admin-made accounts need no confirmation
	var users []struct{ Name string }
	e.mustDo("GET", "/api/v1/users", admin, nil, 200).json(t, &users)
	if len(users) != 3 {
		t.Errorf("users = %+v", users)
	}
	e.mustDo("PATCH", "/api/v1/users/frank", admin, map[string]bool{"admin": true}, 200)
	e.mustDo("GET", "/api/v1/users", "frank:"+created.Password, nil, 200)
	e.mustDo("PATCH", "/api/v1/users/nobody", admin, map[string]bool{"admin": true}, 404)
}

// Anyone may ask for mail; each address and each client gets a few, then 429, the same for
// addresses with and without accounts.
func TestMailRequestsAreRateLimited(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(bob)
	for _, addr := range []string{"bob@example.com", "nobody@example.com"} {
		for range 5 { // security.md: 5 resets a day
			e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": addr}, 202)
		}
		r := e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": addr}, 429)
		if r.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		e.mustDo("POST", "/api/v1/account/verify/resend", "", map[string]string{"email": addr}, 429)
	}
	if n := len(e.mails()); n != 5 {
		t.Errorf("%d mails sent, want 5 (to bob only)", n)
	}
}
