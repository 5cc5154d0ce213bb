package conda_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/repodata"
)

// fixtures returns $WHARF_FIXTURES or skips the test.
func fixtures(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set; set it to the shared fixtures directory (e.g. /work/shared/fixtures) to run the golden tests over real packages")
	}
	return dir
}

func readFixture(t *testing.T, path string, lim conda.Limits) (*conda.Package, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), filepath.Base(path), lim)
	if err != nil {
		t.Fatalf("ReadPackage(%s): %v", path, err)
	}
	return p, data
}

func isPackage(name string) bool {
	return strings.HasSuffix(name, ".conda") || strings.HasSuffix(name, ".tar.bz2")
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

// TestGoldenRepodata checks that the records Wharf computes for real packages equal, key for
// key, what conda's own indexer wrote into repodata.json.
func TestGoldenRepodata(t *testing.T) {
	repo := filepath.Join(fixtures(t), "conda", "conda_format_repo")
	subdirs, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, sd := range subdirs {
		if !sd.IsDir() {
			continue
		}
		dir := filepath.Join(repo, sd.Name())
		var rd struct {
			Packages      map[string]json.RawMessage `json:"packages"`
			PackagesConda map[string]json.RawMessage `json:"packages.conda"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "repodata.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &rd); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if !isPackage(f.Name()) {
				continue
			}
			t.Run(sd.Name()+"/"+f.Name(), func(t *testing.T) {
				p, data := readFixture(t, filepath.Join(dir, f.Name()), conda.DefaultLimits())
				s256 := sha256.Sum256(data)
				m5 := md5.Sum(data)
				rec, err := p.Record(hex.EncodeToString(s256[:]), hex.EncodeToString(m5[:]), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				want := rd.Packages[f.Name()]
				if p.Format == conda.FormatConda {
					want = rd.PackagesConda[f.Name()]
				}
				if want == nil {
					t.Fatalf("%s is not in %s/repodata.json", f.Name(), sd.Name())
				}
				if diff := cmp.Diff(decode(t, want), decode(t, rec.JSON)); diff != "" {
					t.Errorf("record mismatch (-repodata.json +computed):\n%s", diff)
				}
				wantRec := repodata.Record{Filename: f.Name(), Name: p.Name, Version: p.Version, Build: p.Build,
					BuildNumber: p.BuildNumber, Timestamp: p.Timestamp, JSON: rec.JSON, RunExports: p.RunExports}
				if diff := cmp.Diff(wantRec, rec); diff != "" {
					t.Errorf("Record fields (-want +got):\n%s", diff)
				}
				if p.Subdir != sd.Name() {
					t.Errorf("Subdir = %q, want %q", p.Subdir, sd.Name())
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, rec.JSON); err != nil || compact.String() != string(rec.JSON) {
					t.Errorf("record is not compact JSON: %s", rec.JSON)
				}
				checked++
			})
		}
	}
	if checked == 0 {
		t.Fatal("no packages found under", repo)
	}
}

// TestGoldenChanneldata compares the flags, run_exports and about fields Wharf extracts with
// channeldata.json. conda-index takes a name's flags from its reference_package only (the
// osx-64 zlib, for one, has binary placeholders the win-64 reference lacks), so flags are
// compared for that file; run_exports and about fields for every file of the name.
func TestGoldenChanneldata(t *testing.T) {
	repo := filepath.Join(fixtures(t), "conda", "conda_format_repo")
	raw, err := os.ReadFile(filepath.Join(repo, "channeldata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cd struct {
		Packages map[string]map[string]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(raw, &cd); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(repo, "*", "*"))
	checked, refs := 0, 0
	for _, path := range paths {
		if !isPackage(path) {
			continue
		}
		rel, _ := filepath.Rel(repo, path)
		t.Run(rel, func(t *testing.T) {
			p, _ := readFixture(t, path, conda.DefaultLimits())
			entry := cd.Packages[p.Name]
			if entry == nil {
				t.Skipf("%s is not in channeldata.json", p.Name)
			}
			var ref string
			_ = json.Unmarshal(entry["reference_package"], &ref)
			if ref == filepath.ToSlash(rel) {
				var want repodata.Flags
				flagJSON, _ := json.Marshal(entry)
				if err := json.Unmarshal(flagJSON, &want); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, p.Flags); diff != "" {
					t.Errorf("flags (-channeldata +computed):\n%s", diff)
				}
				refs++
			}
			if re := entry["run_exports"]; re != nil && string(re) != "{}" {
				if diff := cmp.Diff(decode(t, re), decode(t, p.RunExports)); diff != "" {
					t.Errorf("run_exports (-channeldata +computed):\n%s", diff)
				}
			}
			var about map[string]any
			if err := json.Unmarshal(p.About, &about); err != nil {
				t.Fatalf("about.json: %v", err)
			}
			// source_url comes from the rendered recipe's source (info/recipe/meta.yaml).
			if w, ok := entry["source_url"]; ok {
				var src map[string]json.RawMessage
				if err := json.Unmarshal(p.RecipeSource, &src); err != nil {
					t.Fatalf("RecipeSource %s: %v", p.RecipeSource, err)
				}
				if diff := cmp.Diff(decode(t, w), decode(t, src["url"])); diff != "" {
					t.Errorf("source_url (-channeldata +recipe):\n%s", diff)
				}
			}
			// channeldata copies these about.json keys (description is reformatted, so it is
			// skipped).
			for _, key := range []string{"home", "dev_url", "doc_url", "summary", "license"} {
				w, ok := entry[key]
				if !ok {
					continue
				}
				if diff := cmp.Diff(decode(t, w), about[key]); diff != "" {
					t.Errorf("about %s (-channeldata +about.json):\n%s", key, diff)
				}
			}
			checked++
		})
	}
	if checked == 0 || refs == 0 {
		t.Fatalf("checked %d packages, %d reference packages of channeldata.json", checked, refs)
	}
}

// TestTestRecipes reads every package conda-build made for conda's solver tests. Their
// per-platform packages use the made-up subdirs linux-fake, osx-fake and win-fake, which an
// operator would have to allow.
func TestTestRecipes(t *testing.T) {
	root := filepath.Join(fixtures(t), "conda", "test-recipes")
	paths, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	lim := conda.DefaultLimits()
	lim.ExtraSubdirs = []string{"linux-fake", "osx-fake", "win-fake"}
	n := 0
	for _, path := range paths {
		if !isPackage(path) {
			continue
		}
		n++
		rel, _ := filepath.Rel(root, path)
		t.Run(rel, func(t *testing.T) {
			p, _ := readFixture(t, path, lim)
			if want := filepath.Base(filepath.Dir(path)); p.Subdir != want {
				t.Errorf("Subdir = %q, want %q", p.Subdir, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no packages under", root)
	}
}
