package repodata_test

import (
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/repodata"
)

func rec(fn, name, version string, extra string) repodata.Record {
	sum := sha256.Sum256([]byte(fn))
	j := fmt.Sprintf(`{"build":"0","build_number":0,"depends":[],"md5":"%s","name":"%s","sha256":"%s","size":10,"subdir":"linux-64","version":"%s"%s}`,
		hex.EncodeToString(sum[:16]), name, hex.EncodeToString(sum[:]), version, extra)
	return repodata.Record{Filename: fn, Name: name, Version: version, Build: "0", JSON: json.RawMessage(j)}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return m
}

func TestEmptySubdir(t *testing.T) {
	got := string(repodata.BuildRepodata("noarch", nil))
	want := `{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{},"removed":[],"repodata_version":1}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRecordsAreEmittedByteForByte(t *testing.T) {
	recs := []repodata.Record{
		rec("a-1.0-0.conda", "a", "1.0", `,"track_features":"x"`),
		rec("a-1.0-0.tar.bz2", "a", "1.0", ""),
		rec("b-2.0-0.conda", "b", "2.0", `,"constrains":["c <2"]`),
	}
	b := repodata.BuildRepodata("linux-64", recs)
	for _, r := range recs {
		if !bytes.Contains(b, append([]byte(`"`+r.Filename+`":`), r.JSON...)) {
			t.Errorf("%s is not emitted verbatim", r.Filename)
		}
	}
	m := decode(t, b)
	if len(m["packages"].(map[string]any)) != 1 || len(m["packages.conda"].(map[string]any)) != 2 {
		t.Errorf("placement: %s", b)
	}
	if m["repodata_version"] != float64(1) || m["info"].(map[string]any)["subdir"] != "linux-64" {
		t.Errorf("header: %s", b)
	}
	if r, ok := m["removed"].([]any); !ok || len(r) != 0 {
		t.Errorf("removed = %v, want []", m["removed"])
	}
}

func TestCompressedFormsRoundTrip(t *testing.T) {
	b := repodata.BuildRepodata("linux-64", synthetic(2000))
	z, err := repodata.CompressZstd(b)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := zstd.NewReader(nil)
	defer d.Close()
	if got, err := d.DecodeAll(z, nil); err != nil || !bytes.Equal(got, b) {
		t.Errorf("zstd round trip: %v", err)
	}
	bz, err := repodata.CompressBzip2(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bz))); err != nil || !bytes.Equal(got, b) {
		t.Errorf("bzip2 round trip: %v", err)
	}
}

func TestStreamedZstdEqualsTheJSON(t *testing.T) {
	recs := synthetic(3000)
	want := repodata.BuildRepodata("linux-64", recs)
	z, sum, n, err := repodata.BuildRepodataZstd("linux-64", recs)
	if err != nil {
		t.Fatal(err)
	}
	if got := unzstd(t, z); !bytes.Equal(got, want) {
		t.Error("the streamed .zst does not decompress to repodata.json")
	}
	if sum != sha256.Sum256(want) || n != int64(len(want)) {
		t.Errorf("sha256/length of the stream = %x/%d, want those of repodata.json", sum, n)
	}
}

func TestCurrentRepodataKeepsTheNewestVersion(t *testing.T) {
	recs := []repodata.Record{
		rec("a-1.10-0.conda", "a", "1.10", ""),
		rec("a-1.10-1.conda", "a", "1.10", ""),
		rec("a-1.9-0.conda", "a", "1.9", ""),
		rec("b-1.0rc1-0.conda", "b", "1.0rc1", ""),
		rec("b-1.0-0.conda", "b", "1.0", ""),
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Filename < recs[j].Filename })
	m := decode(t, repodata.BuildCurrentRepodata("linux-64", recs, conda.CompareVersions))
	var got []string
	for fn := range m["packages.conda"].(map[string]any) {
		got = append(got, fn)
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{"a-1.10-0.conda", "a-1.10-1.conda", "b-1.0-0.conda"}, got); diff != "" {
		t.Errorf("current (-want +got):\n%s", diff)
	}
}

func TestRunExports(t *testing.T) {
	a := rec("a-1-0.conda", "a", "1", "")
	a.RunExports = json.RawMessage(`{"weak":["a >=1"]}`)
	b := rec("b-1-0.tar.bz2", "b", "1", "")
	m := decode(t, repodata.BuildRunExports("linux-64", []repodata.Record{a, b}))
	want := map[string]any{
		"info":           map[string]any{"subdir": "linux-64", "version": float64(1)},
		"packages":       map[string]any{"b-1-0.tar.bz2": map[string]any{"run_exports": map[string]any{}}},
		"packages.conda": map[string]any{"a-1-0.conda": map[string]any{"run_exports": map[string]any{"weak": []any{"a >=1"}}}},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("run_exports (-want +got):\n%s", diff)
	}
}

func unzstd(t *testing.T, b []byte) []byte {
	t.Helper()
	d, _ := zstd.NewReader(nil)
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestShards(t *testing.T) {
	recs := []repodata.Record{rec("a-1-0.conda", "a", "1", ""), rec("a-2-0.tar.bz2", "a", "2", ""), rec("b-1-0.conda", "b", "1", `,"timestamp":1718000000000`)}
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	index, shards, err := repodata.BuildShards("linux-64", recs, created)
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Version int               `msgpack:"version"`
		Info    map[string]any    `msgpack:"info"`
		Shards  map[string][]byte `msgpack:"shards"`
	}
	if err := msgpack.Unmarshal(unzstd(t, index), &idx); err != nil {
		t.Fatal(err)
	}
	wantInfo := map[string]any{"subdir": "linux-64", "base_url": "./", "shards_base_url": "./shards/", "created_at": "2026-11-01T12:00:00Z"}
	if idx.Version != 1 || !cmp.Equal(wantInfo, idx.Info) || len(idx.Shards) != 2 {
		t.Fatalf("index = %+v", idx)
	}
	for name, h := range idx.Shards {
		z, ok := shards[hex.EncodeToString(h)]
		if !ok {
			t.Fatalf("shard of %s not built", name)
		}
		if sum := sha256.Sum256(z); !bytes.Equal(sum[:], h) {
			t.Errorf("shard %s: hash is not the sha256 of the compressed bytes", name)
		}
		var shard map[string]map[string]map[string]any
		raw := unzstd(t, z)
		var generic map[string]any
		if err := msgpack.Unmarshal(raw, &generic); err != nil {
			t.Fatal(err)
		}
		if _, ok := generic["removed"].([]any); !ok {
			t.Errorf("shard %s: removed = %T", name, generic["removed"])
		}
		delete(generic, "removed")
		b, _ := msgpack.Marshal(generic)
		if err := msgpack.Unmarshal(b, &shard); err != nil {
			t.Fatal(err)
		}
		for _, group := range []string{"packages", "packages.conda"} {
			if shard[group] == nil {
				t.Errorf("shard %s lacks %s", name, group)
			}
			for fn, r := range shard[group] {
				if s, ok := r["sha256"].([]byte); !ok || len(s) != 32 {
					t.Errorf("%s: sha256 = %T", fn, r["sha256"])
				}
				if m, ok := r["md5"].([]byte); !ok || len(m) != 16 {
					t.Errorf("%s: md5 = %T", fn, r["md5"])
				}
				if r["name"] != name {
					t.Errorf("%s in the shard of %s", fn, name)
				}
			}
		}
		if name == "b" {
			ts := shard["packages.conda"]["b-1-0.conda"]["timestamp"]
			if fmt.Sprint(ts) != "1718000000000" {
				t.Errorf("timestamp = %v (%T), want an integer", ts, ts)
			}
		}
	}
	again, shards2, _ := repodata.BuildShards("linux-64", recs, created)
	if !bytes.Equal(index, again) || !cmp.Equal(shards, shards2) {
		t.Error("shards are not deterministic")
	}
}

func TestShardsFromStoredMsgpack(t *testing.T) {
	recs := synthetic(500)
	created := time.Unix(1700000000, 0)
	idx1, sh1, err := repodata.BuildShards("linux-64", recs, created)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if recs[i].Msgpack, err = repodata.EncodeShardRecord(recs[i].JSON); err != nil {
			t.Fatal(err)
		}
	}
	idx2, sh2, err := repodata.BuildShards("linux-64", recs, created)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(idx1, idx2) || !cmp.Equal(sh1, sh2) {
		t.Error("shards from stored msgpack differ from shards encoded on demand")
	}
}

func fixtures(t *testing.T) string {
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set: the shared fixtures are not available")
	}
	return filepath.Join(dir, "conda", "conda_format_repo")
}

// TestFixtureRepodata rebuilds a real channel's repodata.json from its own records.
func TestFixtureRepodata(t *testing.T) {
	dir := fixtures(t)
	for _, sub := range []string{"linux-64", "osx-64", "win-64", "win-32", "noarch"} {
		raw, err := os.ReadFile(filepath.Join(dir, sub, "repodata.json"))
		if err != nil {
			t.Fatal(err)
		}
		var fx struct {
			Packages      map[string]json.RawMessage `json:"packages"`
			PackagesConda map[string]json.RawMessage `json:"packages.conda"`
		}
		if err := json.Unmarshal(raw, &fx); err != nil {
			t.Fatal(err)
		}
		var recs []repodata.Record
		for _, group := range []map[string]json.RawMessage{fx.Packages, fx.PackagesConda} {
			for fn, r := range group {
				var m map[string]any
				json.Unmarshal(r, &m)
				b, _ := json.Marshal(m) // keys sorted, compact
				recs = append(recs, repodata.Record{Filename: fn, Name: m["name"].(string), Version: m["version"].(string), JSON: b})
			}
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].Filename < recs[j].Filename })
		want := decode(t, raw)
		got := decode(t, repodata.BuildRepodata(sub, recs))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-fixture +built):\n%s", sub, diff)
		}
	}
}

// TestFixtureShardIndex reads a real producer's shard index with the shapes we produce.
func TestFixtureShardIndex(t *testing.T) {
	dir := filepath.Join(fixtures(t), "linux-64")
	raw, err := os.ReadFile(filepath.Join(dir, "repodata_shards.msgpack.zst"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Version int               `msgpack:"version"`
		Info    map[string]any    `msgpack:"info"`
		Shards  map[string][]byte `msgpack:"shards"`
	}
	if err := msgpack.Unmarshal(unzstd(t, raw), &idx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"subdir", "base_url", "shards_base_url"} {
		if _, ok := idx.Info[k]; !ok {
			t.Errorf("fixture index lacks info.%s", k)
		}
	}
	if idx.Info["subdir"] != "linux-64" || len(idx.Shards) != 2 {
		t.Errorf("fixture index = %+v", idx)
	}
	for name, h := range idx.Shards {
		z, err := os.ReadFile(filepath.Join(dir, idx.Info["shards_base_url"].(string)+hex.EncodeToString(h)+".msgpack.zst"))
		if err != nil {
			t.Fatalf("shard of %s: %v", name, err)
		}
		if sum := sha256.Sum256(z); !bytes.Equal(sum[:], h) {
			t.Errorf("fixture shard %s: the hash is not over the compressed bytes", name)
		}
		var shard map[string]any
		if err := msgpack.Unmarshal(unzstd(t, z), &shard); err != nil {
			t.Fatal(err)
		}
		// This producer (an older conda-index) wrote the hashes as hex strings; CEP-16 and
		// rattler use binary, which is what Wharf writes. Both carry the same digest.
		for fn, r := range shard["packages.conda"].(map[string]any) {
			switch h := r.(map[string]any)["sha256"].(type) {
			case []byte:
				if len(h) != 32 {
					t.Errorf("fixture %s: sha256 of %d bytes", fn, len(h))
				}
			case string:
				if len(h) != 64 {
					t.Errorf("fixture %s: sha256 %q", fn, h)
				}
			default:
				t.Errorf("fixture %s: sha256 is %T", fn, h)
			}
		}
	}
}

func TestChanneldata(t *testing.T) {
	mk := func(sub, fn, name, version string, bn int64, about string, flags repodata.Flags) repodata.PackageInfo {
		r := rec(fn, name, version, `,"license":"MIT"`)
		r.BuildNumber = bn
		r.Timestamp = 1718000000000
		r.RunExports = json.RawMessage(`{"weak":["` + name + ` >=` + version + `"]}`)
		return repodata.PackageInfo{Record: r, Subdir: sub, About: json.RawMessage(about), Flags: flags}
	}
	infos := []repodata.PackageInfo{
		mk("linux-64", "z-1.2-0.conda", "z", "1.2", 0, `{"summary":"old"}`, repodata.Flags{}),
		mk("linux-64", "z-1.10-0.conda", "z", "1.10", 0, `{"summary":"new","home":"https://z"}`, repodata.Flags{PostLink: true}),
		mk("osx-64", "z-1.10-1.conda", "z", "1.10", 1, `{"summary":"newest build"}`, repodata.Flags{TextPrefix: true}),
	}
	m := decode(t, repodata.BuildChanneldata(infos, conda.CompareVersions))
	z := m["packages"].(map[string]any)["z"].(map[string]any)
	if z["version"] != "1.10" || z["summary"] != "newest build" || z["reference_package"] != "osx-64/z-1.10-1.conda" || z["license"] != "MIT" {
		t.Errorf("z = %v", z)
	}
	if z["post_link"] != true || z["text_prefix"] != true || z["pre_link"] != false {
		t.Errorf("flags of z = %v", z)
	}
	if z["timestamp"] != float64(1718000000) {
		t.Errorf("timestamp = %v, want seconds", z["timestamp"])
	}
	if diff := cmp.Diff([]any{"linux-64", "osx-64"}, z["subdirs"]); diff != "" {
		t.Errorf("subdirs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"linux-64", "noarch", "osx-64"}, m["subdirs"]); diff != "" {
		t.Errorf("channel subdirs (-want +got):\n%s", diff)
	}
	if m["channeldata_version"] != float64(1) {
		t.Errorf("channeldata_version = %v", m["channeldata_version"])
	}
}
