package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// fullWidth writes an ASCII string in full-width forms, as some keyboards and input methods
// type it: "pass 12" is "ｐａｓｓ　１２".
func fullWidth(s string) string {
	r := []rune(s)
	for i, c := range r {
		switch {
		case c == ' ':
			r[i] = '\u3000'
		case c > ' ' && c <= '~':
			r[i] = c - '!' + '\uff01'
		}
	}
	return string(r)
}

// hashAsTyped is an argon2id hash of a password as it was typed, made the way Wharf made
// them before passwords were normalized (the same parameters and PHC string).
func hashAsTyped(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 2, 19*1024, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 19*1024, 2, 1, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// A password is one password however it was typed (NIST SP 800-63B 5.1.1.2: NFKC): set in
// full-width forms wherever passwords are set, it signs in in ASCII wherever they are checked,
// and the other way round. An account whose hash was made before, from the form as typed,
// still signs in with that form, and from then on with the others too.
func TestPasswordsAreNormalized(t *testing.T) {
	e := newEnv(t, backends[0], signupMode(server.SignupOpen))
	signsIn := func(name, password string) bool {
		t.Helper()
		return e.do("GET", "/api/v1/user", "", nil, "Authorization", "Basic "+encodeBase64(name+":"+password)).status == http.StatusOK
	}
	webSignsIn := func(name, password string) bool {
		t.Helper()
		return e.browser().post("/login", url.Values{"username": {name}, "password": {password}, "next": {"/"}}).status == http.StatusSeeOther
	}

	// Administrator's create.
	const first = "first secret 1234"
	e.mustDo("POST", "/api/v1/users", admin, map[string]any{"name": "fw", "email": "fw@example.com", "password": fullWidth(first)}, 201)
	if !signsIn("fw", first) || !webSignsIn("fw", first) || !signsIn("fw", fullWidth(first)) {
		t.Error("a password set in full-width forms by an administrator does not sign in in ASCII (API, web) or in full width")
	}
	// Change: ASCII old password, full-width new one.
	const second = "second secret 5678"
	e.mustDo("PUT", "/api/v1/user/password", "fw:"+first, map[string]string{"old_password": fullWidth(first), "new_password": fullWidth(second)}, 204)
	if !signsIn("fw", second) {
		t.Error("a password changed to full-width forms does not sign in in ASCII")
	}
	// Reset.
	const third = "third secret 9012"
	e.mustDo("POST", "/api/v1/password-reset", "", map[string]string{"email": "fw@example.com"}, 202)
	_, tok := e.lastLink("fw@example.com")
	e.mustDo("POST", "/api/v1/password-reset/confirm", "", map[string]string{"token": tok, "password": fullWidth(third)}, 204)
	if !signsIn("fw", third) || signsIn("fw", second) {
		t.Error("a password reset to full-width forms does not sign in in ASCII, or the old one still does")
	}
	// Sign-up, in ASCII; sign-in in full width.
	const fourth = "fourth secret 3456"
	e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "su", "email": "su@example.com", "password": fourth}, 202)
	_, tok = e.lastLink("su@example.com")
	e.mustDo("POST", "/api/v1/account/verify", "", map[string]string{"token": tok}, 200)
	if !signsIn("su", fullWidth(fourth)) || !webSignsIn("su", fullWidth(fourth)) {
		t.Error("a password chosen in ASCII at sign-up does not sign in in full width")
	}
	// The policy judges what is hashed: full-width "password1" is a common password.
	if r := e.mustDo("POST", "/api/v1/users", admin, map[string]any{"name": "weak", "email": "weak@example.com", "password": fullWidth("password1")}, 400); !contains(r.body, "common") {
		t.Errorf("full-width password1: %s", r.body)
	}

	// Accounts hashed before: the form as typed signs in (Basic, the web), and the hash is
	// then replaced by one of the normalized form, so that ASCII signs in too.
	const old = "an older secret 77"
	for _, tc := range []struct {
		name    string
		signsIn func(name, password string) bool
	}{{"legacy-basic", signsIn}, {"legacy-web", webSignsIn}} {
		legacy := hashAsTyped(fullWidth(old))
		u, err := e.store.CreateUser(t.Context(), store.NewUser{Name: tc.name, Email: tc.name + "@example.com", EmailVerified: true, PasswordHash: legacy})
		if err != nil {
			t.Fatal(err)
		}
		if !tc.signsIn(tc.name, fullWidth(old)) {
			t.Errorf("%s: the password as typed when it was set does not sign in", tc.name)
		}
		if got, _ := e.store.UserByID(t.Context(), u.ID); got.PasswordHash == legacy {
			t.Errorf("%s: the hash from before normalization is still there after a sign-in", tc.name)
		}
		if !tc.signsIn(tc.name, old) || !tc.signsIn(tc.name, fullWidth(old)) {
			t.Errorf("%s: after the rehash, the ASCII or the full-width form does not sign in", tc.name)
		}
	}
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
