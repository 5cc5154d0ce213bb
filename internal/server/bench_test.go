package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// BenchmarkCachedRepodata measures a request for a cached repodata.json.zst of a channel of
// 5,000 files, over real HTTP: it must cost the same whatever the channel's size.
//
//	go test -run '^$' -bench CachedRepodata -benchmem ./internal/server/
func BenchmarkCachedRepodata(b *testing.B) {
	for _, n := range []int{100, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e := newEnv(b, backends[0])
			e.createChannel("acme", false)
			ch, err := e.store.ChannelByName(b.Context(), "acme")
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				sum := sha256.Sum256([]byte(fmt.Sprint(i)))
				sha := hex.EncodeToString(sum[:])
				name := fmt.Sprintf("pkg%05d", i)
				rec := fmt.Sprintf(`{"build":"0","build_number":0,"depends":["python >=3.9"],"md5":"%s","name":"%s","sha256":"%s","size":100,"subdir":"noarch","version":"1.0"}`, sha[:32], name, sha)
				if _, _, err := e.store.AddFile(b.Context(), store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: name, Subdir: "noarch",
					Filename: name + "-1.0-0.conda", SHA256: sha, MD5: sha[:32], Size: 100, Version: "1.0", Build: "0", Record: []byte(rec)}); err != nil {
					b.Fatal(err)
				}
			}
			url := e.srv.URL + "/conda/acme/noarch/repodata.json.zst"
			get := func() {
				res, err := e.srv.Client().Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
			get() // build once
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
		})
	}
}
