package pypi_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/pypi"
)

// fixtures returns $WHARF_FIXTURES/pypi or skips the test.
func fixtures(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set; set it to the shared fixtures directory (e.g. /work/shared/fixtures) to run the tests over real distributions")
	}
	return filepath.Join(dir, "pypi")
}

func readFile(t *testing.T, path string) (*pypi.Dist, []byte, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), filepath.Base(path), pypi.DefaultLimits())
	return d, data, err
}

// TestFixturesBroken checks that pip's broken test distributions are refused, each for the
// reason that makes it broken.
func TestFixturesBroken(t *testing.T) {
	dir := fixtures(t)
	for fn, want := range brokenFixtures {
		t.Run(fn, func(t *testing.T) {
			d, _, err := readFile(t, filepath.Join(dir, fn))
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) {
				t.Fatalf("ReadDist = %+v, %v; want an *InvalidDistError", d, err)
			}
			t.Log(err)
			if !strings.Contains(ide.Reason, want) {
				t.Errorf("reason %q does not say %q", ide.Reason, want)
			}
			if ide.Filename != fn {
				t.Errorf("Filename = %q", ide.Filename)
			}
		})
	}
}

var brokenFixtures = map[string]string{
	"corruptwheel-1.0-py2.py3-none-any.whl":  "not a zip archive",
	"brokenwheel-1.0-py2.py3-none-any.whl":   `metadata directory "simple.dist-0.1.dist-info" is for simple.dist 0.1, but the filename says brokenwheel 1.0`,
	"invalid_version-2010i-py3-none-any.whl": `the version "2010i" is not a valid PEP 440 version`,
	"simple.dist-0.1-py1-none-invalid.whl":   `the Python tag "py1" names Python 1`,
}

// TestFixturesValid reads every other distribution in the folder: each must be accepted, agree
// with its filename and keep its metadata byte for byte; a few are checked field by field.
func TestFixturesValid(t *testing.T) {
	dir := fixtures(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ name, version, metadataVersion, requiresPython, summary, kind, build string }
	checked := map[string]want{
		"simplewheel-2.0-1-py2.py3-none-any.whl": {"simplewheel", "2.0", "2.0", "", "UNKNOWN", pypi.KindWheel, "1"},
		"pkg_prerelease-1.0a1-py3-none-any.whl":  {"pkg-prerelease", "1.0a1", "2.4", "", "", pypi.KindWheel, ""},
		"has.script-1.0-py2.py3-none-any.whl":    {"has.script", "1.0", "2.0", "", "UNKNOWN", pypi.KindWheel, ""},
		"colander-0.9.9-py2.py3-none-any.whl": {"colander", "0.9.9", "2.0", "",
			"A simple schema-based serialization and deserialization library", pypi.KindWheel, ""},
		"Upper-2.0.tar.gz": {"Upper", "2.0", "1.0", "", "UNKNOWN", pypi.KindSdist, ""},
		"translationstring-1.1.tar.gz": {"translationstring", "1.1", "1.0", "",
			"Utility library for i18n relied on by various Repoze and Pyramid packages", pypi.KindSdist, ""},
	}
	n := 0
	for _, e := range entries {
		fn := e.Name()
		if _, broken := brokenFixtures[fn]; broken || e.IsDir() || strings.HasPrefix(fn, ".") {
			continue
		}
		n++
		t.Run(fn, func(t *testing.T) {
			d, data, err := readFile(t, filepath.Join(dir, fn))
			if err != nil {
				t.Fatalf("ReadDist: %v", err)
			}
			if d.Filename.String() != fn {
				t.Errorf("Filename %+v does not rebuild %q", d.Filename, fn)
			}
			if pypi.NormalizeName(d.Name) != pypi.NormalizeName(d.Filename.Project) || pypi.CompareVersions(d.Version, d.Filename.Version) != 0 {
				t.Errorf("metadata %s %s does not match the filename", d.Name, d.Version)
			}
			if want := metadataMember(t, data, d); !bytes.Equal(d.Metadata, want) {
				t.Errorf("Metadata = %q\nwant the member's bytes %q", d.Metadata, want)
			}
			w, ok := checked[fn]
			if !ok {
				return
			}
			got := want{d.Name, d.Version, d.MetadataVersion, d.RequiresPython, d.Summary, d.Filename.Kind, d.Filename.Build}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
	if n < 15 {
		t.Errorf("only %d valid fixtures found in %s", n, dir)
	}
	for fn := range checked {
		if !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == fn }) {
			t.Errorf("fixture %s is missing", fn)
		}
	}
}

// metadataMember reads the metadata file of a distribution with the standard library alone.
func metadataMember(t *testing.T, data []byte, d *pypi.Dist) []byte {
	t.Helper()
	want := d.Filename.Project + "-" + d.Filename.Version + "/PKG-INFO"
	if d.Filename.Kind == pypi.KindWheel {
		want = d.Filename.Project + "-" + d.Filename.Version + ".dist-info/METADATA"
	}
	if d.Filename.Ext == pypi.ExtTarGz {
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err != nil {
				t.Fatalf("no %s: %v", want, err)
			}
			if h.Name == want {
				b, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
