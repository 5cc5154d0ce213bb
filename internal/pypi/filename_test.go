package pypi_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/pypi"
)

func TestParseFilename(t *testing.T) {
	wheel := func(project, version, build, py, abi, plat string) pypi.Filename {
		return pypi.Filename{Kind: pypi.KindWheel, Project: project, Version: version, Build: build, PyTag: py, ABITag: abi, PlatTag: plat, Ext: ".whl"}
	}
	sdist := func(project, version, ext string) pypi.Filename {
		return pypi.Filename{Kind: pypi.KindSdist, Project: project, Version: version, Ext: ext}
	}
	for fn, want := range map[string]pypi.Filename{
		"demo_lib-1.0-py3-none-any.whl":                                           wheel("demo_lib", "1.0", "", "py3", "none", "any"),
		"simplewheel-2.0-1-py2.py3-none-any.whl":                                  wheel("simplewheel", "2.0", "1", "py2.py3", "none", "any"),
		"simple.dist-0.1-py2.py3-none-any.whl":                                    wheel("simple.dist", "0.1", "", "py2.py3", "none", "any"),
		"Upper-1.0-py3-fakeabi-fakeplat.whl":                                      wheel("Upper", "1.0", "", "py3", "fakeabi", "fakeplat"),
		"numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl":  wheel("numpy", "2.1.0", "", "cp312", "cp312", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
		"torch-2.4.0+cu121-cp311-cp311-win_amd64.whl":                             wheel("torch", "2.4.0+cu121", "", "cp311", "cp311", "win_amd64"),
		"pkg-1.0-12abc_x-pp310-pypy310_pp73-macosx_11_0_arm64.whl":                wheel("pkg", "1.0", "12abc_x", "pp310", "pypy310_pp73", "macosx_11_0_arm64"),
		"x-1!2.0rc1.post3.dev4-graalpy311-graalpy242_311_native-linux_x86_64.whl": wheel("x", "1!2.0rc1.post3.dev4", "", "graalpy311", "graalpy242_311_native", "linux_x86_64"),
		"demo_lib-1.0.tar.gz":                                                     sdist("demo_lib", "1.0", ".tar.gz"),
		"Upper-2.0.tar.gz":                                                        sdist("Upper", "2.0", ".tar.gz"),
		"demo-1.0.zip":                                                            sdist("demo", "1.0", ".zip"),
		"foo-bar-1.0.tar.gz":                                                      sdist("foo-bar", "1.0", ".tar.gz"),
		"foo-bar-baz-2.0rc1.zip":                                                  sdist("foo-bar-baz", "2.0rc1", ".zip"),
		"foo-1.0-beta.tar.gz":                                                     sdist("foo", "1.0-beta", ".tar.gz"), // "beta" alone is no version
		"foo-2-1.0.tar.gz":                                                        sdist("foo-2", "1.0", ".tar.gz"),
		"foo-1.0-1.tar.gz":                                                        sdist("foo-1.0", "1", ".tar.gz"), // the last '-' wins
		"foo-v1.0.tar.gz":                                                         sdist("foo", "v1.0", ".tar.gz"),
	} {
		got, err := pypi.ParseFilename(fn)
		if err != nil {
			t.Errorf("ParseFilename(%q): %v", fn, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseFilename(%q) (-want +got):\n%s", fn, diff)
		}
		if got.String() != fn {
			t.Errorf("%q.String() = %q", fn, got.String())
		}
	}
}

func TestParseFilenameRefuses(t *testing.T) {
	for fn, want := range map[string]string{
		"":                                       "empty",
		strings.Repeat("a", 250) + "-1.0.tar.gz": "longer than 255 bytes",
		"../demo-1.0.tar.gz":                     "path separator",
		`dir\demo-1.0.tar.gz`:                    "path separator",
		"demo-1.0.tar.gz\x00.whl":                "NUL",
		"demo 1-1.0.tar.gz":                      "whitespace",
		"demo-1.0\n.tar.gz":                      "whitespace or a control character",
		"démo-1.0.tar.gz":                        "non-ASCII",
		"demo-1.0.tar.bz2":                       "must end in .whl, .tar.gz or .zip",
		"demo-1.0-py2.7.egg":                     "must end in .whl, .tar.gz or .zip",
		"demo-1.0.TAR.GZ":                        "must end in .whl, .tar.gz or .zip",
		"demo.tar.gz":                            "{name}-{version}.tar.gz",
		"demo-latest.tar.gz":                     "{name}-{version}.tar.gz",
		"-1.0.tar.gz":                            "{name}-{version}.tar.gz",
		"_demo-1.0.zip":                          `project name "_demo" is not valid`,
		"demo-1.0.whl":                           "{name}-{version}(-{build})?-{python tag}",
		"demo-1.0-py3-none.whl":                  "{name}-{version}(-{build})?-{python tag}",
		"a-b-1.0-2-py3-none-any-x.whl":           "{name}-{version}(-{build})?-{python tag}",
		"demo-1.0--py3-none-any.whl":             "no empty part",
		"de+mo-1.0-py3-none-any.whl":             `project name "de+mo" is not valid`,
		"invalid_version-2010i-py3-none-any.whl": `the version "2010i" is not a valid PEP 440 version`,
		"demo-1.0-x1-py3-none-any.whl":           `build tag "x1" must start with a digit`,
		"demo-1.0-1+x-py3-none-any.whl":          `build tag "1+x"`,
		"simple.dist-0.1-py1-none-invalid.whl":   `the Python tag "py1" names Python 1`,
		"demo-1.0-cp0-none-any.whl":              `"cp0" names Python 0`,
		"demo-1.0-py-none-any.whl":               `Python tag "py" must be an interpreter followed by a version`,
		"demo-1.0-3-none-any.whl":                `Python tag "3" must be`,
		"demo-1.0-py2..py3-none-any.whl":         "Python tag \"py2..py3\" has an empty part",
		"demo-1.0-py3-no+ne-any.whl":             `ABI tag "no+ne" may hold only`,
		"demo-1.0-py3-none-any.:whl":             "must end in",
		"demo-1.0-py3-none-linux.x86_64..whl":    `platform tag "linux.x86_64." has an empty part`,
	} {
		f, err := pypi.ParseFilename(fn)
		var ide *pypi.InvalidDistError
		if !errors.As(err, &ide) {
			t.Errorf("ParseFilename(%q) = %+v, %v; want an *InvalidDistError", fn, f, err)
			continue
		}
		if !strings.Contains(ide.Reason, want) || ide.Filename != fn {
			t.Errorf("ParseFilename(%q): %v; want a reason with %q", fn, err, want)
		}
	}
}

// TestCanonicalFilename: look-alike spellings of one distribution have one canonical filename
// (or, where only the version's spelling differs, one key), and different distributions have
// different keys.
func TestCanonicalFilename(t *testing.T) {
	for _, c := range []struct{ fn, canonical, sameAs string }{
		// The spellings of issue 12: one distribution, one stored name.
		{"Col_Lide-1.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", ""},
		{"col_lide-1.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		{"col.lide-1.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		{"COL__lide-1.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		// The version is normalized; equal versions are one distribution.
		{"col_lide-01.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		{"col_lide-1.0.0-py3-none-any.whl", "col_lide-1.0.0-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		{"col_lide-v1-py3-none-any.whl", "col_lide-1-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		{"col_lide-0!1.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", "Col_Lide-1.0-py3-none-any.whl"},
		// Tag sets are sets: case and order do not make another distribution; the tags are
		// stored as they came.
		{"col_lide-1.0-py2.py3-none-any.whl", "col_lide-1.0-py2.py3-none-any.whl", ""},
		{"Col.Lide-1.0-PY3.py2-None-ANY.whl", "col_lide-1.0-PY3.py2-None-ANY.whl", "col_lide-1.0-py2.py3-none-any.whl"},
		// Build tags: by number, then the rest.
		{"col_lide-1.0-1-py3-none-any.whl", "col_lide-1.0-1-py3-none-any.whl", ""},
		{"col_lide-1.0-01-py3-none-any.whl", "col_lide-1.0-01-py3-none-any.whl", "col_lide-1.0-1-py3-none-any.whl"},
		// sdists (PEP 625): one per release, .tar.gz or .zip.
		{"Col.Lide-1.0.tar.gz", "col_lide-1.0.tar.gz", ""},
		{"col-lide-1.0.0.zip", "col_lide-1.0.0.zip", "Col.Lide-1.0.tar.gz"},
		{"foo-1.0-beta.tar.gz", "foo-1.0b0.tar.gz", ""},
		{"foo-1.0b0.post0.tar.gz", "foo-1.0b0.post0.tar.gz", ""},
		{"foo-1.0.0b0.post0.tar.gz", "foo-1.0.0b0.post0.tar.gz", "foo-1.0b0.post0.tar.gz"},
		{"foo-1!2.0+Local.0.tar.gz", "foo-1!2.0+local.0.tar.gz", ""},
		{"foo-1!2+local_0.tar.gz", "foo-1!2+local.0.tar.gz", "foo-1!2.0+Local.0.tar.gz"},
		{"foo-1!2+local.00.tar.gz", "foo-1!2+local.0.tar.gz", "foo-1!2.0+Local.0.tar.gz"},
	} {
		canonical, key, err := pypi.CanonicalFilename(c.fn)
		if err != nil || canonical != c.canonical {
			t.Errorf("CanonicalFilename(%q) = %q, %v; want %q", c.fn, canonical, err, c.canonical)
		}
		if c.sameAs != "" {
			if _, other, _ := pypi.CanonicalFilename(c.sameAs); key != other {
				t.Errorf("%q has key %q, %q has %q: want one distribution", c.fn, key, c.sameAs, other)
			}
		}
	}
	// Different distributions: other project, version, build, tags, kind.
	keys := map[string]string{}
	for _, fn := range []string{
		"col_lide-1.0-py3-none-any.whl", "col_lide-1.0.1-py3-none-any.whl", "col_lide-1.0-1-py3-none-any.whl",
		"col_lide-1.0-1a-py3-none-any.whl", "col_lide-1.0-2-py3-none-any.whl", "col_lide-1.0-py2.py3-none-any.whl",
		"col_lide-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "col_lide-1.0-cp312-abi3-manylinux_2_17_x86_64.whl",
		"col_lide-1.0.tar.gz", "col_lide-1.0+local-py3-none-any.whl", "col_lide-1.0rc1-py3-none-any.whl",
		"col_lide-1.0.post1-py3-none-any.whl", "col_lide-1!1.0-py3-none-any.whl", "collide-1.0-py3-none-any.whl",
		"col_lide_2-1.0-py3-none-any.whl", "col-lide-2-1.0.tar.gz",
	} {
		_, key, err := pypi.CanonicalFilename(fn)
		if err != nil {
			t.Fatalf("CanonicalFilename(%q): %v", fn, err)
		}
		if other, dup := keys[key]; dup {
			t.Errorf("%q and %q have one key %q", fn, other, key)
		}
		keys[key] = fn
	}
	// A name that grows past the limit when spelt the standard way is refused.
	long := strings.Repeat("b", pypi.MaxNameLen) + "-11" + strings.Repeat(".0", 22) + "a.tar.gz" // …a0
	if len(long) != pypi.MaxFilenameLen {
		t.Fatalf("the long name is %d bytes", len(long))
	}
	if _, _, err := pypi.CanonicalFilename(long); err == nil || !strings.Contains(err.Error(), "longer than 255 bytes") {
		t.Errorf("a %d-byte name that grows when normalized: %v", len(long), err)
	}
}
