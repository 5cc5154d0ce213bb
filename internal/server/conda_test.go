package server_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
)

func TestServeChannel(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testServeChannel(t, newEnv(t, b)) })
	}
}

func testServeChannel(t *testing.T, e *env) {
	e.createChannel("acme", false)

	// An empty channel serves noarch (and every known subdir), on every label.
	for _, p := range []string{"/conda/acme/noarch/repodata.json", "/conda/acme/label/nothing/noarch/repodata.json", "/conda/acme/linux-64/repodata.json"} {
		rd := e.repodata(p)
		if rd.Info["subdir"] == nil || rd.Packages == nil || rd.PackagesConda == nil || rd.Removed == nil || rd.RepodataVersion != 1 {
			t.Errorf("%s = %+v; want info.subdir, empty packages maps, removed [] and repodata_version 1", p, rd)
		}
	}

	demo := spec("demo", "1.0", "h1_0", "linux-64", condatest.Conda)
	demo.Depends = []string{"libzlib >=1.3,<2.0a0"}
	demo.Constrains = []string{"other <2"}
	demo.RunExports = map[string]any{"weak": []string{"demo >=1.0"}}
	demo.About = map[string]any{"summary": "A demo", "license": "MIT", "home": "https://example.com"}
	demo.Index = map[string]any{"track_features": "feat", "sha256": "0000", "url": "http://evil/", "channel": "evil"}
	demoBytes := e.mustUpload("acme", demo)
	old := spec("demo", "0.9", "h1_0", "linux-64", condatest.TarBz2)
	oldBytes := e.mustUpload("acme", old)
	noarch := spec("helper", "2.0", "0", "noarch", condatest.Conda)
	noarch.Noarch = "generic"
	e.mustUpload("acme", noarch, "main", "dev")

	rd := e.repodata("/conda/acme/linux-64/repodata.json")
	if got := rd.filenames(); len(got) != 2 {
		t.Fatalf("linux-64 files = %v", got)
	}
	rec := rd.PackagesConda[demo.Filename()]
	sum := sha256.Sum256(demoBytes)
	if rec["sha256"] != hex.EncodeToString(sum[:]) || rec["size"] != float64(len(demoBytes)) {
		t.Errorf("record checksums = %v / %v, want the server's own", rec["sha256"], rec["size"])
	}
	for _, k := range []string{"url", "channel"} {
		if _, ok := rec[k]; ok {
			t.Errorf("uploaded key %q leaked into repodata", k)
		}
	}
	if rec["track_features"] != "feat" || !slices.Equal(toStrings(rec["constrains"]), demo.Constrains) || !slices.Equal(toStrings(rec["depends"]), demo.Depends) {
		t.Errorf("record lost index.json keys: %v", rec)
	}
	if _, ok := rd.Packages[old.Filename()]; !ok {
		t.Errorf("the .tar.bz2 is not under packages: %v", rd.Packages)
	}
	if strings.Contains(string(e.do("GET", "/conda/acme/linux-64/repodata.json", "", nil).body), "base_url") {
		t.Error("repodata names a base_url")
	}

	// Every form of repodata decodes to the same bytes.
	plain := e.do("GET", "/conda/acme/linux-64/repodata.json", "", nil)
	zst := e.do("GET", "/conda/acme/linux-64/repodata.json.zst", "", nil)
	bz2 := e.do("GET", "/conda/acme/linux-64/repodata.json.bz2", "", nil)
	if !bytes.Equal(unzstd(t, zst.body), plain.body) || !bytes.Equal(unbz2(t, bz2.body), plain.body) {
		t.Error(".zst or .bz2 does not decompress to repodata.json")
	}
	for _, r := range []resp{plain, zst, bz2} {
		if r.header.Get("ETag") == "" || r.header.Get("Last-Modified") == "" || r.header.Get("Cache-Control") == "" {
			t.Errorf("validators missing: %v", r.header)
		}
	}
	if plain.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", plain.header.Get("Content-Type"))
	}

	// Conditional requests and HEAD.
	if r := e.do("GET", "/conda/acme/linux-64/repodata.json", "", nil, "If-None-Match", plain.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", r.status)
	}
	if r := e.do("GET", "/conda/acme/linux-64/repodata.json.zst", "", nil, "If-Modified-Since", zst.header.Get("Last-Modified")); r.status != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d, want 304", r.status)
	}
	if r := e.do("HEAD", "/conda/acme/linux-64/repodata.json.zst", "", nil); r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != fmt.Sprint(len(zst.body)) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %s", r.status, len(r.body), r.header.Get("Content-Length"))
	}

	// current_repodata keeps the newest version, and since it tracks a feature the newest
	// build without one (as conda-index does); run_exports lists every package.
	cur := e.repodata("/conda/acme/linux-64/current_repodata.json")
	if diff := cmp.Diff([]string{old.Filename(), demo.Filename()}, cur.filenames()); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}
	var rx struct {
		Packages      map[string]map[string]any `json:"packages"`
		PackagesConda map[string]map[string]any `json:"packages.conda"`
	}
	e.do("GET", "/conda/acme/linux-64/run_exports.json", "", nil).json(t, &rx)
	if fmt.Sprint(rx.PackagesConda[demo.Filename()]["run_exports"]) != "map[weak:[demo >=1.0]]" || rx.Packages[old.Filename()] == nil {
		t.Errorf("run_exports.json = %+v", rx)
	}

	// channeldata.json names both packages and their subdirs.
	var cd struct {
		Packages map[string]map[string]any `json:"packages"`
		Subdirs  []string                  `json:"subdirs"`
	}
	e.do("GET", "/conda/acme/channeldata.json", "", nil).json(t, &cd)
	if cd.Packages["demo"]["version"] != "1.0" || cd.Packages["demo"]["summary"] != "A demo" || cd.Packages["helper"] == nil {
		t.Errorf("channeldata = %+v", cd)
	}
	if !slices.Contains(cd.Subdirs, "linux-64") || !slices.Contains(cd.Subdirs, "noarch") {
		t.Errorf("channeldata subdirs = %v", cd.Subdirs)
	}

	// Shards: the index names one shard per package, each found under shards/. Records carry
	// run_exports (CEP-21), {} for a package without.
	shardRecs := checkShards(t, e, "/conda/acme/linux-64/", map[string]int{"demo": 2})
	if got := fmt.Sprint(shardRecs[demo.Filename()]["run_exports"]); got != "map[weak:[demo >=1.0]]" {
		t.Errorf("shard record of %s: run_exports = %s", demo.Filename(), got)
	}
	if rx, ok := shardRecs[old.Filename()]["run_exports"].(map[string]any); !ok || len(rx) != 0 {
		t.Errorf("shard record of %s: run_exports = %#v, want {}", old.Filename(), shardRecs[old.Filename()]["run_exports"])
	}

	// Package files, whole and by Range; the bytes are what was uploaded.
	pkg := e.do("GET", "/conda/acme/linux-64/"+demo.Filename(), "", nil)
	if pkg.status != 200 || !bytes.Equal(pkg.body, demoBytes) {
		t.Errorf("download: %d, %d bytes", pkg.status, len(pkg.body))
	}
	part := e.do("GET", "/conda/acme/linux-64/"+old.Filename(), "", nil, "Range", "bytes=10-19")
	if part.status != http.StatusPartialContent || !bytes.Equal(part.body, oldBytes[10:20]) {
		t.Errorf("Range: %d %q", part.status, part.body)
	}
	if r := e.do("GET", "/conda/acme/linux-64/"+demo.Filename(), "", nil, "If-None-Match", pkg.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("package If-None-Match: %d", r.status)
	}

	// Labels: dev holds only what was put on it.
	if got := e.repodata("/conda/acme/label/dev/noarch/repodata.json").filenames(); !slices.Equal(got, []string{noarch.Filename()}) {
		t.Errorf("dev/noarch = %v", got)
	}
	if got := e.repodata("/conda/acme/label/dev/linux-64/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("dev/linux-64 = %v, want empty", got)
	}
	if r := e.do("GET", "/conda/acme/label/dev/linux-64/"+demo.Filename(), "", nil); r.status != 404 {
		t.Errorf("file outside its label: %d, want 404", r.status)
	}
	if r := e.do("GET", "/conda/acme/label/dev/noarch/"+noarch.Filename(), "", nil); r.status != 200 {
		t.Errorf("file on its label: %d", r.status)
	}

	// A /t/<token>/ segment is taken off, at the start and after /conda; a made-up token is
	// refused (tokens_test.go has real ones).
	for _, p := range []string{"/t/abc-123/conda/acme/linux-64/repodata.json", "/conda/t/abc-123/acme/linux-64/repodata.json"} {
		r := e.do("GET", p, "", nil)
		if r.status != 401 || r.header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(string(r.body), "malformed") {
			t.Errorf("GET %s: %d %s, Referrer-Policy %q", p, r.status, r.body, r.header.Get("Referrer-Policy"))
		}
	}

	// Plain 404s for anything absent.
	for _, p := range []string{"/conda/nope/noarch/repodata.json", "/conda/acme/linux-64/nope-1-0.conda", "/conda/acme/linux-64/other.json",
		"/conda/acme/notasubdir/repodata.json", "/conda/acme/linux-64/shards/00.msgpack.zst", "/conda/acme/../x/noarch/repodata.json"} {
		if r := e.do("GET", p, "", nil); r.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}

	// Removal takes a file out of repodata at once.
	if r := e.do("DELETE", "/api/v1/channels/acme/files/linux-64/"+old.Filename(), admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	if got := e.repodata("/conda/acme/linux-64/repodata.json").filenames(); !slices.Equal(got, []string{demo.Filename()}) {
		t.Errorf("after removal: %v", got)
	}
	if r := e.do("GET", "/conda/acme/linux-64/"+old.Filename(), "", nil); r.status != 404 {
		t.Errorf("removed file: %d, want 404", r.status)
	}
	if r := e.do("GET", "/conda/acme/linux-64/repodata.json", "", nil, "If-None-Match", plain.header.Get("ETag")); r.status != 200 {
		t.Errorf("old ETag after a change: %d, want 200", r.status)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// checkShards fetches a subdir's shard index and every shard it names, checks each hash and
// the CEP-16 shapes, and compares the record counts per package.
// checkShards fetches and checks a subdir's shard index and shards, and returns the records
// by filename.
func checkShards(t *testing.T, e *env, base string, want map[string]int) map[string]map[string]any {
	t.Helper()
	byFn := map[string]map[string]any{}
	r := e.do("GET", base+"repodata_shards.msgpack.zst", "", nil)
	if r.status != 200 {
		t.Fatalf("shard index: %d", r.status)
	}
	var idx struct {
		Version int               `msgpack:"version"`
		Info    map[string]any    `msgpack:"info"`
		Shards  map[string][]byte `msgpack:"shards"`
	}
	if err := msgpack.Unmarshal(unzstd(t, r.body), &idx); err != nil {
		t.Fatalf("shard index: %v", err)
	}
	for _, k := range []string{"subdir", "base_url", "shards_base_url"} {
		if _, ok := idx.Info[k]; !ok {
			t.Errorf("shard index info lacks %s: %v", k, idx.Info)
		}
	}
	got := map[string]int{}
	for name, h := range idx.Shards {
		if len(h) != 32 {
			t.Errorf("shard hash of %s is %d bytes", name, len(h))
		}
		sr := e.do("GET", base+"shards/"+hex.EncodeToString(h)+".msgpack.zst", "", nil)
		if sr.status != 200 || !strings.Contains(sr.header.Get("Cache-Control"), "immutable") {
			t.Fatalf("shard %s: %d %v", name, sr.status, sr.header)
		}
		if sum := sha256.Sum256(sr.body); !bytes.Equal(sum[:], h) {
			t.Errorf("shard %s: sha256 of the bytes does not match the index", name)
		}
		var shard struct {
			Packages      map[string]map[string]any `msgpack:"packages"`
			PackagesConda map[string]map[string]any `msgpack:"packages.conda"`
			Removed       []string                  `msgpack:"removed"`
		}
		if err := msgpack.Unmarshal(unzstd(t, sr.body), &shard); err != nil {
			t.Fatal(err)
		}
		if shard.Packages == nil || shard.PackagesConda == nil {
			t.Errorf("shard %s lacks packages maps", name)
		}
		for _, recs := range []map[string]map[string]any{shard.Packages, shard.PackagesConda} {
			for fn, rec := range recs {
				if b, ok := rec["sha256"].([]byte); !ok || len(b) != 32 {
					t.Errorf("shard record %s: sha256 is %T, want 32 bytes", fn, rec["sha256"])
				}
				got[name]++
				byFn[fn] = rec
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records per shard (-want +got):\n%s", diff)
	}
	return byFn
}

func TestRepodataIsCachedPerRevision(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.mustUpload("acme", spec("a", "1", "0", "noarch", condatest.Conda))
	for range 20 {
		e.do("GET", "/conda/acme/noarch/repodata.json", "", nil)
		e.do("GET", "/conda/acme/noarch/repodata.json.zst", "", nil)
	}
	if n := e.store.subdirSnapshots.Load(); n != 1 {
		t.Errorf("40 requests at one revision took %d snapshots, want 1", n)
	}
	e.mustUpload("acme", spec("b", "1", "0", "noarch", condatest.Conda))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); e.do("GET", "/conda/acme/noarch/repodata.json", "", nil) }()
	}
	wg.Wait()
	if n := e.store.subdirSnapshots.Load(); n != 2 {
		t.Errorf("after one change, 20 concurrent requests: %d snapshots in all, want 2", n)
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 2 {
		t.Errorf("repodata after the change = %v", got)
	}
}

func TestUploadIdempotentAndImmutable(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	first := condatest.Build(t, s)
	if r := e.upload("acme", s.Filename(), first); r.status != 201 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	if r := e.upload("acme", s.Filename(), first); r.status != 200 {
		t.Errorf("same bytes again: %d, want 200", r.status)
	}
	s.Depends = []string{"other"}
	if r := e.upload("acme", s.Filename(), condatest.Build(t, s)); r.status != 409 || !strings.Contains(string(r.body), "immutable") {
		t.Errorf("other bytes: %d %s, want 409", r.status, r.body)
	}
}

func TestConcurrentUploads(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			// Every upload comes from one address here: the bound per client is not the subject.
			e := newEnv(t, b, func(o *server.Options) { o.UploadsPerClient = -1 })
			e.createChannel("acme", false)

			// 50 different packages into one subdir: all of them in the final repodata.
			var wg sync.WaitGroup
			statuses := make([]int, 50)
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := spec(fmt.Sprintf("pkg%02d", i), "1.0", "0", "linux-64", condatest.Conda)
					statuses[i] = e.upload("acme", s.Filename(), condatest.Build(t, s)).status
				}()
			}
			wg.Wait()
			for i, st := range statuses {
				if st != 201 {
					t.Errorf("upload %d: %d", i, st)
				}
			}
			plain := e.do("GET", "/conda/acme/linux-64/repodata.json", "", nil)
			var rd repodata
			plain.json(t, &rd)
			if len(rd.filenames()) != 50 {
				t.Errorf("repodata holds %d files, want 50", len(rd.filenames()))
			}
			if !bytes.Equal(unzstd(t, e.do("GET", "/conda/acme/linux-64/repodata.json.zst", "", nil).body), plain.body) {
				t.Error(".zst differs from repodata.json")
			}

			// 10 uploads of one filename with different bytes: one 201, nine 409.
			results := make([]resp, 10)
			datas := make([][]byte, 10)
			for i := range 10 {
				s := spec("race", "1.0", "0", "noarch", condatest.Conda)
				s.Depends = []string{fmt.Sprintf("dep%d", i)}
				datas[i] = condatest.Build(t, s)
			}
			for i := range 10 {
				wg.Add(1)
				go func() { defer wg.Done(); results[i] = e.upload("acme", "race-1.0-0.conda", datas[i]) }()
			}
			wg.Wait()
			var won []int
			conflicts := 0
			for i, r := range results {
				switch r.status {
				case 201:
					won = append(won, i)
				case 409:
					conflicts++
				default:
					t.Errorf("upload %d: %d %s", i, r.status, r.body)
				}
			}
			if len(won) != 1 || conflicts != 9 {
				t.Fatalf("%d won, %d conflicts; want 1 and 9", len(won), conflicts)
			}
			sum := sha256.Sum256(datas[won[0]])
			rec := e.repodata("/conda/acme/noarch/repodata.json").PackagesConda["race-1.0-0.conda"]
			if rec["sha256"] != hex.EncodeToString(sum[:]) {
				t.Error("repodata does not name the winner's bytes")
			}
			if got := e.do("GET", "/conda/acme/noarch/race-1.0-0.conda", "", nil).body; !bytes.Equal(got, datas[won[0]]) {
				t.Error("download is not the winner's bytes")
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.createChannel("secret", true)
	e.user("bob", "bob-password-123")
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)
	put := "/api/v1/channels/acme/files/" + s.Filename()
	e.createChannel("stocked", false)
	e.mustUpload("stocked", s)
	cases := []struct {
		name, method, path, auth string
		body                     []byte
		want                     int
	}{
		{"anonymous upload", "PUT", put, "", data, 401},
		{"wrong password", "PUT", put, "admin:wrong", data, 401},
		{"unknown user", "PUT", put, "nobody:whatever", data, 401},
		{"non-owner upload", "PUT", put, "bob:bob-password-123", data, 403},
		{"anonymous channel create", "POST", "/api/v1/channels", "", []byte(`{"name":"x"}`), 401},
		{"channel create in another's org", "POST", "/api/v1/channels", "bob:bob-password-123", []byte(`{"name":"x","org":"nosuchorg"}`), 404},
		{"subchannel of another's channel", "POST", "/api/v1/channels", "bob:bob-password-123", []byte(`{"name":"acme/x"}`), 403},
		{"non-owner remove", "DELETE", "/api/v1/channels/stocked/files/noarch/" + s.Filename(), "bob:bob-password-123", nil, 403},
		{"anonymous remove", "DELETE", "/api/v1/channels/stocked/files/noarch/" + s.Filename(), "", nil, 401},
		{"non-owner copy", "POST", "/api/v1/channels/acme/copy", "bob:bob-password-123", []byte(`{"from_label":"main","to_labels":["x"]}`), 403},
		{"anonymous history", "GET", "/api/v1/channels/acme/history", "", nil, 401},
		{"private channel, anonymous", "GET", "/conda/secret/noarch/repodata.json", "", nil, 404},
		{"private channel, non-owner", "GET", "/conda/secret/noarch/repodata.json", "bob:bob-password-123", nil, 404},
		{"private channel API, non-owner", "GET", "/api/v1/channels/secret", "bob:bob-password-123", nil, 404},
		{"upload to private channel, non-owner", "PUT", "/api/v1/channels/secret/files/" + s.Filename(), "bob:bob-password-123", data, 404},
		{"wrong password on a public read", "GET", "/conda/acme/noarch/repodata.json", "admin:wrong", nil, 401},
		{"public read, anonymous", "GET", "/conda/acme/noarch/repodata.json", "", nil, 200},
		{"private channel, admin", "GET", "/conda/secret/noarch/repodata.json", admin, nil, 200},
		{"whoami anonymous", "GET", "/api/v1/user", "", nil, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.auth, tc.body, "Content-Type", "application/json")
			if r.status != tc.want {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
			}
			if tc.want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a Basic challenge: %v", r.header)
			}
		})
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("refused uploads left files: %v", got)
	}
}

func TestBadUploads(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	ok := spec("demo", "1.0", "0", "linux-64", condatest.Conda)
	huge := ok
	huge.IndexJSON = append([]byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","x":"`), append(bytes.Repeat([]byte("a"), 50<<20), []byte(`"}`)...)...)
	cases := []struct {
		name     string
		filename string
		data     []byte
		reason   string
	}{
		{"not a zip", ok.Filename(), []byte("hello, this is not a zip file at all"), "zip"},
		{"not a tar.bz2", "demo-1.0-0.tar.bz2", []byte("plain text"), "bzip2"},
		{"bad filename", "demo.conda", condatest.Build(t, ok), "filename"},
		{"name mismatch", "other-1.0-0.conda", condatest.Build(t, ok), "info-other-1.0-0.tar.zst"},
		{"path traversal", ok.Filename(), condatest.Build(t, withEntries(ok, condatest.Entry{Name: "../evil", Data: []byte("x")})), ".."},
		{"absolute path", ok.Filename(), condatest.Build(t, withEntries(ok, condatest.Entry{Name: "/etc/passwd", Data: []byte("x")})), "absolute"},
		{"symlink in info", ok.Filename(), condatest.Build(t, withEntries(ok, condatest.Entry{Name: "info/link", Type: '2', Linkname: "index.json"})), "link"},
		{"zstd bomb", ok.Filename(), condatest.Build(t, withEntries(ok, condatest.Entry{Name: "lib/big", Zeros: 2 << 30})), "decompress"},
		{"bzip2 bomb", "demo-1.0-0.tar.bz2", condatest.Build(t, withEntries(withFormat(ok, condatest.TarBz2), condatest.Entry{Name: "lib/big", Zeros: 200 << 20})), "decompress"},
		{"50 MB index.json", ok.Filename(), condatest.Build(t, huge), "index.json"},
		{"unknown subdir", "demo-1.0-0.conda", condatest.Build(t, condatest.Spec{Subdir: "plan9-68k"}), "subdir"},
		{"invalid utf-8", ok.Filename(), condatest.Build(t, withIndexJSON(ok, []byte("{\"name\":\"demo\",\"version\":\"1.0\",\"build\":\"0\",\"build_number\":0,\"subdir\":\"linux-64\",\"license\":\"\xff\"}"))), "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.upload("acme", tc.filename, tc.data)
			if r.status != 400 {
				t.Fatalf("status %d %s, want 400", r.status, r.body)
			}
			if !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(tc.reason)) {
				t.Errorf("message %s does not mention %q", r.body, tc.reason)
			}
		})
	}
	if got := e.repodata("/conda/acme/linux-64/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("bad uploads left files: %v", got)
	}
	if left, _ := os.ReadDir(e.tempDir); len(left) != 0 {
		t.Errorf("spooled uploads left behind: %v", left)
	}
}

func withEntries(s condatest.Spec, es ...condatest.Entry) condatest.Spec {
	s.Entries = append(s.Entries, es...)
	return s
}

func withFormat(s condatest.Spec, f condatest.Format) condatest.Spec { s.Format = f; return s }

func withIndexJSON(s condatest.Spec, b []byte) condatest.Spec { s.IndexJSON = b; return s }

// TestClientGoneMidUpload cuts an upload short: nothing is stored, the spool file is removed,
// and the server keeps serving.
func TestClientGoneMidUpload(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /api/v1/channels/acme/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: %d\r\n\r\n",
		s.Filename(), basic("admin", adminPassword), len(data))
	conn.Write(data[:len(data)/2])
	conn.Close()
	// The next request on the same server sees nothing of it.
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("half an upload is served: %v", got)
	}
	if r := e.upload("acme", s.Filename(), data); r.status != 201 {
		t.Errorf("full upload after the cut one: %d %s", r.status, r.body)
	}
	waitEmpty(t, e.tempDir)
}

func basic(u, p string) string {
	return encodeBase64(u + ":" + p)
}

func TestCopyAndMove(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.createChannel("prod", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	e.mustUpload("acme", s, "dev")
	post := func(body string) resp {
		return e.do("POST", "/api/v1/channels/acme/copy", admin, []byte(body), "Content-Type", "application/json")
	}
	if r := post(`{"files":[{"subdir":"noarch","filename":"demo-1.0-0.conda"}],"to_labels":["staging"]}`); r.status != 200 {
		t.Fatalf("copy to label: %d %s", r.status, r.body)
	}
	if got := e.repodata("/conda/acme/label/staging/noarch/repodata.json").filenames(); len(got) != 1 {
		t.Errorf("staging after copy = %v", got)
	}
	if r := post(`{"from_label":"dev","to_labels":["main"],"move":true}`); r.status != 200 {
		t.Fatalf("move label: %d %s", r.status, r.body)
	}
	if got := e.repodata("/conda/acme/label/dev/noarch/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("dev after move = %v", got)
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 1 {
		t.Errorf("main after move = %v", got)
	}
	if r := post(`{"from_label":"main","to_channel":"prod","to_labels":["main"]}`); r.status != 200 {
		t.Fatalf("copy to channel: %d %s", r.status, r.body)
	}
	if got := e.repodata("/conda/prod/noarch/repodata.json").filenames(); len(got) != 1 {
		t.Errorf("prod after copy = %v", got)
	}
	if r := e.do("GET", "/conda/prod/noarch/demo-1.0-0.conda", "", nil); r.status != 200 {
		t.Errorf("download of the copy: %d", r.status)
	}
	if r := post(`{"from_label":"nope","to_labels":["x"]}`); r.status != 200 {
		t.Errorf("copy of an empty label: %d %s", r.status, r.body)
	}
	if r := post(`{"files":[{"subdir":"noarch","filename":"nope-1-0.conda"}],"to_labels":["x"]}`); r.status != 404 {
		t.Errorf("copy of a missing file: %d, want 404", r.status)
	}
	if r := post(`{"to_labels":["x"]}`); r.status != 400 {
		t.Errorf("copy of nothing: %d, want 400", r.status)
	}
	if r := post(`{"from_label":"main","to_labels":["Bad Label"]}`); r.status != 400 {
		t.Errorf("bad label: %d, want 400", r.status)
	}
	var hist []map[string]any
	e.do("GET", "/api/v1/channels/acme/history", admin, nil).json(t, &hist)
	if len(hist) < 4 {
		t.Errorf("history = %v", hist)
	}
}

func TestTestRecipesFixtures(t *testing.T) {
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set: the shared fixtures are not available")
	}
	e := newEnv(t, backends[0])
	e.createChannel("recipes", false)
	want := map[string]int{}
	entries, err := os.ReadDir(dir + "/conda/test-recipes")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range entries {
		files, _ := os.ReadDir(dir + "/conda/test-recipes/" + sub.Name())
		for _, f := range files {
			data, err := os.ReadFile(dir + "/conda/test-recipes/" + sub.Name() + "/" + f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if r := e.upload("recipes", f.Name(), data); r.status != 201 {
				t.Errorf("upload %s: %d %s", f.Name(), r.status, r.body)
				continue
			}
			want[sub.Name()]++
		}
	}
	for sub, n := range want {
		rd := e.repodata("/conda/recipes/" + sub + "/repodata.json")
		if len(rd.PackagesConda) != n {
			t.Errorf("%s: %d records, want %d", sub, len(rd.PackagesConda), n)
		}
		for fn, rec := range rd.PackagesConda {
			data, _ := os.ReadFile(dir + "/conda/test-recipes/" + sub + "/" + fn)
			sum := sha256.Sum256(data)
			if rec["sha256"] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s/%s: sha256 differs from the file's", sub, fn)
			}
		}
	}
	var cd map[string]any
	e.do("GET", "/conda/recipes/channeldata.json", "", nil).json(t, &cd)
	if b, _ := json.Marshal(cd); !strings.Contains(string(b), "dependent") {
		t.Errorf("channeldata lacks the packages: %s", b)
	}
}

// TestCurrentRepodataClosure: current_repodata.json keeps what the newest packages depend on,
// as conda-index does, within what the reader may see of the label and subdir asked for.
func TestCurrentRepodataClosure(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	noarch := func(name, version, build string, f condatest.Format, deps ...string) condatest.Spec {
		s := spec(name, version, build, "noarch", f)
		s.Noarch, s.Depends = "generic", deps
		return s
	}
	e.mustUpload("acme", noarch("versioned", "1.0", "0", condatest.Conda), "main", "dev")
	v2tar := e.mustUpload("acme", noarch("versioned", "2.0", "0", condatest.TarBz2), "main", "dev")
	e.mustUpload("acme", noarch("versioned", "2.0", "0", condatest.Conda), "main", "dev")
	e.mustUpload("acme", noarch("buildstring", "1.0", "versioned_1", condatest.Conda, "versioned 1.*"))
	e.mustUpload("acme", noarch("buildstring", "1.0", "versioned_2", condatest.Conda, "versioned 2.*"))
	// On dev, versioned 1.0 and 2.0 both; app 2.0 needs versioned <2.
	e.mustUpload("acme", noarch("app", "1.0", "0", condatest.Conda), "dev")
	e.mustUpload("acme", noarch("app", "2.0", "0", condatest.Conda, "versioned <2"), "dev")
	// A platform package that needs a noarch one: conda-index resolves each subdir alone.
	tool := spec("tool", "1.0", "0", "linux-64", condatest.Conda)
	tool.Depends = []string{"versioned 1.*"}
	e.mustUpload("acme", tool)
	// A private dependency stays out for readers who may not see it.
	e.mustUpload("acme", noarch("secretdep", "1.0", "0", condatest.Conda))
	e.mustUpload("acme", noarch("secretdep", "2.0", "0", condatest.Conda))
	e.mustUpload("acme", noarch("user", "1.0", "0", condatest.Conda, "secretdep 1.*"))
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/secretdep", admin, map[string]bool{"private": true}, 200)

	for _, c := range []struct {
		path, auth, want string
	}{
		{"/conda/acme/noarch/current_repodata.json", "",
			"buildstring-1.0-versioned_1.conda buildstring-1.0-versioned_2.conda user-1.0-0.conda versioned-1.0-0.conda versioned-2.0-0.conda"},
		{"/conda/acme/noarch/current_repodata.json", admin,
			"buildstring-1.0-versioned_1.conda buildstring-1.0-versioned_2.conda secretdep-1.0-0.conda secretdep-2.0-0.conda user-1.0-0.conda versioned-1.0-0.conda versioned-2.0-0.conda"},
		{"/conda/acme/label/dev/noarch/current_repodata.json", "",
			"app-2.0-0.conda versioned-1.0-0.conda versioned-2.0-0.conda"},
		{"/conda/acme/linux-64/current_repodata.json", "", "tool-1.0-0.conda"},
	} {
		if got := e.filenamesAs(c.auth, c.path); got != c.want {
			t.Errorf("%s as %q:\n got %s\nwant %s", c.path, strings.SplitN(c.auth, ":", 2)[0], got, c.want)
		}
	}
	// The .conda stands for its .tar.bz2, whose md5 it records.
	cur := e.repodata("/conda/acme/noarch/current_repodata.json")
	sum := md5.Sum(v2tar)
	if got := cur.PackagesConda["versioned-2.0-0.conda"]["legacy_bz2_md5"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("legacy_bz2_md5 = %v, want the .tar.bz2's md5 %x", got, sum)
	}
	if v, ok := cur.PackagesConda["versioned-1.0-0.conda"]["legacy_bz2_md5"]; !ok || v != nil {
		t.Errorf("legacy_bz2_md5 without a .tar.bz2 = %v (present %v), want null", v, ok)
	}
	// The compressed form is the same document.
	plain := e.do("GET", "/conda/acme/noarch/current_repodata.json", "", nil)
	if z := e.do("GET", "/conda/acme/noarch/current_repodata.json.zst", "", nil); !bytes.Equal(unzstd(t, z.body), plain.body) {
		t.Error("current_repodata.json.zst is not current_repodata.json")
	}
}

// TestChanneldataSourceURL: channeldata.json takes source_url (and source_git_url) from the
// rendered recipe in each package, as conda-index does: the real zlib packages give what
// their producer's channeldata.json says.
func TestChanneldataSourceURL(t *testing.T) {
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set: the shared fixtures are not available")
	}
	repo := dir + "/conda/conda_format_repo"
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	for _, f := range []string{"linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2", "osx-64/zlib-1.2.11-h1de35cc_3.conda", "win-64/zlib-1.2.11-h62dcd97_3.tar.bz2"} {
		data, err := os.ReadFile(repo + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.upload("acme", f[strings.IndexByte(f, '/')+1:], data); r.status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", f, r.status, r.body)
		}
	}
	git := spec("gitpkg", "1.0", "0", "noarch", condatest.Conda)
	git.Noarch = "generic"
	git.Info = map[string][]byte{"recipe/meta.yaml": []byte("package: {name: gitpkg}\nsource:\n  git_url: https://github.com/acme/gitpkg.git\n  git_rev: v1.0\n")}
	e.mustUpload("acme", git)

	var fx, cd struct {
		Packages map[string]map[string]any `json:"packages"`
	}
	raw, err := os.ReadFile(repo + "/channeldata.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/conda/acme/channeldata.json", "", nil).json(t, &cd)
	if got, want := cd.Packages["zlib"]["source_url"], fx.Packages["zlib"]["source_url"]; got != want || want == nil {
		t.Errorf("zlib source_url = %v, want %v (as conda-index wrote it)", got, want)
	}
	if got := cd.Packages["gitpkg"]["source_git_url"]; got != "https://github.com/acme/gitpkg.git" {
		t.Errorf("gitpkg source_git_url = %v", got)
	}
	if _, ok := cd.Packages["gitpkg"]["source_url"]; ok {
		t.Errorf("gitpkg has a source_url: %v", cd.Packages["gitpkg"])
	}
}
