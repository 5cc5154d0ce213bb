package repodata_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/repodata"
)

func TestChanneldata(t *testing.T) {
	mk := func(sub, fn, version string, bn, ts int64, about string, flags repodata.Flags, runExports string) repodata.PackageInfo {
		r := rec(fn, "z", version, map[string]any{"license": "MIT"})
		r.BuildNumber, r.Timestamp = bn, ts
		if runExports != "" {
			r.RunExports = json.RawMessage(runExports)
		}
		return repodata.PackageInfo{Record: r, Subdir: sub, About: json.RawMessage(about), Flags: flags}
	}
	infos := []repodata.PackageInfo{
		mk("linux-64", "z-1.2-0.conda", "1.2", 0, 1718000000000, `{"summary":"old","dev_url":"https://old","license":"GPL"}`,
			repodata.Flags{PreUnlink: true}, `{"weak":["z >=1.2"]}`),
		mk("linux-64", "z-1.10-0.conda", "1.10", 0, 1718000100000, `{"summary":"new","home":"https://z","tags":[]}`,
			repodata.Flags{PostLink: true}, `{"weak":["z >=1.10,<1.11"]}`),
		mk("osx-64", "z-1.10-1.conda", "1.10", 1, 1718000200000, `{"summary":"newest build\n  of z\n","keywords":["a<b"],"tags":["x"]}`,
			repodata.Flags{TextPrefix: true}, `{"weak":["z >=1.10"]}`),
		mk("osx-64", "z-1.10-1.tar.bz2", "1.10", 1, 1718000200000, `{"summary":"the same build, as .tar.bz2"}`,
			repodata.Flags{}, ""),
		mk("noarch", "y-1-0.tar.bz2", "1", 0, 0, ``, repodata.Flags{}, `{}`),
	}
	infos[4].Name = "y"
	out := repodata.BuildChanneldata(infos, compareVersions)
	got := decode(t, out)
	want := map[string]any{
		"channeldata_version": float64(1),
		"subdirs":             []any{"linux-64", "noarch", "osx-64"},
		"packages": map[string]any{
			"z": map[string]any{
				"version":           "1.10",
				"reference_package": "osx-64/z-1.10-1.conda",
				"subdirs":           []any{"linux-64", "osx-64"},
				"timestamp":         float64(1718000200),
				// The newest file that has each field gives it; the record's license wins over about's.
				"summary":  "newest build   of z",
				"keywords": []any{"a<b"},
				"tags":     []any{"x"},
				"home":     "https://z",
				"dev_url":  "https://old",
				"license":  "MIT",
				"run_exports": map[string]any{
					"1.2":  map[string]any{"weak": []any{"z >=1.2"}},
					"1.10": map[string]any{"weak": []any{"z >=1.10"}},
				},
				"activate.d": false, "deactivate.d": false, "pre_link": false, "post_link": true,
				"pre_unlink": true, "binary_prefix": false, "text_prefix": true,
			},
			"y": map[string]any{
				"version":           "1",
				"reference_package": "noarch/y-1-0.tar.bz2",
				"subdirs":           []any{"noarch"},
				"timestamp":         float64(0),
				"license":           "MIT",
				"run_exports":       map[string]any{},
				"activate.d":        false, "deactivate.d": false, "pre_link": false, "post_link": false,
				"pre_unlink": false, "binary_prefix": false, "text_prefix": false,
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("channeldata (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(out), `"a<b"`) {
		t.Errorf("HTML characters are escaped: %s", out)
	}
	// Input order does not matter.
	rev := make([]repodata.PackageInfo, len(infos))
	for i := range infos {
		rev[len(infos)-1-i] = infos[i]
	}
	if again := repodata.BuildChanneldata(rev, compareVersions); string(again) != string(out) {
		t.Errorf("channeldata depends on the input order:\n%s\n%s", out, again)
	}
	if empty := string(repodata.BuildChanneldata(nil, compareVersions)); empty != `{"channeldata_version":1,"packages":{},"subdirs":["noarch"]}` {
		t.Errorf("empty channeldata = %s", empty)
	}
}

// TestChanneldataSourceURL: source_url and source_git_url come from the package's source, the
// rendered recipe's, as conda-index takes them (and replace about.json's); the newest file
// that has each gives it.
func TestChanneldataSourceURL(t *testing.T) {
	mk := func(name, version string, ts int64, about, recipe string, index map[string]any) repodata.PackageInfo {
		r := rec(name+"-"+version+"-0.conda", name, version, index)
		r.Timestamp = ts
		in := repodata.PackageInfo{Record: r, Subdir: "noarch", About: json.RawMessage(about)}
		if recipe != "" {
			in.RecipeSource = json.RawMessage(recipe)
		}
		return in
	}
	infos := []repodata.PackageInfo{
		// z: the newest has a url; git_url only in an older one; about.json's source_url loses.
		mk("z", "2.0", 2, `{"source_url":"https://about/z"}`, `{"url":"https://z/2.0.tgz"}`, nil),
		mk("z", "1.0", 1, `{}`, `{"git_url":"https://github.com/z/z.git","url":"https://z/1.0.tgz"}`, nil),
		// y: no recipe read (a file stored before recipes were): about.json's stays.
		mk("y", "1.0", 1, `{"source_url":"https://about/y"}`, "", nil),
		// x: an empty url in the newest does not hide the older one's; a list of mirrors.
		mk("x", "2.0", 2, `{}`, `{"url":""}`, nil),
		mk("x", "1.0", 1, `{}`, `{"url":["https://a/x.tgz","https://b/x.tgz"]}`, nil),
		// w: about.json's own "source" stands for the recipe's.
		mk("w", "1.0", 1, `{"source":{"url":"https://about-source/w"}}`, `{"url":"https://recipe/w"}`, nil),
		// u: a recipe without a source mapping.
		mk("u", "1.0", 1, `{"home":"https://u"}`, `{}`, nil),
	}
	pkgs := decode(t, repodata.BuildChanneldata(infos, compareVersions))["packages"].(map[string]any)
	for _, c := range []struct {
		name, key string
		want      any
	}{
		{"z", "source_url", "https://z/2.0.tgz"},
		{"z", "source_git_url", "https://github.com/z/z.git"},
		{"y", "source_url", "https://about/y"},
		{"x", "source_url", []any{"https://a/x.tgz", "https://b/x.tgz"}},
		{"w", "source_url", "https://about-source/w"},
		{"u", "source_url", nil},
		{"u", "source_git_url", nil},
	} {
		if diff := cmp.Diff(c.want, pkgs[c.name].(map[string]any)[c.key]); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", c.name, c.key, diff)
		}
	}
}
