package client

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/token"
)

func newTestToken(t *testing.T) string {
	t.Helper()
	tok, err := token.New(token.KindScope, token.StrongLen)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeTokenAPI is a stand-in for the server's token routes: it records the last request and
// answers with a fixed body.
type fakeTokenAPI struct {
	method, uri, body, auth string
	status                  int
	answer                  string
}

func (f *fakeTokenAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.method, f.uri, f.body, f.auth = r.Method, r.URL.RequestURI(), string(b), r.Header.Get("Authorization")
	w.Header().Set("Content-Type", "application/json")
	if f.status != 0 {
		w.WriteHeader(f.status)
	}
	io.WriteString(w, f.answer)
}

// TestRequestsOfTheTokenAPI checks the method, path, query, body and credentials each token
// call sends.
func TestRequestsOfTheTokenAPI(t *testing.T) {
	fake := &fakeTokenAPI{answer: `null`}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	tok := newTestToken(t)
	c := New(hs.URL, "", "")
	c.Token = tok
	type sent struct{ method, uri, body, auth string }
	cases := []struct {
		name string
		call func(ctx context.Context) error
		want sent
	}{
		{"scopes, without credentials", func(ctx context.Context) error { _, err := c.Scopes(ctx); return err },
			sent{"GET", "/api/v1/scopes", "", ""}},
		{"create, every field", func(ctx context.Context) error {
			_, _, err := c.CreateToken(ctx, NewToken{Name: "ci", Description: "for CI", Scopes: []string{"repos", "conda:download"},
				Resources: []TokenResource{{Channel: "acme", Level: "read"}}, Expires: "30d", Strength: "weak", Org: "acme-labs"})
			return err
		}, sent{"POST", "/api/v1/tokens", `{"name":"ci","description":"for CI","scopes":["repos","conda:download"],
			"resources":[{"channel":"acme","level":"read"}],"expires":"30d","strength":"weak","org":"acme-labs"}`, "token " + tok}},
		{"create, only a name", func(ctx context.Context) error { _, _, err := c.CreateToken(ctx, NewToken{Name: "ci"}); return err },
			sent{"POST", "/api/v1/tokens", `{"name":"ci"}`, "token " + tok}},
		{"list", func(ctx context.Context) error { _, err := c.Tokens(ctx, ""); return err },
			sent{"GET", "/api/v1/tokens", "", "token " + tok}},
		{"list an org's", func(ctx context.Context) error { _, err := c.Tokens(ctx, "acme-labs"); return err },
			sent{"GET", "/api/v1/tokens?org=acme-labs", "", "token " + tok}},
		{"current", func(ctx context.Context) error { _, err := c.CurrentToken(ctx); return err },
			sent{"GET", "/api/v1/tokens/current", "", "token " + tok}},
		{"rename and extend", func(ctx context.Context) error {
			_, _, err := c.EditToken(ctx, "ci", "", TokenEdit{Name: "ci-2", Expires: "90d"})
			return err
		}, sent{"PATCH", "/api/v1/tokens/ci", `{"name":"ci-2","expires":"90d"}`, "token " + tok}},
		{"reissue an org's, by id", func(ctx context.Context) error {
			_, _, err := c.EditToken(ctx, "12", "acme-labs", TokenEdit{Reissue: true})
			return err
		}, sent{"PATCH", "/api/v1/tokens/12?org=acme-labs", `{"reissue":true}`, "token " + tok}},
		{"remove, a name that needs escaping", func(ctx context.Context) error { return c.RemoveToken(ctx, "ci/x y", "") },
			sent{"DELETE", "/api/v1/tokens/ci%2Fx%20y", "", "token " + tok}},
		{"remove an org's", func(ctx context.Context) error { return c.RemoveToken(ctx, "ci", "acme-labs") },
			sent{"DELETE", "/api/v1/tokens/ci?org=acme-labs", "", "token " + tok}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			*fake = fakeTokenAPI{answer: `null`}
			if err := tc.call(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := sent{fake.method, fake.uri, fake.body, fake.auth}
			if got.method != tc.want.method || got.uri != tc.want.uri || got.auth != tc.want.auth || !sameJSON(got.body, tc.want.body) {
				t.Errorf("sent %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTokenWinsOverPasswordAndBasicIsTheFallback(t *testing.T) {
	fake := &fakeTokenAPI{answer: `[]`}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	tok := newTestToken(t)

	c := New(hs.URL, "alice", "pw")
	if _, err := c.Tokens(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")); fake.auth != want {
		t.Errorf("without a token: Authorization %q, want %q", fake.auth, want)
	}
	c.Token = tok
	if _, err := c.Tokens(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if fake.auth != "token "+tok {
		t.Errorf("with a token: Authorization %q, want the token scheme", fake.auth)
	}
}

func TestTokenAnswersAreDecoded(t *testing.T) {
	info := `{"id":12,"name":"ci","description":"for CI","owner":"acme-labs","org":true,"kind":"resource","scopes":[],
		"resources":[{"channel":"acme","level":"read"}],"strength":"strong","created_at":"2026-01-31T10:00:00Z",
		"expires_at":"2027-01-31T10:00:00Z","last_used_at":null}`
	fake := &fakeTokenAPI{}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	c := New(hs.URL, "alice", "pw")
	want := TokenInfo{ID: 12, Name: "ci", Description: "for CI", Owner: "acme-labs", Org: true, Kind: "resource", Scopes: []string{},
		Resources: []TokenResource{{Channel: "acme", Level: "read"}}, Strength: "strong",
		CreatedAt: time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)}

	fake.status, fake.answer = http.StatusCreated, `{"token":"wrfr-secret","info":`+info+`}`
	secret, got, err := c.CreateToken(t.Context(), NewToken{Name: "ci"})
	if err != nil || secret != "wrfr-secret" {
		t.Fatalf("CreateToken = %q, %v", secret, err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CreateToken info (-want +got):\n%s", d)
	}

	fake.status, fake.answer = http.StatusOK, `{"info":`+info+`}`
	got, secret, err = c.EditToken(t.Context(), "ci", "", TokenEdit{Name: "ci"})
	if err != nil || secret != "" || got.ID != 12 {
		t.Errorf("EditToken without reissue = %+v, %q, %v; want no secret", got, secret, err)
	}

	fake.status, fake.answer = http.StatusOK, `[{"scope":"conda:download","description":"see and download conda packages","actions":["artifact:download"]}]`
	scopes, err := c.Scopes(t.Context())
	if d := cmp.Diff([]Scope{{Scope: "conda:download", Description: "see and download conda packages", Actions: []string{"artifact:download"}}}, scopes); err != nil || d != "" {
		t.Errorf("Scopes: %v (-want +got):\n%s", err, d)
	}

	fake.status, fake.answer = http.StatusNoContent, ""
	if err := c.RemoveToken(t.Context(), "ci", ""); err != nil {
		t.Errorf("RemoveToken answered 204: %v", err)
	}
}

// TestErrorsNeverShowAToken: whatever the server or the network says, the client's own token
// and anything shaped like a token are taken out of the error.
func TestErrorsNeverShowAToken(t *testing.T) {
	tok := newTestToken(t)
	other := newTestToken(t)
	fake := &fakeTokenAPI{status: http.StatusUnauthorized,
		answer: `{"error":{"code":"unauthorized","message":"token ` + tok + ` refused; and ` + other + ` and /t/` + other[:10] + `/x"}}`}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	c := New(hs.URL, "", "")
	c.Token = tok
	_, err := c.CurrentToken(t.Context())
	if err == nil {
		t.Fatal("a 401 was not an error")
	}
	msg := err.Error()
	for _, secret := range []string{tok, other, other[:10], tok[5:]} {
		if strings.Contains(msg, secret) {
			t.Errorf("error shows a secret: %s", msg)
		}
	}
	if !strings.Contains(msg, "WHARF_TOKEN") {
		t.Errorf("401 with a token: %s; want a hint about the token", msg)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("%T %v; want an *APIError with status 401", err, err)
	}

	// A server URL with the token in it, unreachable.
	c = New("http://127.0.0.1:1/t/"+tok, "", "")
	c.Token = "not-a-wharf-token-but-secret"
	_, err = c.Tokens(t.Context(), "")
	if err == nil || strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), c.Token) {
		t.Errorf("unreachable server: %v; want an error without the token", err)
	}
}

func TestForbiddenWithATokenSaysSo(t *testing.T) {
	fake := &fakeTokenAPI{status: http.StatusForbidden, answer: `{"error":{"code":"forbidden","message":"the token may not do this"}}`}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	c := New(hs.URL, "alice", "pw")
	c.Token = newTestToken(t)
	_, err := c.Tokens(t.Context(), "")
	if err == nil || !strings.Contains(err.Error(), "with a token on "+hs.URL) || strings.Contains(err.Error(), "alice") {
		t.Errorf("403 with a token: %v; want it to say a token was used, not alice", err)
	}
}

func TestMissingTokenPointsAtTheList(t *testing.T) {
	fake := &fakeTokenAPI{status: http.StatusNotFound, answer: `{"error":{"code":"not_found","message":"token \"nope\" not found"}}`}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	err := New(hs.URL, "alice", "pw").RemoveToken(t.Context(), "nope", "")
	if err == nil || !strings.Contains(err.Error(), "wharf auth --list") {
		t.Errorf("missing token: %v; want a hint to list the tokens", err)
	}
}
