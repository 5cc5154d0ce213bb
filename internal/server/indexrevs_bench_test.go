package server_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	rd "github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// BenchmarkReadStoreCalls counts what a read of a cached index asks the database
// (storecalls/op: statements, and begins and ends of transactions), over HTTP: repodata.json.zst
// anonymous and with a token on a private channel, a 304 for it, the shard index and a shard.
// Nothing changes while it runs, so each should cost nothing; the background poll (the access
// epoch and the channels' revisions, each once a second) is all that is left.
//
//	go test -run '^$' -bench ReadStoreCalls ./internal/server/
func BenchmarkReadStoreCalls(b *testing.B) {
	e := newEnv(b, backends[0])
	e.createChannel("acme", false)
	e.createChannel("secret", true)
	for _, ch := range []string{"acme", "secret"} {
		for i := range 20 {
			e.mustUpload(ch, spec(fmt.Sprintf("pkg%02d", i), "1.0", "0", "noarch", condatest.Conda))
		}
	}
	var tok struct{ Token string }
	e.mustDo("POST", "/api/v1/tokens", admin, map[string]any{"name": "ci", "scopes": []string{"conda"}}, http.StatusCreated).json(b, &tok)
	zst := "/conda/acme/noarch/repodata.json.zst"
	etag := e.do("GET", zst, "", nil).header.Get("ETag")
	idx := e.do("GET", "/conda/acme/noarch/repodata_shards.msgpack.zst", "", nil)
	si, err := rd.DecodeShardIndex(idx.body)
	if err != nil {
		b.Fatal(err)
	}
	sh := si.Shards["pkg00"]
	shard := "/conda/acme/noarch/shards/" + hex.EncodeToString(sh[:]) + ".msgpack.zst"
	for _, c := range []struct {
		name, path string
		header     []string
		status     int
	}{
		{"repodata.zst", zst, nil, 200},
		{"repodata.zst-304", zst, []string{"If-None-Match", etag}, http.StatusNotModified},
		{"repodata.zst-private-token", "/conda/secret/noarch/repodata.json.zst", []string{"Authorization", "token " + tok.Token}, 200},
		{"shard-index", "/conda/acme/noarch/repodata_shards.msgpack.zst", nil, 200},
		{"shard", shard, nil, 200},
	} {
		b.Run(c.name, func(b *testing.B) {
			get := func() {
				req, _ := http.NewRequest("GET", e.srv.URL+c.path, nil)
				for i := 0; i+1 < len(c.header); i += 2 {
					req.Header.Set(c.header[i], c.header[i+1])
				}
				res, err := e.srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != c.status {
					b.Fatalf("%s: %d, want %d", c.path, res.StatusCode, c.status)
				}
			}
			get() // built, and the channel and token remembered
			before := e.store.roundTrips()
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(e.store.roundTrips()-before)/float64(b.N), "storecalls/op")
		})
	}
}

// BenchmarkUnchangedSubdirAfterUpload serves the noarch repodata.json.zst of a channel of
// 100,000 noarch records right after an upload to its linux-64 (each iteration one upload,
// through the store, untimed, then the timed request), and a 304 for it: what a change
// elsewhere in the channel costs a subdir it did not touch. builds/op counts the subdir
// indexes built per request.
//
//	go test -run '^$' -bench UnchangedSubdirAfterUpload -benchtime 10x ./internal/server/
func BenchmarkUnchangedSubdirAfterUpload(b *testing.B) {
	e := newEnv(b, backends[0])
	e.createChannel("acme", false)
	ch, err := e.store.ChannelByName(b.Context(), "acme")
	if err != nil {
		b.Fatal(err)
	}
	fillNoarch(b, e, ch, 100_000)
	url := e.srv.URL + "/conda/acme/noarch/repodata.json.zst"
	get := func(etag string, want int) string {
		req, _ := http.NewRequest("GET", url, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			b.Fatalf("status %d, want %d", res.StatusCode, want)
		}
		return res.Header.Get("ETag")
	}
	etag := get("", 200) // built once
	i := 0
	upload := func() {
		i++
		name := fmt.Sprintf("new%06d", i)
		sum := sha256.Sum256([]byte(name))
		sha := hex.EncodeToString(sum[:])
		rec, _ := json.Marshal(map[string]any{"name": name, "version": "1.0", "build": "0", "build_number": 0, "depends": []string{}, "subdir": "linux-64", "sha256": sha, "md5": sha[:32], "size": 1})
		if _, _, err := e.store.AddFile(b.Context(), store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: name, Subdir: "linux-64", Filename: name + "-1.0-0.conda",
			SHA256: sha, MD5: sha[:32], Size: 1, Version: "1.0", Build: "0", Record: rec}); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		etag   string
		status int
	}{{"zst", "", 200}, {"zst-304", etag, http.StatusNotModified}} {
		b.Run(c.name, func(b *testing.B) {
			bases, _ := e.server.IndexBuilds()
			for b.Loop() {
				b.StopTimer()
				upload()
				b.StartTimer()
				get(c.etag, c.status)
			}
			after, _ := e.server.IndexBuilds()
			b.ReportMetric(float64(after-bases)/float64(b.N), "builds/op")
		})
	}
}

// fillNoarch puts n noarch records (15 files to a package, as real channels have) into ch of
// e's SQLite database in one statement each, rather than n uploads, and moves the channel's
// revision as a write of the time before revisions per index would.
func fillNoarch(b *testing.B, e *env, ch store.Channel, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+e.dsn+"?_pragma=busy_timeout(15000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const seq = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) `
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{seq + `INSERT INTO packages (channel_id, kind, name, private, created_at) SELECT ?, 'conda', printf('pkg%05d', i), 0, 0 FROM n`, []any{(n + 14) / 15, ch.ID}},
		{seq + `INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, flags, created_at)
			SELECT ?, (SELECT id FROM packages WHERE channel_id = ? AND kind = 'conda' AND name = printf('pkg%05d', i / 15)), 'noarch',
				printf('pkg%05d-1.%d-py_%d.conda', i / 15, i % 15, i), printf('%064x', i), printf('%032x', i), 1000 + i, printf('1.%d', i % 15), printf('py_%d', i), 0, 1700000000000,
				CAST(printf('{"build":"py_%d","build_number":0,"depends":["python >=3.9","numpy >=1.%d,<2.0a0","libfoo >=%d.0"],"license":"MIT","md5":"%032x","name":"pkg%05d","noarch":"python","sha256":"%064x","size":%d,"subdir":"noarch","timestamp":1700000000000,"version":"1.%d"}',
					i, i % 20, i % 7, i, i / 15, i, 1000 + i, i % 15) AS BLOB), 0, 0
			FROM n`, []any{n, ch.ID, ch.ID}},
		{`INSERT INTO file_labels (file_id, label) SELECT id, 'main' FROM files WHERE channel_id = ?`, []any{ch.ID}},
		{`UPDATE channels SET revision = revision + 1 WHERE id = ?`, []any{ch.ID}},
	} {
		if _, err := db.ExecContext(b.Context(), q.sql, q.args...); err != nil {
			b.Fatalf("%s: %v", q.sql, err)
		}
	}
}
