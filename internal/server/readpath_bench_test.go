package server_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// readBackends are SQLite and PostgreSQL, each with blobs on the filesystem: what the read
// paths ask of the database, with nothing else (a fake S3) in the measure.
var readBackends = []backend{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "wharf.db") }, func(t testing.TB) string { return t.TempDir() }},
	{"postgres", func(t testing.TB) string { return storetest.Postgres(t) }, func(t testing.TB) string { return t.TempDir() }},
}

// readEnv is a server with a public channel acme (for anonymous readers) and bob's private
// channel bob (read with his password or his token), each holding one package.
type readEnv struct {
	*env
	token  string
	client *http.Client
	file   string // the package's filename, in both channels
}

func newReadEnv(b *testing.B, be backend) *readEnv {
	e := newEnv(b, be)
	e.users(bob)
	e.createChannel("acme", false)
	e.mustDo("PATCH", "/api/v1/channels/bob", admin, map[string]bool{"private": true}, 200)
	s := spec("tool", "1.0", "0", "noarch", condatest.Conda)
	e.mustUpload("acme", s)
	if r := e.uploadAs(bob, "bob", s); r.status != http.StatusCreated {
		b.Fatalf("upload as bob: %d %s", r.status, r.body)
	}
	tok := e.newToken(bob, map[string]any{"name": "ci", "scopes": []string{"conda:download"}})
	// As many idle connections as there are clients: the client must not dial per request
	// either, or the measure is of the client's dialling.
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	b.Cleanup(tr.CloseIdleConnections)
	return &readEnv{env: e, token: tok, client: &http.Client{Transport: tr}, file: s.Filename()}
}

// readCase is one request: its path, its Basic credentials or token, what it must answer.
type readCase struct {
	name, path, basic, token, ifNoneMatch string
	want                                  int
}

func (re *readEnv) cases(b *testing.B) []readCase {
	var cs []readCase
	for _, who := range []struct{ name, channel, basic, token string }{
		{"anonymous", "acme", "", ""},
		{"token", "bob", "", re.token},
		{"basic", "bob", bob, ""},
	} {
		repodata := "/conda/" + who.channel + "/noarch/repodata.json.zst"
		c := readCase{path: repodata, basic: who.basic, token: who.token, want: 200}
		etag := re.get(b, c).Header.Get("ETag")
		if etag == "" {
			b.Fatalf("%s: no ETag", repodata)
		}
		for _, rc := range []readCase{
			{name: "repodata/" + who.name, path: repodata, want: 200},
			{name: "304/" + who.name, path: repodata, ifNoneMatch: etag, want: 304},
			{name: "download/" + who.name, path: "/conda/" + who.channel + "/noarch/" + re.file, want: 200},
		} {
			rc.basic, rc.token = who.basic, who.token
			cs = append(cs, rc)
		}
	}
	return cs
}

func (re *readEnv) get(b *testing.B, c readCase) *http.Response {
	res, err := re.try(c)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// try is get for any goroutine: it returns what went wrong.
func (re *readEnv) try(c readCase) (*http.Response, error) {
	req, err := http.NewRequest("GET", re.srv.URL+c.path, nil)
	if err != nil {
		return nil, err
	}
	if c.basic != "" {
		u, p, _ := cut(c.basic, ":")
		req.SetBasicAuth(u, p)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "token "+c.token)
	}
	if c.ifNoneMatch != "" {
		req.Header.Set("If-None-Match", c.ifNoneMatch)
	}
	res, err := re.client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != c.want {
		return nil, fmt.Errorf("GET %s: %d, want %d", c.path, res.StatusCode, c.want)
	}
	return res, nil
}

// BenchmarkReadPaths measures what the read paths clients hit most (a cached repodata.json.zst,
// its 304, a package download) cost with nothing changed, anonymous, with a token and with a
// Basic password, on SQLite and PostgreSQL, at 32 concurrent clients: the database
// statements and transactions per request, the connections opened to the database per
// request (0 once the pool is warm), allocations and requests per second.
//
//	WHARF_TEST_POSTGRES=… go test -run '^$' -bench ReadPaths -benchmem ./internal/server/
func BenchmarkReadPaths(b *testing.B) {
	for _, be := range readBackends {
		b.Run(be.name, func(b *testing.B) {
			re := newReadEnv(b, be)
			for _, c := range re.cases(b) {
				b.Run(c.name, func(b *testing.B) {
					for range 3 { // warm: identity and index caches, the pool
						re.get(b, c)
					}
					before := re.store.Stats()
					b.ReportAllocs()
					b.SetParallelism(16) // 32 clients on 2 cores
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := re.try(c); err != nil {
								b.Error(err)
								return
							}
						}
					})
					after := re.store.Stats()
					n := float64(b.N)
					b.ReportMetric(float64(after.Statements-before.Statements)/n, "stmts/op")
					b.ReportMetric(float64(after.Transactions-before.Transactions)/n, "txs/op")
					b.ReportMetric(float64(after.Connections-before.Connections)/n, "dials/op")
					b.ReportMetric(n/b.Elapsed().Seconds(), "req/s")
				})
			}
		})
	}
}
