package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
	"github.com/wharfhq/wharf/internal/token"
)

// BenchmarkUploadRecheck is what asking an upload's credential again costs (issue 12, item
// 10b), on each store, for a token and for a password: "check" is one check as publish makes
// it before the blob is written; "publish" is AddFile of a new file without a Recheck and with
// one (the check again, in the transaction, FOR SHARE on PostgreSQL). An upload pays one check
// and the difference between the two publishes.
//
//	go test -run '^$' -bench UploadRecheck -benchmem ./internal/server/
func BenchmarkUploadRecheck(b *testing.B) {
	for _, backend := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", func(b testing.TB) string { return filepath.Join(b.TempDir(), "wharf.db") }},
		{"postgres", func(b testing.TB) string { return storetest.Postgres(b) }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			ctx := context.Background()
			s, u, hash, secret := benchServer(b, backend.dsn(b), nil, "conda")
			st := s.store
			ch, err := st.ChannelByName(ctx, "bob")
			if err != nil {
				b.Fatal(err)
			}
			g, err := st.GrantsOf(ctx, u.ID)
			if err != nil {
				b.Fatal(err)
			}
			calls := map[string]*call{
				"token": {principal: access.Principal{UserID: u.ID, Name: "bob", Grants: g, Token: &access.TokenLimits{Scopes: []string{"conda"}, Surface: "api"}},
					channel: ch, cred: credential{tokenHash: token.Hash(secret)}},
				"password": {principal: access.Principal{UserID: u.ID, Name: "bob", Grants: g}, channel: ch,
					cred: credential{userID: u.ID, passwordHash: hash, password: "irrelevant passphrase"}},
			}
			for _, cred := range []string{"token", "password"} {
				check := s.uploadCheck(calls[cred], "tool", "conda")
				b.Run("check/"+cred, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := check(ctx, st); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			i := 0
			for _, tc := range []struct {
				name    string
				recheck func(context.Context, store.AccessReader) error
			}{{"publish/without", nil}, {"publish/token", s.uploadCheck(calls["token"], "tool", "conda")}} {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						i++
						sum := sha256.Sum256(fmt.Append(nil, i))
						sha := hex.EncodeToString(sum[:])
						fn := fmt.Sprintf("tool-1.0-%d.conda", i)
						if _, created, err := st.AddFile(ctx, store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: "tool", Subdir: "noarch", Filename: fn,
							SHA256: sha, MD5: sha[:32], Size: 100, Version: "1.0", Build: fmt.Sprint(i), Record: []byte(`{"name":"tool"}`), Recheck: tc.recheck}); err != nil || !created {
							b.Fatalf("AddFile: %v %v", created, err)
						}
					}
				})
			}
		})
	}
}
