package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// TestWireFormat pins the JSON of the types the server and the client share: field names,
// omitempty, null against [] and the time format are the API's contract.
func TestWireFormat(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	yes, no := true, false
	cases := []struct {
		v    any
		want string
	}{
		{ScopeInfo{}, `{"scope":"","description":"","actions":null}`},
		{ScopeInfo{"a", "b", []string{"c"}}, `{"scope":"a","description":"b","actions":["c"]}`},
		{ScopeInfo{Actions: []string{}}, `{"scope":"","description":"","actions":[]}`},
		{TokenInfo{}, `{"id":0,"name":"","description":"","owner":"","org":false,"kind":"","scopes":null,"resources":null,"strength":"","created_at":"0001-01-01T00:00:00Z","expires_at":"0001-01-01T00:00:00Z","last_used_at":null}`},
		{TokenInfo{ID: 1, Name: "n", Description: "d", Owner: "o", Org: true, Kind: "k", Scopes: []string{"a"}, Resources: []TokenResource{{"c", "l"}}, Strength: "s", CreatedAt: ts, ExpiresAt: ts, LastUsedAt: &ts},
			`{"id":1,"name":"n","description":"d","owner":"o","org":true,"kind":"k","scopes":["a"],"resources":[{"channel":"c","level":"l"}],"strength":"s","created_at":"2026-01-02T03:04:05.000000006+01:00","expires_at":"2026-01-02T03:04:05.000000006+01:00","last_used_at":"2026-01-02T03:04:05.000000006+01:00"}`},
		{TokenInfo{Scopes: []string{}, Resources: []TokenResource{}}, `{"id":0,"name":"","description":"","owner":"","org":false,"kind":"","scopes":[],"resources":[],"strength":"","created_at":"0001-01-01T00:00:00Z","expires_at":"0001-01-01T00:00:00Z","last_used_at":null}`},
		{NewTokenRequest{}, `{"name":""}`},
		{NewTokenRequest{Scopes: []string{}, Resources: []TokenResource{}}, `{"name":""}`},
		{NewTokenRequest{"n", "d", []string{"a"}, []TokenResource{{"c", "l"}}, "e", "s", "o"},
			`{"name":"n","description":"d","scopes":["a"],"resources":[{"channel":"c","level":"l"}],"expires":"e","strength":"s","org":"o"}`},
		{UserInfo{}, `{"name":"","email":"","email_verified":false,"admin":false,"disabled":false,"created_at":"0001-01-01T00:00:00Z"}`},
		{UserInfo{"n", "e", true, true, true, ts}, `{"name":"n","email":"e","email_verified":true,"admin":true,"disabled":true,"created_at":"2026-01-02T03:04:05.000000006+01:00"}`},
		{SignupRequest{}, `{"username":"","email":"","password":""}`},
		{SignupRequest{"u", "e", "p", "i"}, `{"username":"u","email":"e","password":"p","invite":"i"}`},
		{NewUserRequest{}, `{"name":"","email":"","admin":false}`},
		{NewUserRequest{"n", "e", "p", true}, `{"name":"n","email":"e","password":"p","admin":true}`},
		{UserUpdateRequest{}, `{}`},
		{UserUpdateRequest{&yes, &no}, `{"disabled":true,"admin":false}`},
		{OrgInfo{}, `{"name":"","members":null,"groups":null}`},
		{OrgInfo{Members: []store.Member{}, Groups: []store.Group{}}, `{"name":"","members":[],"groups":[]}`},
		{OrgInfo{Name: "n", Members: []store.Member{{Name: "m", Role: store.RoleOwner}}, Groups: []store.Group{{Name: "g"}}},
			`{"name":"n","members":[{"name":"m","role":"owner"}],"groups":[{"name":"g","members":null,"grants":null}]}`},
		{OrgInfo{Name: "n", Members: []store.Member{{Name: "p", Role: store.RoleMember, Unconfirmed: true}}, Groups: []store.Group{}, Warning: "w"},
			`{"name":"n","members":[{"name":"p","role":"member","unconfirmed":true}],"groups":[],"warning":"w"}`},
		{Warning{"w"}, `{"warning":"w"}`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatalf("%T: %v", tc.v, err)
		}
		if string(b) != tc.want {
			t.Errorf("%T:\n got %s\nwant %s", tc.v, b, tc.want)
		}
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, " 1d ": 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute} {
		if got, ok := ParseLifetime(in); !ok || got != want {
			t.Errorf("ParseLifetime(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0d", "-3d", "d", "36601d", "0s", "-1h", "2027-01-31", "soon"} {
		if got, ok := ParseLifetime(bad); ok {
			t.Errorf("ParseLifetime(%q) = %v; want refused", bad, got)
		}
	}
}
