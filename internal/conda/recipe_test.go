package conda_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
)

const zlibRecipe = `# This file created by conda-build 3.16.2
package:
    name: zlib
    version: 1.2.11
source:
    fn: zlib-1.2.11.tar.gz
    sha256: c3e5e9fdd5004dcb542feda5ee4f0ff0744628baf8ed2dd5d66f8ca1197cb1a1
    url: http://zlib.net/zlib-1.2.11.tar.gz
build:
    number: '3'
about:
    home: http://zlib.net/
`

func TestRecipeSource(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 9; i++ {
		name := string(rune('b' + i))
		bomb += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	bomb += "source: {url: *j}\n"
	// Wide rather than deep (10^8 values from 1 KB): nodes are never expanded but for the
	// values taken, and those within a budget.
	wide := "a: &a [" + strings.TrimSuffix(strings.Repeat("x,", 100), ",") + "]\n"
	for _, l := range []string{"b", "c", "d"} {
		prev := string(rune(l[0] - 1))
		wide += l + ": &" + l + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 100), ",") + "]\n"
	}
	wide += "source: {url: *d, git_url: ok}\n"
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"conda-build's rendered recipe", zlibRecipe, `{"url":"http://zlib.net/zlib-1.2.11.tar.gz"}`},
		{"git source", "source:\n  git_url: https://github.com/x/y.git\n  git_rev: v1\n", `{"git_url":"https://github.com/x/y.git"}`},
		{"both", "source: {url: u, git_url: g}", `{"git_url":"g","url":"u"}`},
		{"mirrors", "source:\n  url:\n    - https://a/x.tgz\n    - https://b/x.tgz\n", `{"url":["https://a/x.tgz","https://b/x.tgz"]}`},
		{"an empty url stays, as conda-index copies it", "source: {url: ''}", `{"url":""}`},
		{"a null url", "source: {url: null}", `{"url":null}`},
		{"a number", "source: {url: 12}", `{"url":12}`},
		{"no source", "package: {name: x}", `{}`},
		{"a list of sources", "source:\n  - url: https://a\n  - url: https://b\n", `{}`},
		{"source not a mapping", "source: https://a", `{}`},
		{"not a mapping", "- a\n- b\n", `{}`},
		{"empty", "", `{}`},
		{"only a comment", "# nothing\n", `{}`},
		{"invalid YAML", "source: {url: [\n", `{}`},
		{"a duplicate key", "source: {url: a}\nsource: {url: b}\n", `{}`},
		{"two documents", "source: {url: a}\n---\nsource: {url: b}\n", `{}`},
		{"an alias bomb", bomb, `{}`},
		{"a wide alias bomb", wide, `{"git_url":"ok"}`},
		{"an alias", "mirror: &m https://m/x.tgz\nsource: {url: *m}\n", `{"url":"https://m/x.tgz"}`},
		{"a merge key", "base: &base {url: u, git_url: b}\nsource: {<<: *base, git_url: g}\n", `{"git_url":"g","url":"u"}`},
		{"a quoted key", "source: {'url': a}", `{"url":"a"}`},
		{"a timestamp", "source: {url: 2001-12-14}", `{}`},
		{"deep nesting", "source: {url: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}", `{}`},
		{"a NaN", "source: {url: .nan}", `{}`},
		{"non-string keys", "source: {1: a, url: b}", `{"url":"b"}`},
	} {
		got := conda.RecipeSource([]byte(c.yaml))
		if string(got) != c.want {
			t.Errorf("%s: RecipeSource = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestReadPackageRecipe(t *testing.T) {
	for _, f := range []condatest.Format{condatest.Conda, condatest.TarBz2} {
		p := mustRead(t, condatest.Spec{Format: f, Info: map[string][]byte{"recipe/meta.yaml": []byte(zlibRecipe)}})
		if string(p.RecipeSource) != `{"url":"http://zlib.net/zlib-1.2.11.tar.gz"}` {
			t.Errorf("%s: RecipeSource = %s", f, p.RecipeSource)
		}
		// No recipe: {}.
		if p := mustRead(t, condatest.Spec{Format: f}); string(p.RecipeSource) != `{}` {
			t.Errorf("%s without a recipe: RecipeSource = %s", f, p.RecipeSource)
		}
		// The first recipe member met is the one read, as in conda-index (members are written
		// sorted: info/meta.yaml comes first).
		p = mustRead(t, condatest.Spec{Format: f, Info: map[string][]byte{
			"meta.yaml": []byte("source: {url: first}"), "recipe/meta.yaml": []byte("source: {url: second}")}})
		if string(p.RecipeSource) != `{"url":"first"}` {
			t.Errorf("%s: RecipeSource = %s, want the first recipe's", f, p.RecipeSource)
		}
		// A recipe that is not YAML does not refuse the package.
		if p := mustRead(t, condatest.Spec{Format: f, Info: map[string][]byte{"recipe/meta.yaml": []byte("{{ jinja }}: [")}}); string(p.RecipeSource) != `{}` {
			t.Errorf("%s: RecipeSource of a broken recipe = %s", f, p.RecipeSource)
		}
		// One over the cap is passed over, not read, and does not refuse the package either.
		spec := condatest.Spec{Format: f, Info: map[string][]byte{"recipe/meta.yaml": []byte(zlibRecipe + "# " + strings.Repeat("x", 2000) + "\n")}}
		data := condatest.Build(t, spec)
		lim := conda.DefaultLimits()
		lim.MaxRecipeYAML = 1024
		p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), lim)
		if err != nil || string(p.RecipeSource) != `{}` {
			t.Errorf("%s: an oversize recipe: %v, RecipeSource %s", f, err, p.RecipeSource)
		}
	}
}

// FuzzRecipeSource: whatever the recipe, RecipeSource answers a JSON object, and only with
// the keys channeldata takes.
func FuzzRecipeSource(f *testing.F) {
	for _, s := range []string{zlibRecipe, "source: {url: [a, b], git_url: g}", "source:\n  - url: a\n", "a: &a [1]\nb: *a\n",
		"source: !!binary aGVsbG8=", "source: {url: 2001-12-14t21:59:43.10-05:00}", "%YAML 1.1\n---\nsource: {url: yes}\n", "? [a]\n: b\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := conda.RecipeSource(data)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(got, &m); err != nil || m == nil {
			t.Fatalf("RecipeSource = %q: %v", got, err)
		}
		for k := range m {
			if k != "url" && k != "git_url" {
				t.Fatalf("RecipeSource has %q", k)
			}
		}
	})
}

func TestReadRecipeSource(t *testing.T) {
	for _, f := range []condatest.Format{condatest.Conda, condatest.TarBz2} {
		spec := condatest.Spec{Format: f, Info: map[string][]byte{"recipe/meta.yaml": []byte(zlibRecipe)},
			Files: map[string][]byte{"lib/big": bytes.Repeat([]byte("x"), 1<<20)}}
		data := condatest.Build(t, spec)
		got, err := conda.ReadRecipeSource(bytes.NewReader(data), int64(len(data)), spec.Filename(), conda.DefaultLimits())
		if err != nil || string(got) != `{"url":"http://zlib.net/zlib-1.2.11.tar.gz"}` {
			t.Errorf("%s: ReadRecipeSource = %s, %v", f, got, err)
		}
		// The same answer as ReadPackage's.
		p := mustRead(t, spec)
		if string(p.RecipeSource) != string(got) {
			t.Errorf("%s: ReadPackage gives %s, ReadRecipeSource %s", f, p.RecipeSource, got)
		}
		// No recipe: {}; not a package: an *InvalidPackageError.
		plain := condatest.Spec{Format: f}
		data = condatest.Build(t, plain)
		if got, err := conda.ReadRecipeSource(bytes.NewReader(data), int64(len(data)), plain.Filename(), conda.DefaultLimits()); err != nil || string(got) != `{}` {
			t.Errorf("%s without a recipe: %s, %v", f, got, err)
		}
		var ipe *conda.InvalidPackageError
		if _, err := conda.ReadRecipeSource(strings.NewReader("garbage"), 7, plain.Filename(), conda.DefaultLimits()); !errors.As(err, &ipe) {
			t.Errorf("%s: garbage gives %v, want an *InvalidPackageError", f, err)
		}
	}
}
