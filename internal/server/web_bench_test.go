package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// BenchmarkWebPages renders pages of a channel with 500 packages of 4 versions each (2,000
// files), signed in, over HTTP: the dashboard, the channel, a package page, and the bulk
// access list.
//
//	go test -run '^$' -bench WebPages -benchmem ./internal/server/
func BenchmarkWebPages(b *testing.B) {
	e := newEnv(b, backends[0])
	e.user("alice", "horse-battery-staple-1")
	alice, err := e.store.UserByName(b.Context(), "alice")
	if err != nil {
		b.Fatal(err)
	}
	ch, err := e.store.ChannelByName(b.Context(), "alice")
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		sha := hex.EncodeToString(sum[:])
		pkg, v := fmt.Sprintf("pkg%03d", i/4), fmt.Sprintf("1.%d", i%4)
		fn := fmt.Sprintf("%s-%s-0.conda", pkg, v)
		rec := fmt.Sprintf(`{"name":%q,"version":%q,"build":"0","build_number":0,"depends":["python >=3.9","numpy"],"subdir":"noarch"}`, pkg, v)
		if _, _, err := e.store.AddFile(b.Context(), store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: pkg, Subdir: "noarch",
			Filename: fn, SHA256: sha, MD5: sha[:32], Size: 12345, Version: v, Build: "0", Record: []byte(rec), UploaderID: alice.ID}); err != nil {
			b.Fatal(err)
		}
	}
	w := e.signedIn("alice", "horse-battery-staple-1")
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/"},
		{"channel", "/channels/alice"},
		{"package", "/channels/alice/packages/pkg250"},
		{"access", "/channels/alice/access"},
	} {
		b.Run(p.name, func(b *testing.B) {
			if r := w.get(p.path); r.status != http.StatusOK {
				b.Fatalf("%s: %d %s", p.path, r.status, r.text())
			}
			b.ReportAllocs()
			for b.Loop() {
				w.get(p.path)
			}
		})
	}
}
