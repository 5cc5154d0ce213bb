package repodata_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/repodata"
)

// The fixture channel (fixtures/conda/conda_format_repo) is conda-index's own test channel:
// repodata, shards and channeldata written by a real producer.

var fixtureSubdirs = []string{"linux-64", "noarch", "osx-64", "win-32", "win-64"}

func fixtures(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set (e.g. WHARF_FIXTURES=/work/shared/fixtures): the shared fixtures are not available")
	}
	return filepath.Join(dir, "conda", "conda_format_repo")
}

func readJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return raw
}

// fixtureRecords reads a subdir's repodata.json into records as the server would store them:
// each record's JSON with keys sorted, compact.
func fixtureRecords(t *testing.T, sub string) ([]repodata.Record, []byte) {
	t.Helper()
	var fx struct {
		Packages      map[string]json.RawMessage `json:"packages"`
		PackagesConda map[string]json.RawMessage `json:"packages.conda"`
	}
	raw := readJSON(t, filepath.Join(fixtures(t), sub, "repodata.json"), &fx)
	var recs []repodata.Record
	for _, group := range []map[string]json.RawMessage{fx.Packages, fx.PackagesConda} {
		for fn, r := range group {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m) // keys sorted, compact
			var meta struct {
				Name, Version string
				BuildNumber   int64 `json:"build_number"`
				Timestamp     int64
			}
			json.Unmarshal(r, &meta)
			recs = append(recs, repodata.Record{Filename: fn, Name: meta.Name, Version: meta.Version,
				BuildNumber: meta.BuildNumber, Timestamp: meta.Timestamp, JSON: b})
		}
	}
	return recs, raw
}

// TestFixtureRepodata rebuilds each subdir's repodata.json from its own records.
func TestFixtureRepodata(t *testing.T) {
	for _, sub := range fixtureSubdirs {
		recs, raw := fixtureRecords(t, sub)
		if diff := cmp.Diff(decode(t, raw), decode(t, repodata.BuildRepodata(sub, recs))); diff != "" {
			t.Errorf("%s (-fixture +built):\n%s", sub, diff)
		}
	}
}

// TestFixtureShards reads a real producer's shard index and shards with our decoders, then
// builds linux-64's shards from its repodata and finds the same records.
func TestFixtureShards(t *testing.T) {
	dir := filepath.Join(fixtures(t), "linux-64")
	raw, err := os.ReadFile(filepath.Join(dir, "repodata_shards.msgpack.zst"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := repodata.DecodeShardIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	if idx.Version != 1 || idx.Info.Subdir != "linux-64" || !cmp.Equal(keys(idx.Shards), []string{"libgcc-ng", "zlib"}) {
		t.Fatalf("fixture index = %+v", idx)
	}
	fixtureShards := map[string]*repodata.Shard{}
	for name, h := range idx.Shards {
		// This producer (conda-index) writes "" for both URLs: shards beside the index.
		z, err := os.ReadFile(filepath.Join(dir, idx.Info.ShardsBaseURL+hex.EncodeToString(h[:])+".msgpack.zst"))
		if err != nil {
			t.Fatalf("shard of %s: %v", name, err)
		}
		s, err := repodata.DecodeShard(z)
		if err != nil {
			t.Fatalf("shard of %s: %v", name, err)
		}
		fixtureShards[name] = s
	}

	recs, _ := fixtureRecords(t, "linux-64")
	index, shards, err := repodata.BuildShards("linux-64", recs, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	ours, built := checkShards(t, index, shards)
	if !cmp.Equal(keys(ours.Shards), keys(idx.Shards)) {
		t.Errorf("shard names = %v, fixture %v", keys(ours.Shards), keys(idx.Shards))
	}
	// The fixture's shards hold the hashes as hex strings (older conda-index), ours as bins
	// (CEP-16, rattler, current conda-index); compared as repodata JSON they are the same.
	// That producer also predates run_exports in shard records (CEP-21, conda-index 0.12):
	// ours carry {}, as these packages export nothing.
	asJSON := func(s *repodata.Shard) map[string]any {
		out := map[string]any{}
		for group, recs := range map[string]map[string]map[string]any{"packages/": s.Packages, "packages.conda/": s.PackagesConda} {
			for fn, r := range recs {
				if rx, ok := r["run_exports"]; ok {
					if m, isMap := rx.(map[string]any); !isMap || len(m) != 0 {
						t.Errorf("%s: run_exports = %#v, want {}", fn, rx)
					}
					delete(r, "run_exports")
				}
				out[group+fn] = decode(t, shardRecordJSON(t, r))
			}
		}
		return out
	}
	for name, s := range fixtureShards {
		if diff := cmp.Diff(asJSON(s), asJSON(built[name])); diff != "" {
			t.Errorf("shard of %s (-fixture +built):\n%s", name, diff)
		}
	}
}

// TestFixtureChanneldata builds channeldata.json for the fixture channel and compares it with
// the producer's. The fixture has no about.json for most of its packages, so each file's
// about, flags and run_exports are taken from the fixture's own entry: what is checked is the
// shape (the keys of each entry) and which file each value is taken from.
func TestFixtureChanneldata(t *testing.T) {
	var fx struct {
		ChanneldataVersion int                       `json:"channeldata_version"`
		Packages           map[string]map[string]any `json:"packages"`
		Subdirs            []string                  `json:"subdirs"`
	}
	readJSON(t, filepath.Join(fixtures(t), "channeldata.json"), &fx)
	var infos []repodata.PackageInfo
	for _, sub := range fixtureSubdirs {
		recs, _ := fixtureRecords(t, sub)
		for _, r := range recs {
			entry := fx.Packages[r.Name]
			about := map[string]any{}
			for _, k := range []string{"description", "dev_url", "doc_url", "home", "source_url", "summary", "identifiers", "keywords", "tags"} {
				if v, ok := entry[k]; ok {
					about[k] = v
				}
			}
			aboutJSON, _ := json.Marshal(about)
			if r.Version == entry["version"] && len(entry["run_exports"].(map[string]any)) > 0 {
				r.RunExports, _ = json.Marshal(entry["run_exports"])
			}
			flag := func(k string) bool { return entry[k] == true }
			infos = append(infos, repodata.PackageInfo{Record: r, Subdir: sub, About: aboutJSON, Flags: repodata.Flags{
				ActivateD: flag("activate.d"), DeactivateD: flag("deactivate.d"), PreLink: flag("pre_link"), PostLink: flag("post_link"),
				PreUnlink: flag("pre_unlink"), BinaryPrefix: flag("binary_prefix"), TextPrefix: flag("text_prefix")}})
		}
	}
	got := decode(t, repodata.BuildChanneldata(infos, compareVersions))
	if got["channeldata_version"] != float64(fx.ChanneldataVersion) {
		t.Errorf("channeldata_version = %v", got["channeldata_version"])
	}
	if diff := cmp.Diff(fx.Subdirs, toStrings(got["subdirs"])); diff != "" {
		t.Errorf("subdirs (-fixture +built):\n%s", diff)
	}
	pkgs := got["packages"].(map[string]any)
	if diff := cmp.Diff(keys(fx.Packages), keys(pkgs)); diff != "" {
		t.Fatalf("package names (-fixture +built):\n%s", diff)
	}
	for name, want := range fx.Packages {
		entry := pkgs[name].(map[string]any)
		// CEP-38 requires timestamp, which this older producer did not write.
		wantKeys := append(keys(want), "timestamp")
		slices.Sort(wantKeys)
		if diff := cmp.Diff(wantKeys, keys(entry)); diff != "" {
			t.Errorf("%s: keys (-fixture +built):\n%s", name, diff)
		}
		for k, v := range want {
			switch k {
			case "run_exports":
				// This producer wrote the newest version's run_exports; CEP-38 (and conda-index
				// today) key them by version.
				wantRE := map[string]any{}
				if len(v.(map[string]any)) > 0 {
					wantRE[want["version"].(string)] = v
				}
				if diff := cmp.Diff(wantRE, entry[k]); diff != "" {
					t.Errorf("%s: run_exports (-want +built):\n%s", name, diff)
				}
			case "reference_package":
				// Same file; we prefer the .conda of a build that has both.
				stem := func(s string) string {
					return strings.TrimSuffix(strings.TrimSuffix(s, ".tar.bz2"), ".conda")
				}
				if stem(v.(string)) != stem(entry[k].(string)) {
					t.Errorf("%s: reference_package = %v, fixture %v", name, entry[k], v)
				}
			default:
				if diff := cmp.Diff(v, entry[k]); diff != "" {
					t.Errorf("%s: %s (-fixture +built):\n%s", name, k, diff)
				}
			}
		}
	}
	// zlib's newest build is win-64's (latest timestamp of 1.2.11).
	if ts := pkgs["zlib"].(map[string]any)["timestamp"]; ts != float64(1542815182) {
		t.Errorf("zlib timestamp = %v, want 1542815182", ts)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
