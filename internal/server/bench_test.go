package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
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
			addRecords(b, e, "acme", n)
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

// BenchmarkRepodataJSONEncodings is a cached repodata.json of 10,000 records as it is, and
// gzip- and zstd-encoded (each encoding made once, on the first request that takes it).
//
//	go test -run '^$' -bench RepodataJSONEncodings -benchmem ./internal/server/
func BenchmarkRepodataJSONEncodings(b *testing.B) {
	e := newEnv(b, backends[0])
	e.createChannel("acme", false)
	addRecords(b, e, "acme", 10000)
	for _, enc := range []string{"identity", "gzip", "zstd"} {
		b.Run(enc, func(b *testing.B) {
			benchGet(b, e.srv, "/conda/acme/noarch/repodata.json", "Accept-Encoding", enc)
		})
	}
}

// addRecords stores n noarch conda records, pkg00000 and on, in channel, straight into the
// store (no package files): what serving its index costs depends on them alone.
func addRecords(b *testing.B, e *env, channel string, n int) {
	ch, err := e.store.ChannelByName(b.Context(), channel)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		sum := sha256.Sum256([]byte(fmt.Sprint(channel, i)))
		sha := hex.EncodeToString(sum[:])
		name := fmt.Sprintf("pkg%05d", i)
		rec := fmt.Sprintf(`{"build":"0","build_number":0,"depends":["python >=3.9"],"md5":"%s","name":"%s","sha256":"%s","size":100,"subdir":"noarch","version":"1.0"}`, sha[:32], name, sha)
		if _, _, err := e.store.AddFile(b.Context(), store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: name, Subdir: "noarch",
			Filename: name + "-1.0-0.conda", SHA256: sha, MD5: sha[:32], Size: 100, Version: "1.0", Build: "0", Record: []byte(rec)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRepodataReaders compares requests per second for a cached repodata.json.zst of a
// 10,000-record channel: anonymous on a public channel, and a group member with HTTP Basic
// credentials on a private one (credentials verified once and remembered, grants read per
// request, the member's view cached).
//
//	go test -run '^$' -bench RepodataReaders -benchtime 5s ./internal/server/
func BenchmarkRepodataReaders(b *testing.B) {
	const n = 10000
	e := newEnv(b, backends[0])
	e.users(alice, bob)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-private", "org": "acme", "private": true}, 201)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-private", "level": "read"}, 200)
	for _, name := range []string{"acme", "acme-private"} {
		addRecords(b, e, name, n)
	}
	for _, c := range []struct{ name, path, auth string }{
		{"public/anonymous", "/conda/acme/noarch/repodata.json.zst", ""},
		{"private/member-basic", "/conda/acme-private/noarch/repodata.json.zst", bob},
	} {
		b.Run(c.name, func(b *testing.B) {
			e.mustDo("GET", c.path, c.auth, nil, 200) // build and remember once
			user, pass, _ := cut(c.auth, ":")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", e.srv.URL+c.path, nil)
					if c.auth != "" {
						req.SetBasicAuth(user, pass)
					}
					res, err := e.srv.Client().Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkPyPIProjectPage is a cached Simple API page of a project with 2,000 files, over
// HTTP, in each format (devpi is known to take seconds here).
//
//	go test -run '^$' -bench PyPIProjectPage -benchmem ./internal/server/
func BenchmarkPyPIProjectPage(b *testing.B) {
	e := newEnv(b, backends[0])
	e.createChannel("acme", false)
	ch, err := e.store.ChannelByName(b.Context(), "acme")
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		sha := hex.EncodeToString(sum[:])
		v := fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10)
		fn := fmt.Sprintf("big_lib-%s-py3-none-any.whl", v)
		if _, _, err := e.store.AddFile(b.Context(), store.NewFile{ChannelID: ch.ID, Kind: "pypi", Package: "big-lib", Subdir: store.PyPISubdir,
			Filename: fn, SHA256: sha, MD5: sha[:32], Size: 12345, Version: v, Record: []byte(`{}`),
			CoreMetadata: []byte("Metadata-Version: 2.1\nName: big-lib\nVersion: " + v + "\n"), RequiresPython: ">=3.9"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, accept := range []string{"application/vnd.pypi.simple.v1+json", "text/html"} {
		for _, enc := range []string{"identity", "gzip", "zstd"} {
			b.Run(strings.SplitN(accept, "/", 2)[1]+"/"+enc, func(b *testing.B) {
				benchGet(b, e.srv, "/pypi/acme/simple/big-lib/", "Accept", accept, "Accept-Encoding", enc)
			})
		}
	}
}

// benchGet measures GETs of path with the headers given (an Accept-Encoding set here is not
// undone by the client: what is measured is what goes on the wire), after one to build it,
// and reports the bytes sent.
func benchGet(b *testing.B, srv *httptest.Server, path string, header ...string) {
	var wire int64
	get := func() {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		wire, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	get() // build once
	b.ReportAllocs()
	for b.Loop() {
		get()
	}
	b.ReportMetric(float64(wire), "wire-bytes")
}

// BenchmarkPackageDownload measures downloads of a stored package of 1 MiB and of 16 MiB over
// real HTTP, whole, as HEAD and as a 4 KiB range, from each blob backend: the size check
// before the status line costs no extra request to the store for a whole GET (the open reader
// has the size), and one stat for HEAD and ranges. From the filesystem the bytes go by
// sendfile (MB/s).
//
//	go test -run '^$' -bench PackageDownload -benchmem ./internal/server/
func BenchmarkPackageDownload(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be)
			e.createChannel("acme", false)
			for _, size := range []int{1 << 20, 16 << 20} {
				b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
					payload := make([]byte, size)
					rand.Read(payload) // does not compress: the package is as big as its payload
					s := spec(fmt.Sprintf("big%d", size>>20), "1.0", "0", "noarch", condatest.Conda)
					s.Files = map[string][]byte{"share/big.bin": payload}
					e.mustUpload("acme", s)
					url := e.srv.URL + "/conda/acme/noarch/" + s.Filename()
					// The client reads in large pieces, so that its own reads (in this process,
					// on the same cores) weigh less in the measure than the server's sending.
					buf := make([]byte, 1<<20)
					for _, tc := range []struct {
						name, method, rng string
						want              int
					}{{"GET", "GET", "", 200}, {"HEAD", "HEAD", "", 200}, {"Range", "GET", "bytes=4096-8191", 206}} {
						b.Run(tc.name, func(b *testing.B) {
							b.ReportAllocs()
							for b.Loop() {
								req, _ := http.NewRequestWithContext(b.Context(), tc.method, url, nil)
								if tc.rng != "" {
									req.Header.Set("Range", tc.rng)
								}
								res, err := e.srv.Client().Do(req)
								if err != nil {
									b.Fatal(err)
								}
								n, _ := io.CopyBuffer(struct{ io.Writer }{io.Discard}, res.Body, buf)
								res.Body.Close()
								if res.StatusCode != tc.want {
									b.Fatalf("status %d", res.StatusCode)
								}
								b.SetBytes(n)
							}
						})
					}
				})
			}
		})
	}
}
