package storetest

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	now := time.Now()
	exp := now.Add(time.Hour).UTC().Truncate(time.Microsecond)
	a1, err := s.CreateSession(ctx, store.Session{Hash: "a1", UserID: alice.ID, ExpiresAt: exp, UserAgent: "firefox", Addr: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID == 0 || a1.UserID != alice.ID || !a1.ExpiresAt.Equal(exp) || a1.CreatedAt.IsZero() || a1.UserAgent != "firefox" || a1.Addr != "10.0.0.1" {
		t.Errorf("created = %+v", a1)
	}
	a2, _ := s.CreateSession(ctx, store.Session{Hash: "a2", UserID: alice.ID, ExpiresAt: exp})
	b1, _ := s.CreateSession(ctx, store.Session{Hash: "b1", UserID: bob.ID, ExpiresAt: exp})
	if _, err := s.CreateSession(ctx, store.Session{Hash: "a1", UserID: bob.ID, ExpiresAt: exp}); err == nil {
		t.Error("two sessions with one hash")
	}
	if got, err := s.SessionByHash(ctx, "a1", now); err != nil || got.ID != a1.ID {
		t.Errorf("SessionByHash(a1) = %+v, %v", got, err)
	}
	if _, err := s.SessionByHash(ctx, "a1", exp); !store.IsNotFound(err) {
		t.Errorf("SessionByHash at its expiry: %v, want not found", err)
	}
	if _, err := s.SessionByHash(ctx, "nope", now); !store.IsNotFound(err) {
		t.Errorf("SessionByHash(nope) = %v", err)
	}
	seen := now.Add(time.Minute).UTC().Truncate(time.Microsecond)
	if err := s.TouchSession(ctx, a1.ID, seen); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SessionByHash(ctx, "a1", now); !got.LastSeenAt.Equal(seen) {
		t.Errorf("last seen = %v, want %v", got.LastSeenAt, seen)
	}
	list, err := s.Sessions(ctx, alice.ID, now)
	if err != nil || len(list) != 2 || list[0].ID != a2.ID || list[1].ID != a1.ID {
		t.Errorf("alice's sessions = %+v, %v; want a2, a1", list, err)
	}
	// One user cannot end another's session.
	if err := s.DeleteSession(ctx, alice.ID, b1.ID); !store.IsNotFound(err) {
		t.Errorf("alice ends bob's session: %v, want not found", err)
	}
	if n, err := s.DeleteSessions(ctx, alice.ID, a2.ID); err != nil || n != 1 {
		t.Errorf("DeleteSessions(keep a2) = %d, %v; want 1", n, err)
	}
	if _, err := s.SessionByHash(ctx, "a1", now); !store.IsNotFound(err) {
		t.Errorf("a1 after ending the others: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "a2", now); err != nil {
		t.Errorf("the kept session: %v", err)
	}
	if err := s.DeleteSession(ctx, alice.ID, a2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "b1", now); err != nil {
		t.Errorf("bob's session went with alice's: %v", err)
	}

	// A new password or a disabled account ends every session of the account.
	s.CreateSession(ctx, store.Session{Hash: "a3", UserID: alice.ID, ExpiresAt: exp})
	pw := "new"
	if _, err := s.UpdateUser(ctx, alice.ID, store.UserUpdate{PasswordHash: &pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "a3", now); !store.IsNotFound(err) {
		t.Errorf("session after a password change: %v", err)
	}
	yes, no := true, false
	if _, err := s.UpdateUser(ctx, bob.ID, store.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "b1", now); err != nil {
		t.Errorf("enabling an account ended its session: %v", err)
	}
	if _, err := s.UpdateUser(ctx, bob.ID, store.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "b1", now); !store.IsNotFound(err) {
		t.Errorf("session after disabling the account: %v", err)
	}
}

func testSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	if v, ok, err := s.Setting(ctx, "signup"); err != nil || ok || v != "" {
		t.Errorf("unset = %q, %v, %v", v, ok, err)
	}
	for _, want := range []string{"open", "closed"} {
		if err := s.SetSetting(ctx, "signup", want); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := s.Setting(ctx, "signup"); err != nil || !ok || v != want {
			t.Errorf("after setting %q: %q, %v, %v", want, v, ok, err)
		}
	}
}
