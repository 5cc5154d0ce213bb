package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wharfhq/wharf/internal/api"
)

// TestRequestsOfTheAccessAPI checks the method, path, query and body each call sends.
func TestRequestsOfTheAccessAPI(t *testing.T) {
	type sent struct{ method, uri, body string }
	var got sent
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = sent{r.Method, r.URL.RequestURI(), string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`null`)) // decodes into any answer type
	}))
	defer hs.Close()
	c := New(hs.URL, "alice", "pw")
	yes := true
	cases := []struct {
		name string
		call func(ctx context.Context) error
		want sent
	}{
		{"signup", func(ctx context.Context) error {
			_, _, err := c.Signup(ctx, Signup{Username: "carol", Email: "c@example.com", Password: "p w", Invite: "inv"})
			return err
		}, sent{"POST", "/api/v1/signup", `{"username":"carol","email":"c@example.com","password":"p w","invite":"inv"}`}},
		{"verify", func(ctx context.Context) error { _, err := c.VerifyEmail(ctx, "tok"); return err },
			sent{"POST", "/api/v1/account/verify", `{"token":"tok"}`}},
		{"resend", func(ctx context.Context) error { _, err := c.ResendVerification(ctx, "c@example.com"); return err },
			sent{"POST", "/api/v1/account/verify/resend", `{"email":"c@example.com"}`}},
		{"reset", func(ctx context.Context) error { _, err := c.RequestPasswordReset(ctx, "c@example.com"); return err },
			sent{"POST", "/api/v1/password-reset", `{"email":"c@example.com"}`}},
		{"reset confirm", func(ctx context.Context) error { return c.ConfirmPasswordReset(ctx, "tok", "new") },
			sent{"POST", "/api/v1/password-reset/confirm", `{"password":"new","token":"tok"}`}},
		{"change password", func(ctx context.Context) error { return c.ChangePassword(ctx, "old", "new") },
			sent{"PUT", "/api/v1/user/password", `{"new_password":"new","old_password":"old"}`}},
		{"users", func(ctx context.Context) error { _, err := c.Users(ctx); return err }, sent{"GET", "/api/v1/users", ""}},
		{"create user", func(ctx context.Context) error {
			_, _, err := c.CreateUser(ctx, NewUser{Name: "dave", Email: "d@example.com"})
			return err
		}, sent{"POST", "/api/v1/users", `{"name":"dave","email":"d@example.com","admin":false}`}},
		{"disable user", func(ctx context.Context) error {
			_, err := c.UpdateUser(ctx, "dave", UserUpdate{Disabled: &yes})
			return err
		},
			sent{"PATCH", "/api/v1/users/dave", `{"disabled":true}`}},
		{"invite", func(ctx context.Context) error { _, err := c.Invite(ctx, "f@example.com"); return err },
			sent{"POST", "/api/v1/invites", `{"email":"f@example.com"}`}},
		{"create org", func(ctx context.Context) error { _, err := c.CreateOrg(ctx, "acme"); return err },
			sent{"POST", "/api/v1/orgs", `{"name":"acme"}`}},
		{"org history", func(ctx context.Context) error { _, err := c.OrgHistory(ctx, "acme", 5); return err },
			sent{"GET", "/api/v1/orgs/acme/history?limit=5", ""}},
		{"set member", func(ctx context.Context) error { _, err := c.SetOrgMember(ctx, "acme", "bob", "owner"); return err },
			sent{"PUT", "/api/v1/orgs/acme/members/bob", `{"role":"owner"}`}},
		{"remove member", func(ctx context.Context) error { return c.RemoveOrgMember(ctx, "acme", "bob") },
			sent{"DELETE", "/api/v1/orgs/acme/members/bob", ""}},
		{"create group", func(ctx context.Context) error { _, err := c.CreateGroup(ctx, "acme", "devs"); return err },
			sent{"POST", "/api/v1/orgs/acme/groups", `{"name":"devs"}`}},
		{"add to group", func(ctx context.Context) error { _, err := c.AddGroupMember(ctx, "acme", "devs", "bob"); return err },
			sent{"PUT", "/api/v1/orgs/acme/groups/devs/members/bob", ""}},
		{"grant on a package", func(ctx context.Context) error {
			_, err := c.SetGrant(ctx, "acme", "devs", "acme/dev", "demo", "write")
			return err
		}, sent{"PUT", "/api/v1/orgs/acme/groups/devs/grants", `{"channel":"acme/dev","level":"write","package":"demo"}`}},
		{"revoke on a channel", func(ctx context.Context) error { return c.RemoveGrant(ctx, "acme", "devs", "acme/dev", "") },
			sent{"DELETE", "/api/v1/orgs/acme/groups/devs/grants?channel=acme%2Fdev", ""}},
		{"channel in an org", func(ctx context.Context) error {
			_, err := c.CreateChannel(ctx, api.NewChannelRequest{Name: "tools", Private: true, Org: "acme"})
			return err
		}, sent{"POST", "/api/v1/channels", `{"name":"tools","private":true,"org":"acme"}`}},
		{"private subchannel", func(ctx context.Context) error { _, err := c.SetChannelPrivate(ctx, "acme/dev", true); return err },
			sent{"PATCH", "/api/v1/channels/acme%2Fdev", `{"private":true}`}},
		{"public package", func(ctx context.Context) error { _, err := c.SetPackagePrivate(ctx, "acme", "demo", false); return err },
			sent{"PATCH", "/api/v1/channels/acme/packages/demo", `{"private":false}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = sent{}
			if err := tc.call(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got.method != tc.want.method || got.uri != tc.want.uri || !sameJSON(got.body, tc.want.body) {
				t.Errorf("sent %s %s %s\nwant %s %s %s", got.method, got.uri, got.body, tc.want.method, tc.want.uri, tc.want.body)
			}
		})
	}
}

func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ax, _ := json.Marshal(x)
	bx, _ := json.Marshal(y)
	return string(ax) == string(bx)
}

func TestSignupTellsAnActiveAccountFromAMailedLink(t *testing.T) {
	status := http.StatusAccepted
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"message":"m"}`))
	}))
	defer hs.Close()
	c := New(hs.URL, "", "")
	for _, tc := range []struct {
		status int
		active bool
	}{{http.StatusAccepted, false}, {http.StatusCreated, true}} {
		status = tc.status
		msg, active, err := c.Signup(t.Context(), Signup{Username: "carol"})
		if err != nil || msg != "m" || active != tc.active {
			t.Errorf("status %d: Signup = %q, %v, %v; want active %v", tc.status, msg, active, err, tc.active)
		}
	}
}
