package repodata_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/wharfhq/wharf/internal/repodata"
)

// shardRecordJSON turns a decoded shard record back into a repodata record: hex checksums,
// keys sorted, compact.
func shardRecordJSON(t *testing.T, r map[string]any) []byte {
	t.Helper()
	m := map[string]any{}
	for k, v := range r {
		if b, ok := v.([]byte); ok && (k == "md5" || k == "sha256") {
			v = hex.EncodeToString(b)
		}
		m[k] = v
	}
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// checkShards decodes an index and its shards as a client would and checks them against CEP-16.
func checkShards(t *testing.T, index []byte, shards map[string][]byte) (*repodata.ShardIndex, map[string]*repodata.Shard) {
	t.Helper()
	idx, err := repodata.DecodeShardIndex(index)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*repodata.Shard{}
	for name, h := range idx.Shards {
		z, ok := shards[hex.EncodeToString(h[:])]
		if !ok {
			t.Fatalf("shard of %s: %x not built", name, h)
		}
		if sha256.Sum256(z) != h {
			t.Errorf("shard of %s: the hash is not the sha256 of the compressed bytes", name)
		}
		s, err := repodata.DecodeShard(z)
		if err != nil {
			t.Fatalf("shard of %s: %v", name, err)
		}
		for fn, r := range s.Packages {
			checkShardRecord(t, name, fn, r, ".tar.bz2")
		}
		for fn, r := range s.PackagesConda {
			checkShardRecord(t, name, fn, r, ".conda")
		}
		out[name] = s
	}
	if len(shards) != len(idx.Shards) {
		t.Errorf("%d shards built, %d in the index", len(shards), len(idx.Shards))
	}
	return idx, out
}

func checkShardRecord(t *testing.T, name, fn string, r map[string]any, ext string) {
	t.Helper()
	if r["name"] != name {
		t.Errorf("%s (name %v) in the shard of %s", fn, r["name"], name)
	}
	if len(fn) < len(ext) || fn[len(fn)-len(ext):] != ext {
		t.Errorf("%s in the %s group", fn, ext)
	}
	for k, n := range map[string]int{"md5": 16, "sha256": 32} {
		if b, ok := r[k].([]byte); !ok || len(b) != n {
			t.Errorf("%s: %s is %T, want a bin of %d bytes", fn, k, r[k], n)
		}
	}
}

func TestShards(t *testing.T) {
	recs := []repodata.Record{
		rec("a-1-0.conda", "a", "1", nil),
		rec("a-2-0.tar.bz2", "a", "2", nil),
		rec("b-1-0.conda", "b", "1", map[string]any{"timestamp": int64(1718000000000), "noarch": "python", "nested": map[string]any{"z": 1, "a": []any{2.5, "x"}}}),
	}
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	index, shards, err := repodata.BuildShards("linux-64", recs, created)
	if err != nil {
		t.Fatal(err)
	}
	idx, got := checkShards(t, index, shards)
	wantInfo := repodata.ShardIndexInfo{Subdir: "linux-64", BaseURL: "./", ShardsBaseURL: "./shards/", CreatedAt: "2026-11-01T12:00:00Z"}
	if idx.Version != 1 || idx.Info != wantInfo || len(idx.Shards) != 2 {
		t.Fatalf("index = %+v", idx)
	}
	// No time is no created_at (an optional key), never year 1.
	undated, _, err := repodata.BuildShards("linux-64", recs, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := repodata.DecodeShardIndex(undated); err != nil {
		t.Error(err)
	} else if idx.Info.CreatedAt != "" {
		t.Errorf("index built without a time: created_at %q, want none", idx.Info.CreatedAt)
	}
	// Every record comes back as it went in, integers as integers, with run_exports added
	// ({} for these packages, which have none).
	byFn := map[string][]byte{}
	for _, s := range got {
		for _, group := range []map[string]map[string]any{s.Packages, s.PackagesConda} {
			for fn, r := range group {
				if rx, ok := r["run_exports"].(map[string]any); !ok || len(rx) != 0 {
					t.Errorf("%s: run_exports = %#v, want {}", fn, r["run_exports"])
				}
				delete(r, "run_exports")
				byFn[fn] = shardRecordJSON(t, r)
			}
		}
		if s.Removed == nil || len(s.Removed) != 0 {
			t.Errorf("removed = %#v", s.Removed)
		}
	}
	for _, r := range recs {
		if !bytes.Equal(byFn[r.Filename], r.JSON) {
			t.Errorf("%s:\n got %s\nwant %s", r.Filename, byFn[r.Filename], r.JSON)
		}
	}
	if ts := got["b"].PackagesConda["b-1-0.conda"]["timestamp"]; fmt.Sprintf("%T", ts) == "float64" {
		t.Errorf("timestamp is a %T", ts)
	}
	// A shard always has both groups, even when one is empty.
	if got["b"].Packages == nil || len(got["b"].Packages) != 0 {
		t.Errorf("shard of b: packages = %v", got["b"].Packages)
	}
}

func TestShardsAreDeterministic(t *testing.T) {
	recs := synthetic(3000)
	created := time.Unix(1700000000, 0)
	idx1, sh1, err := repodata.BuildShards("linux-64", recs, created)
	if err != nil {
		t.Fatal(err)
	}
	// The server stores each record's msgpack at upload; shards built from it are the same.
	stored := make([]repodata.Record, len(recs))
	for i, r := range recs {
		stored[len(recs)-1-i] = r // and the input order does not matter
		if stored[len(recs)-1-i].Msgpack, err = repodata.EncodeShardRecord(r.JSON); err != nil {
			t.Fatal(err)
		}
	}
	idx2, sh2, err := repodata.BuildShards("linux-64", stored, created)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(idx1, idx2) || !cmp.Equal(sh1, sh2) {
		t.Error("two builds of the same records differ")
	}
	_, got := checkShards(t, idx1, sh1)
	n := 0
	for _, s := range got {
		n += len(s.Packages) + len(s.PackagesConda)
	}
	if n != len(recs) {
		t.Errorf("%d records in the shards, want %d", n, len(recs))
	}
}

func TestShardsOfNothing(t *testing.T) {
	index, shards, err := repodata.BuildShards("noarch", nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := checkShards(t, index, shards)
	if len(idx.Shards) != 0 || idx.Info.Subdir != "noarch" {
		t.Errorf("index = %+v", idx)
	}
}

func TestEncodeShardRecordRejectsBadRecords(t *testing.T) {
	for _, j := range []string{`[]`, `null`, `{"md5":"not hex"}`, `{`} {
		if _, err := repodata.EncodeShardRecord(json.RawMessage(j)); err == nil {
			t.Errorf("EncodeShardRecord(%s) succeeded", j)
		}
	}
}

func TestDecodeShardIndexRequires(t *testing.T) {
	h := make([]byte, 32)
	good := func() map[string]any {
		return map[string]any{
			"version": 1,
			"info":    map[string]any{"subdir": "linux-64", "base_url": "./", "shards_base_url": "./shards/"},
			"shards":  map[string]any{"a": h},
		}
	}
	enc, _ := zstd.NewWriter(nil)
	pack := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return enc.EncodeAll(b, nil)
	}
	if _, err := repodata.DecodeShardIndex(pack(good())); err != nil {
		t.Fatalf("a good index: %v", err)
	}
	for name, spoil := range map[string]func(m map[string]any){
		"no base_url":        func(m map[string]any) { delete(m["info"].(map[string]any), "base_url") },
		"no shards_base_url": func(m map[string]any) { delete(m["info"].(map[string]any), "shards_base_url") },
		"no subdir":          func(m map[string]any) { delete(m["info"].(map[string]any), "subdir") },
		"no info":            func(m map[string]any) { delete(m, "info") },
		"no shards":          func(m map[string]any) { delete(m, "shards") },
		"hex hash":           func(m map[string]any) { m["shards"] = map[string]any{"a": hex.EncodeToString(h)} },
		"short hash":         func(m map[string]any) { m["shards"] = map[string]any{"a": h[:16]} },
	} {
		m := good()
		spoil(m)
		if _, err := repodata.DecodeShardIndex(pack(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := repodata.DecodeShardIndex([]byte("not zstd")); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := repodata.DecodeShard(pack(map[string]any{"packages.conda": map[string]any{}})); err == nil {
		t.Error("a shard without packages accepted")
	}
}

// TestShardRecordsCarryRunExports: each shard record has run_exports (CEP-21), as conda-index
// 0.12.1 writes it: the package's info/run_exports.json, {} when it has none, so that pixi and
// rattler need not fetch run_exports.json. repodata.json records have none, as there.
func TestShardRecordsCarryRunExports(t *testing.T) {
	with := rec("a-1-0.conda", "a", "1", nil)
	with.RunExports = json.RawMessage(`{"weak":["a >=1,<2.0a0"],"strong_constrains":["b >=1"]}`)
	without := rec("a-2-0.tar.bz2", "a", "2", nil)
	// An index.json may carry its own run_exports key: the file's run_exports.json wins, as
	// in conda-index, and the record does not get the key twice.
	own := rec("b-1-0.conda", "b", "1", map[string]any{"run_exports": map[string]any{"weak": []string{"stale"}}})
	own.RunExports = json.RawMessage(`{"weak":["b"]}`)
	// A record of 15 keys: one more does not fit msgpack's smallest map header.
	wide := rec("c-1-0.conda", "c", "1", map[string]any{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6})
	recs := []repodata.Record{with, without, own, wide}
	for _, stored := range []bool{false, true} {
		in := slices.Clone(recs)
		if stored { // as the server keeps them: msgpack encoded at upload
			for i := range in {
				var err error
				if in[i].Msgpack, err = repodata.EncodeShardRecord(in[i].JSON); err != nil {
					t.Fatal(err)
				}
			}
		}
		index, shards, err := repodata.BuildShards("linux-64", in, time.Unix(1700000000, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, got := checkShards(t, index, shards)
		for _, c := range []struct {
			name, fn string
			want     any
		}{
			{"a", with.Filename, map[string]any{"weak": []any{"a >=1,<2.0a0"}, "strong_constrains": []any{"b >=1"}}},
			{"a", without.Filename, map[string]any{}},
			{"b", own.Filename, map[string]any{"weak": []any{"b"}}},
			{"c", wide.Filename, map[string]any{}},
		} {
			r := got[c.name].PackagesConda[c.fn]
			if r == nil {
				r = got[c.name].Packages[c.fn]
			}
			if diff := cmp.Diff(c.want, r["run_exports"]); diff != "" {
				t.Errorf("stored %v: %s: run_exports (-want +got):\n%s", stored, c.fn, diff)
			}
			// Everything else is the repodata record.
			delete(r, "run_exports")
			want := decode(t, recordOf(recs, c.fn).JSON)
			delete(want, "run_exports")
			if diff := cmp.Diff(want, decode(t, shardRecordJSON(t, r))); diff != "" {
				t.Errorf("stored %v: %s: record (-want +got):\n%s", stored, c.fn, diff)
			}
		}
	}
	if bytes.Contains(repodata.BuildRepodata("linux-64", []repodata.Record{with}), []byte("run_exports")) {
		t.Error("repodata.json records carry run_exports; conda-index's do not")
	}
}

func recordOf(recs []repodata.Record, fn string) repodata.Record {
	for _, r := range recs {
		if r.Filename == fn {
			return r
		}
	}
	return repodata.Record{}
}

// A build that reuses an earlier one's shards gives, byte for byte, what a build from scratch
// of the same records gives: after a package gains a file, after one loses its only file, and
// after a file is replaced by other content under its name (removed, then uploaded again).
func TestShardsCachedMatchFresh(t *testing.T) {
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	first := []repodata.Record{
		rec("a-1-0.conda", "a", "1", nil),
		rec("b-1-0.conda", "b", "1", nil),
		rec("c-1-0.conda", "c", "1", nil),
		rec("d-1-0.conda", "d", "1", nil),
	}
	other := rec("c-1-0.conda", "c", "1", map[string]any{"depends": []any{"python"}})
	steps := [][]repodata.Record{
		first,
		append(slices.Clone(first), rec("a-2-0.conda", "a", "2", nil)),             // a gains a file
		{first[0], first[1], first[2]},                                             // d is gone
		{first[0], first[1], other},                                                // c's file has other content
		{first[0], first[1], other, rec("e-1-0.tar.bz2", "e", "1", nil), first[3]}, // new packages
	}
	var cache *repodata.ShardCache
	for i, recs := range steps {
		idx, shards, next, err := repodata.BuildShardsCached("noarch", recs, created, cache)
		if err != nil {
			t.Fatal(err)
		}
		wantIdx, wantShards, err := repodata.BuildShards("noarch", recs, created)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(idx, wantIdx) {
			t.Errorf("step %d: the shard index differs from a fresh build's", i)
		}
		if diff := cmp.Diff(wantShards, shards); diff != "" {
			t.Errorf("step %d: shards differ from a fresh build's (-want +got):\n%s", i, diff)
		}
		cache = next
	}
}
