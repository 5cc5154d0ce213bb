package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/store"
)

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	org, err := s.CreateOrg(ctx, "acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := s.ChannelByName(ctx, "acme")
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	tok := store.Token{OwnerUserID: alice.ID, CreatedBy: alice.ID, Name: "ci", Description: "for CI", Hash: "h1", Kind: "resource", Strength: "strong",
		Scopes: []string{"conda:download"}, Resources: []store.TokenResource{{ChannelID: ch.ID, Level: access.Read}}, ExpiresAt: exp}
	got, err := s.CreateToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || got.CreatedAt.IsZero() || !got.LastUsedAt.IsZero() || !got.ExpiresAt.Equal(exp) {
		t.Errorf("created = %+v", got)
	}
	if diff := cmp.Diff([]store.TokenResource{{ChannelID: ch.ID, Level: access.Read}}, got.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if _, err := s.CreateToken(ctx, store.Token{OwnerUserID: alice.ID, Name: "ci", Hash: "h2", Kind: "scope", Strength: "strong", ExpiresAt: exp}); !store.IsConflict(err) {
		t.Errorf("second ci for alice: %v, want conflict", err)
	}
	// Names are per owner: bob and the org may have a "ci" too.
	if _, err := s.CreateToken(ctx, store.Token{OwnerUserID: bob.ID, Name: "ci", Hash: "h3", Kind: "scope", Strength: "weak", ExpiresAt: exp}); err != nil {
		t.Errorf("bob's ci: %v", err)
	}
	orgTok, err := s.CreateToken(ctx, store.Token{OwnerOrgID: org.ID, CreatedBy: alice.ID, Name: "ci", Hash: "h4", Kind: "scope", Strength: "strong", Scopes: []string{"repos"}, ExpiresAt: exp})
	if err != nil || orgTok.OwnerOrgID != org.ID || orgTok.OwnerUserID != 0 {
		t.Errorf("org's ci: %+v, %v", orgTok, err)
	}
	if _, err := s.CreateToken(ctx, store.Token{Name: "nobody", Hash: "h5", ExpiresAt: exp}); err == nil {
		t.Error("a token without an owner was stored")
	}
	if byHash, err := s.TokenByHash(ctx, "h1"); err != nil || byHash.ID != got.ID {
		t.Errorf("TokenByHash = %+v, %v", byHash, err)
	}
	if _, err := s.TokenByHash(ctx, "nope"); !store.IsNotFound(err) {
		t.Errorf("TokenByHash(nope) = %v", err)
	}
	for _, key := range []string{"ci", fmt.Sprint(got.ID)} {
		if byName, err := s.TokenOf(ctx, alice.ID, 0, key); err != nil || byName.ID != got.ID {
			t.Errorf("TokenOf(alice, %s) = %+v, %v", key, byName, err)
		}
	}
	if _, err := s.TokenOf(ctx, bob.ID, 0, fmt.Sprint(got.ID)); !store.IsNotFound(err) {
		t.Errorf("bob reached alice's token by id: %v", err)
	}
	if list, err := s.Tokens(ctx, 0, org.ID); err != nil || len(list) != 1 || list[0].Name != "ci" {
		t.Errorf("org tokens = %+v, %v", list, err)
	}
	// Rename, extend, reissue.
	name, later, h := "deploy", exp.Add(24*time.Hour), "h1-new"
	up, err := s.UpdateToken(ctx, got.ID, store.TokenUpdate{Name: &name, ExpiresAt: &later, Hash: &h})
	if err != nil || up.Name != "deploy" || !up.ExpiresAt.Equal(later) || up.Hash != "h1-new" || up.ID != got.ID {
		t.Errorf("UpdateToken = %+v, %v", up, err)
	}
	if _, err := s.TokenByHash(ctx, "h1"); !store.IsNotFound(err) {
		t.Errorf("the old secret still finds the token after a reissue: %v", err)
	}
	if _, err := s.CreateToken(ctx, store.Token{OwnerUserID: alice.ID, Name: "other", Hash: "h6", Kind: "scope", Strength: "strong", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	other, _ := s.TokenOf(ctx, alice.ID, 0, "other")
	if _, err := s.UpdateToken(ctx, other.ID, store.TokenUpdate{Name: &name}); !store.IsConflict(err) {
		t.Errorf("rename onto a taken name: %v", err)
	}
	// last_used: batched and never backwards.
	t1 := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.TouchTokens(ctx, map[int64]time.Time{got.ID: t1, other.ID: t1}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchTokens(ctx, map[int64]time.Time{got.ID: t1.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.TokenOf(ctx, alice.ID, 0, "deploy"); !u.LastUsedAt.Equal(t1) {
		t.Errorf("last used = %v, want %v", u.LastUsedAt, t1)
	}
	if err := s.DeleteToken(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, "h1-new"); !store.IsNotFound(err) {
		t.Errorf("a deleted token is found: %v", err)
	}
	if err := s.DeleteToken(ctx, got.ID); !store.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
}

func testAccessEpoch(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, err := s.AccessEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BumpAccessEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := s.AccessEpoch(ctx); err != nil || b != a+1 {
		t.Errorf("epoch after a bump = %d, %v; want %d", b, err, a+1)
	}
}
