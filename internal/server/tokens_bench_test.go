package server

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/token"
)

// BenchmarkTokenCheck is what identifying a request costs with a token that was used before
// (cached): parsing, the checksum, the hash, the cache, the owner's grants.
//
//	go test -run '^$' -bench TokenCheck -benchmem ./internal/server/
func BenchmarkTokenCheck(b *testing.B) {
	var cs *callCounter
	s, u, _, secret := benchServer(b, filepath.Join(b.TempDir(), "wharf.db"), func(st store.Store) store.Store {
		cs = &callCounter{Store: st}
		return cs
	}, "conda:download")
	r := httptest.NewRequest("GET", "/conda/bob/noarch/repodata.json", nil)
	r.Header.Set("Authorization", "token "+secret)
	if p, err := s.identify(r); err != nil || p.UserID != u.ID {
		b.Fatalf("identify = %+v, %v", p, err)
	}
	cs.calls.Store(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.identify(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cs.calls.Load())/float64(b.N), "store-calls/op")
}

// callCounter counts the store calls identifying a token can make.
type callCounter struct {
	store.Store
	calls atomic.Int64
}

func (c *callCounter) TokenByHash(ctx context.Context, h string) (store.Token, error) {
	c.calls.Add(1)
	return c.Store.TokenByHash(ctx, h)
}

func (c *callCounter) UserByID(ctx context.Context, id int64) (store.User, error) {
	c.calls.Add(1)
	return c.Store.UserByID(ctx, id)
}

func (c *callCounter) GrantsOf(ctx context.Context, id int64) (access.Grants, error) {
	c.calls.Add(1)
	return c.Store.GrantsOf(ctx, id)
}

// benchServer is a server on the store at dsn (seen through wrap, if not nil) with the
// account bob (password "irrelevant passphrase", its hash returned) and his token ci (with
// scopes, for an hour), whose secret it returns.
func benchServer(b *testing.B, dsn string, wrap func(store.Store) store.Store, scopes ...string) (s *Server, bob store.User, hash, secret string) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bl, err := blob.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var seen store.Store = st
	if wrap != nil {
		seen = wrap(st)
	}
	if s, err = New(seen, bl, Options{TempDir: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	hash, _ = access.HashPassword("irrelevant passphrase")
	if bob, err = st.CreateUser(ctx, store.NewUser{Name: "bob", Email: "bob@example.com", EmailVerified: true, PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	secret, _ = token.New(token.KindScope, token.StrongLen)
	if _, err := st.CreateToken(ctx, store.Token{OwnerUserID: bob.ID, Name: "ci", Hash: token.Hash(secret), Kind: "scope", Strength: "strong",
		Scopes: scopes, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	return s, bob, hash, secret
}
