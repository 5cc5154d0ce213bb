package repodata_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/repodata"
)

// What conda-index 0.12.1 keeps in current_repodata.json (conda_index/index/current_repodata.py,
// which resolves with conda's Resolve and MatchSpec): for each name, every build whose version
// matches "name=V" for the newest version V (so pre-releases of V too); then, for each
// dependency of those that none of them satisfies, every build of the newest version that
// satisfies it (one level, not the dependencies' own); then, for a name whose kept builds
// track features, the newest older build without features. A .tar.bz2 whose .conda is there
// is left out, and each .conda records the .tar.bz2's md5 as legacy_bz2_md5 (null without
// one). conda-index cannot run here (it needs conda, from PyPI), so the expectations below
// were worked out by reading that code; the fixture channel conda wrote is checked as well.

// currentKeys returns the filenames current_repodata.json keeps, by group.
func currentKeys(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	m := decode(t, b)
	return map[string][]string{
		"packages":       keys(m["packages"].(map[string]any)),
		"packages.conda": keys(m["packages.conda"].(map[string]any)),
	}
}

func withDeps(fn, name, version string, deps ...string) repodata.Record {
	if deps == nil {
		deps = []string{}
	}
	return rec(fn, name, version, map[string]any{"depends": deps})
}

func TestCurrentRepodataKeepsWhatTheNewestDependOn(t *testing.T) {
	recs := []repodata.Record{
		// The case, from conda's test recipes.
		withDeps("buildstring-1.0-versioned_1.conda", "buildstring", "1.0", "versioned 1.*"),
		withDeps("buildstring-1.0-versioned_2.conda", "buildstring", "1.0", "versioned 2.*"),
		withDeps("versioned-1.0-0.conda", "versioned", "1.0"),
		withDeps("versioned-1.5-0.conda", "versioned", "1.5"), // the newest 1.*: both its builds stay
		withDeps("versioned-1.5-1.conda", "versioned", "1.5"),
		withDeps("versioned-2.0-0.conda", "versioned", "2.0"),
		// Ranges, a dependency nothing satisfies, and one level only: lib 1.2 stays for app,
		// but not deep 1.0 for lib 1.2.
		withDeps("app-1.0-0.conda", "app", "1.0", "lib <1"),
		withDeps("app-2.0-0.conda", "app", "2.0", "lib >=1.1,<2", "missing 1.*", "conda-forge::deep 1.*", "lib 1.2|1.4"),
		withDeps("lib-1.0-0.conda", "lib", "1.0"),
		withDeps("lib-1.2-0.conda", "lib", "1.2", "deep 1.*"),
		withDeps("lib-2.0-0.conda", "lib", "2.0", "deep 2.*"),
		withDeps("deep-1.0-0.conda", "deep", "1.0"),
		withDeps("deep-2.0-0.conda", "deep", "2.0"),
		// "name=1.10" is a prefix: the release candidates of the newest version stay.
		withDeps("pre-1.9-0.conda", "pre", "1.9"),
		withDeps("pre-1.10rc1-0.conda", "pre", "1.10rc1"),
		withDeps("pre-1.10-0.conda", "pre", "1.10"),
		// An invalid dependency is skipped, as is a glob name.
		withDeps("odd-1.0-0.conda", "odd", "1.0", "versioned ><1", "vers* 1.*"),
	}
	got := currentKeys(t, repodata.BuildCurrentRepodata("noarch", recs))
	want := map[string][]string{
		"packages": {},
		"packages.conda": {
			"app-2.0-0.conda", "buildstring-1.0-versioned_1.conda", "buildstring-1.0-versioned_2.conda",
			"deep-2.0-0.conda", "lib-1.2-0.conda", "lib-2.0-0.conda", "odd-1.0-0.conda",
			"pre-1.10-0.conda", "pre-1.10rc1-0.conda",
			"versioned-1.5-0.conda", "versioned-1.5-1.conda", "versioned-2.0-0.conda",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}
}

// TestCurrentRepodataDependencyMatch: the dependency's newest matching build picks the
// version, then every build of that version stays, the build string notwithstanding.
func TestCurrentRepodataDependencyMatch(t *testing.T) {
	x := func(fn, version, build string, bn int64) repodata.Record {
		r := rec(fn, "x", version, map[string]any{"build": build, "build_number": bn, "depends": []string{}})
		r.Build, r.BuildNumber = build, bn
		return r
	}
	recs := []repodata.Record{
		withDeps("y-1.0-0.conda", "y", "1.0", "x 1.* *_1", "x[version='>=0.5,<1.0a0']"),
		x("x-1.2-h_2.conda", "1.2", "h_2", 2), // newest 1.*, but not *_1
		x("x-1.2-h_1.conda", "1.2", "h_1", 1),
		x("x-1.1-h_1.conda", "1.1", "h_1", 1),
		x("x-0.9-h_1.conda", "0.9", "h_1", 1),
		x("x-0.8-h_1.conda", "0.8", "h_1", 1),
		x("x-2.0-h_0.conda", "2.0", "h_0", 0),
	}
	got := currentKeys(t, repodata.BuildCurrentRepodata("noarch", recs))
	want := []string{"x-0.9-h_1.conda", "x-1.2-h_1.conda", "x-1.2-h_2.conda", "x-2.0-h_0.conda", "y-1.0-0.conda"}
	if diff := cmp.Diff(want, got["packages.conda"]); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}
}

func TestCurrentRepodataFeatures(t *testing.T) {
	recs := []repodata.Record{
		rec("tf-2.0-0.conda", "tf", "2.0", map[string]any{"track_features": "tf2"}),
		rec("tf-1.5-0.conda", "tf", "1.5", map[string]any{"track_features": "tf15"}),
		rec("tf-1.0-0.conda", "tf", "1.0", map[string]any{"track_features": ""}), // newest without
		rec("tf-0.5-0.conda", "tf", "0.5", nil),
		rec("f-2.0-0.conda", "f", "2.0", map[string]any{"features": "x"}),
		rec("f-1.0-0.conda", "f", "1.0", map[string]any{"features": []string{"y"}}), // none without
		rec("plain-2.0-0.conda", "plain", "2.0", nil),
		rec("plain-1.0-0.conda", "plain", "1.0", nil),
	}
	got := currentKeys(t, repodata.BuildCurrentRepodata("noarch", recs))
	want := []string{"f-2.0-0.conda", "plain-2.0-0.conda", "tf-1.0-0.conda", "tf-2.0-0.conda"}
	if diff := cmp.Diff(want, got["packages.conda"]); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}
}

func TestCurrentRepodataCondaAndTarBz2(t *testing.T) {
	recs := []repodata.Record{
		rec("a-1.0-0.conda", "a", "1.0", nil),
		rec("a-1.0-0.tar.bz2", "a", "1.0", nil), // the .conda stands for it
		rec("b-1.0-0.tar.bz2", "b", "1.0", nil), // no .conda: it stays
		rec("c-1.0-0.conda", "c", "1.0", nil),
	}
	b := repodata.BuildCurrentRepodata("linux-64", recs)
	m := decode(t, b)
	want := map[string]any{
		"info":     map[string]any{"subdir": "linux-64"},
		"packages": map[string]any{"b-1.0-0.tar.bz2": decode(t, recs[2].JSON)},
		"packages.conda": map[string]any{
			"a-1.0-0.conda": withKey(decode(t, recs[0].JSON), "legacy_bz2_md5", decode(t, recs[1].JSON)["md5"]),
			"c-1.0-0.conda": withKey(decode(t, recs[3].JSON), "legacy_bz2_md5", nil),
		},
		"removed":          []any{},
		"repodata_version": float64(1),
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}
	// Keys stay sorted and compact, as in repodata.json.
	var c map[string]json.RawMessage
	json.Unmarshal(b, &c)
	var conda map[string]json.RawMessage
	json.Unmarshal(c["packages.conda"], &conda)
	again, _ := json.Marshal(decode(t, conda["c-1.0-0.conda"]))
	if !bytes.Equal(again, conda["c-1.0-0.conda"]) {
		t.Errorf("record is not compact with sorted keys: %s", conda["c-1.0-0.conda"])
	}
}

func withKey(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

// TestFixtureCurrentRepodata rebuilds the fixture channel's current_repodata.json, which conda's
// own indexer wrote, from its repodata.json. linux-64 is left out: its repodata.json lists a
// libgcc-ng that was added by hand after current_repodata.json was written.
func TestFixtureCurrentRepodata(t *testing.T) {
	for _, sub := range []string{"noarch", "osx-64", "win-32", "win-64"} {
		recs, _ := fixtureRecords(t, sub)
		var fx map[string]any
		readJSON(t, filepath.Join(fixtures(t), sub, "current_repodata.json"), &fx)
		if diff := cmp.Diff(fx, decode(t, repodata.BuildCurrentRepodata(sub, recs))); diff != "" {
			t.Errorf("%s (-fixture +built):\n%s", sub, diff)
		}
	}
}

// TestFixtureRecipesCurrentRepodata reads conda's test recipes (real packages built by
// conda-build) as the server does and checks current_repodata.json against what conda-index
// 0.12.1 keeps for them.
func TestFixtureRecipesCurrentRepodata(t *testing.T) {
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set (e.g. WHARF_FIXTURES=/work/shared/fixtures): the shared fixtures are not available")
	}
	for _, c := range []struct {
		sub  string
		want []string
	}{
		{"noarch", []string{
			"activate_deactivate_package-1.0-0.conda", "another_dependent-2.0-0.conda",
			"buildstring-1.0-versioned_1.conda", "buildstring-1.0-versioned_2.conda",
			"clobber-a-1.0-0.conda", "clobber-b-1.0-0.conda", "dependency-2.0-0.conda", "dependent-2.0-0.conda",
			"failing_post_link-1.0-0.conda", "feature-2.0-track_feature2_0.conda", "other_dependent-1.0-0.conda",
			"pip-99.99.99-py399_0.conda", "post_link-b-1.0-0.conda", "post_link-c-1.0-0.conda",
			"post_link-d-1.0-0.conda", "post_link-e-1.0-0.conda", "post_link_run_in_env_package-1.0-0.conda",
			"pre_link_messages_package-1.0-0.conda", "private-package-1.0-0.conda", "python-3.99.99-0.conda",
			"run_constrained-1.0-0.conda", "sample_noarch_python-1.0-py_0.conda", "small-executable-1.0-0.conda",
			"track_feature-2.0-0.conda", "unsatisfiable-1.0-0.conda",
			"versioned-1.0-0.conda", // buildstring-1.0-versioned_1 needs versioned 1.*
			"versioned-2.0-0.conda",
		}},
		{"linux-fake", []string{"arch-package-1.0-0.conda", "virtualdep-package-2.0-0.conda"}},
	} {
		files, err := filepath.Glob(filepath.Join(dir, "conda", "test-recipes", c.sub, "*.conda"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no packages (%v)", c.sub, err)
		}
		var recs []repodata.Record
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), filepath.Base(f), conda.Limits{ExtraSubdirs: []string{c.sub}})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			s, m := sha256.Sum256(data), md5.Sum(data)
			r, err := p.Record(hex.EncodeToString(s[:]), hex.EncodeToString(m[:]), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, r)
		}
		slices.SortFunc(recs, func(a, b repodata.Record) int { return strings.Compare(a.Filename, b.Filename) })
		b := repodata.BuildCurrentRepodata(c.sub, recs)
		got := currentKeys(t, b)
		if diff := cmp.Diff(map[string][]string{"packages": {}, "packages.conda": c.want}, got); diff != "" {
			t.Errorf("%s (-conda-index +built):\n%s", c.sub, diff)
		}
		for fn, r := range decode(t, b)["packages.conda"].(map[string]any) {
			if v, ok := r.(map[string]any)["legacy_bz2_md5"]; !ok || v != nil {
				t.Errorf("%s: legacy_bz2_md5 = %v (present %v), want null", fn, v, ok)
			}
		}
	}
}

// TestCurrentRepodataBoundsDependencyWork: an uploader writes the depends. A thousand distinct
// "victim >=0,>=0,…,<0.N", none satisfied, each compared with every one of two thousand
// builds, would cost 200 million comparisons (seconds of a core at each rebuild); the build
// stops resolving dependencies past its budget. The newest versions are all still there
// (conda then reads repodata.json for the rest); what later dependencies need is not.
func TestCurrentRepodataBoundsDependencyWork(t *testing.T) {
	var recs []repodata.Record
	for i := range 2000 {
		v := fmt.Sprintf("1.%d", i)
		recs = append(recs, withDeps("victim-"+v+"-0.conda", "victim", v))
	}
	var hostile []string
	for i := range 1000 {
		hostile = append(hostile, "victim "+strings.Repeat(">=0,", 99)+fmt.Sprintf("<0.%d", i))
	}
	recs = append(recs,
		withDeps("aaa-1.0-0.conda", "aaa", "1.0", hostile...),
		// Resolved after aaa's: past the budget, lib 1.0 is not looked for.
		withDeps("zzz-1.0-0.conda", "zzz", "1.0", "lib 1.*"),
		withDeps("lib-1.0-0.conda", "lib", "1.0"),
		withDeps("lib-2.0-0.conda", "lib", "2.0"),
	)
	got := currentKeys(t, repodata.BuildCurrentRepodata("noarch", recs))["packages.conda"]
	want := []string{"aaa-1.0-0.conda", "lib-2.0-0.conda", "victim-1.1999-0.conda", "zzz-1.0-0.conda"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("current_repodata (-want +got):\n%s", diff)
	}

	// One dependency can cost more than the budget by itself: a 4 KiB regular expression
	// (each match costs in proportion to its size) tried against every build, newest
	// first, before the one it matches. It is given up part way.
	recs = append(recs[:2000], withDeps("aaa-1.0-0.conda", "aaa", "1.0", `victim ^1\.0$|^`+strings.Repeat("9", 4000)+"$"))
	got = currentKeys(t, repodata.BuildCurrentRepodata("noarch", recs))["packages.conda"]
	want = []string{"aaa-1.0-0.conda", "victim-1.1999-0.conda"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("current_repodata with one costly dependency (-want +got):\n%s", diff)
	}
}
