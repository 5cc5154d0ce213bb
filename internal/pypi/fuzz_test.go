package pypi_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

var fuzzFilenames = []string{"demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0.zip"}

func fuzzLimits() pypi.Limits {
	lim := pypi.DefaultLimits()
	lim.MinDecompressed = 4 << 20 // keep each run fast; the cap logic is the same
	return lim
}

// checkResult holds what every ReadDist result must satisfy: a Dist that agrees with its
// filename, or an *InvalidDistError with a reason (a bytes.Reader never fails).
func checkResult(t *testing.T, fn string, d *pypi.Dist, err error) {
	t.Helper()
	if err != nil {
		var ide *pypi.InvalidDistError
		if !errors.As(err, &ide) || ide.Reason == "" || ide.Filename != fn {
			t.Fatalf("error %v (%T) is not an *InvalidDistError for %q", err, err, fn)
		}
		return
	}
	f, ferr := pypi.ParseFilename(fn)
	if ferr != nil || d.Filename != f {
		t.Fatalf("Filename = %+v, want %+v", d.Filename, f)
	}
	if pypi.NormalizeName(d.Name) != pypi.NormalizeName(f.Project) || !pypi.ValidName(d.Name) {
		t.Fatalf("accepted Name %q for %q", d.Name, fn)
	}
	if canon, err := pypi.ParseVersion(d.Version); err != nil || canon != d.Version || pypi.CompareVersions(d.Version, f.Version) != 0 {
		t.Fatalf("accepted Version %q for %q", d.Version, fn)
	}
	if len(d.Metadata) == 0 || !utf8.Valid(d.Metadata) || d.MetadataVersion == "" {
		t.Fatalf("accepted metadata %q (version %q)", d.Metadata, d.MetadataVersion)
	}
	for _, s := range []string{d.Summary, d.RequiresPython} {
		if strings.ContainsAny(s, "\x00\r\n") || !utf8.ValidString(s) {
			t.Fatalf("accepted field %q", s)
		}
	}
}

// FuzzReadDist feeds arbitrary bytes to ReadDist under each extension. Whatever it gets, it
// must return a Dist that agrees with the filename or an *InvalidDistError, and never panic.
func FuzzReadDist(f *testing.F) {
	for _, spec := range []pypitest.Spec{
		{},
		{Kind: pypitest.TarGz},
		{Kind: pypitest.Zip},
		{Build: "1", Fields: []string{"Summary: s", "Requires-Python: >=3.8", "Classifier: A"}, Description: "d\n",
			Files: map[string][]byte{"demo/__init__.py": []byte("x = 1\n")}},
		{Kind: pypitest.TarGz, MetadataVersion: "1.0", Fields: []string{"Description: a\n        b"},
			Entries: []pypitest.Entry{{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "PKG-INFO"}}},
		{DataDescriptors: true, ZipStore: true},
		{MetaName: "other"},
		{Entries: []pypitest.Entry{{Name: "../x"}}},
		{Kind: pypitest.TarGz, Entries: []pypitest.Entry{{Name: "demo-1.0/PKG-INFO"}}},
	} {
		kind := map[pypitest.Kind]uint8{pypitest.Wheel: 0, pypitest.TarGz: 1, pypitest.Zip: 2}[spec.Kind]
		f.Add(pypitest.Build(f, spec), kind)
	}
	f.Add([]byte("PK\x03\x04"), uint8(0))
	f.Add([]byte("\x1f\x8b\x08"), uint8(1))
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		fn := fuzzFilenames[int(kind)%len(fuzzFilenames)]
		d, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), fn, lim)
		checkResult(t, fn, d, err)
	})
}

// FuzzReadDistMetadata fuzzes the metadata inside well-formed archives, where the header parsing
// and the name and version checks live; FuzzReadDist rarely gets through the compression.
func FuzzReadDistMetadata(f *testing.F) {
	for _, md := range []string{
		"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
		"Metadata-Version: 2.4\r\nName: Demo\r\nVersion: 1.0.0\r\nSummary: x\r\nRequires-Python: >=3.9,<4\r\n\r\nbody\xff",
		"Metadata-Version: 1.0\nName: demo\nVersion: v1.0\nDescription: a\n        b\n\tc\nRequires-Python: ~=3.1\n",
		"Metadata-Version: 2.1\nName: demo\nName: demo\nVersion: 1.0\n",
		"Metadata-Version: 2.1\nName: demo\nVersion: 1.0+Local-1\nSummary: caf\xc3\xa9\x1b\n",
		"name: demo\nversion: 1\nmetadata-version: 2.0",
	} {
		for kind := range uint8(3) {
			f.Add([]byte(md), kind)
		}
	}
	lim := fuzzLimits()
	f.Fuzz(func(t *testing.T, md []byte, kind uint8) {
		spec := pypitest.Spec{Kind: []pypitest.Kind{pypitest.Wheel, pypitest.TarGz, pypitest.Zip}[int(kind)%3], Metadata: md}
		data := pypitest.Build(t, spec)
		fn := spec.Filename()
		d, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), fn, lim)
		checkResult(t, fn, d, err)
		if err == nil && !bytes.Equal(d.Metadata, md) {
			t.Fatalf("Metadata = %q, want the bytes in the archive %q", d.Metadata, md)
		}
	})
}

// FuzzReadSdistTar fuzzes the tar inside a .tar.gz sdist, where the member checks live.
func FuzzReadSdistTar(f *testing.F) {
	for _, spec := range []pypitest.Spec{
		{Kind: pypitest.TarGz},
		{Kind: pypitest.TarGz, Files: map[string][]byte{"a/b.py": []byte("x")}, FirstEntries: []pypitest.Entry{
			{Name: "pax_global_header", Type: tar.TypeXGlobalHeader, Data: []byte("c")}},
			Entries: []pypitest.Entry{{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "a"}, {Name: "demo-1.0/h", Type: tar.TypeLink, Linkname: "demo-1.0/a/b.py"}}},
		{Kind: pypitest.TarGz, Entries: []pypitest.Entry{{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "."}, {Name: "demo-1.0/l/x"}}},
		{Kind: pypitest.TarGz, Entries: []pypitest.Entry{{Name: "../x"}, {Name: "demo-1.0/s", Mode: 0o4755}}},
	} {
		gz, err := gzip.NewReader(bytes.NewReader(pypitest.Build(f, spec)))
		if err != nil {
			f.Fatal(err)
		}
		raw, err := io.ReadAll(gz)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	lim := fuzzLimits()
	const fn = "demo-1.0.tar.gz"
	f.Fuzz(func(t *testing.T, raw []byte) {
		data := storedGzip(raw)
		d, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), fn, lim)
		checkResult(t, fn, d, err)
	})
}

// storedGzip wraps data in a gzip stream of stored (uncompressed) deflate blocks: compressing
// would cost the fuzzer most of its time.
func storedGzip(data []byte) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	trailer := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	trailer = binary.LittleEndian.AppendUint32(trailer, uint32(len(data)))
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), 0xffff)
		final := byte(0)
		if n == len(data) {
			final = 1
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, data[:n]...)
		data = data[n:]
	}
	return append(out, trailer...)
}

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"demo-1.0-py3-none-any.whl", "simplewheel-2.0-1-py2.py3-none-any.whl", "simple.dist-0.1-py1-none-invalid.whl",
		"numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "foo-bar-1.0-beta.tar.gz",
		"Upper-1.0.zip", "a-1!2.0+x.y-1_a-pp310-pypy310_pp73-any.whl", "-1.0.tar.gz", "../a-1.0.tar.gz", "a-1.0.tar.gz.whl",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		got, err := pypi.ParseFilename(fn)
		if err != nil {
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) || ide.Reason == "" || ide.Filename != fn {
				t.Fatalf("error %v is not an *InvalidDistError", err)
			}
			return
		}
		if got.String() != fn {
			t.Fatalf("%+v does not rebuild %q", got, fn)
		}
		if len(fn) > pypi.MaxFilenameLen {
			t.Fatalf("accepted %d bytes", len(fn))
		}
		for i := 0; i < len(fn); i++ {
			if c := fn[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '\\' {
				t.Fatalf("accepted byte %q in %q", c, fn)
			}
		}
		if !pypi.ValidName(got.Project) {
			t.Fatalf("accepted project %q", got.Project)
		}
		if _, err := pypi.ParseVersion(got.Version); err != nil {
			t.Fatalf("accepted version %q", got.Version)
		}
		switch got.Kind {
		case pypi.KindWheel:
			if got.Ext != pypi.ExtWheel || got.PyTag == "" || got.ABITag == "" || got.PlatTag == "" ||
				strings.Contains(got.Project+got.Version+got.Build+got.PyTag+got.ABITag+got.PlatTag, "-") {
				t.Fatalf("bad wheel parts %+v", got)
			}
		case pypi.KindSdist:
			if got.Ext != pypi.ExtTarGz && got.Ext != pypi.ExtZip || got.Build+got.PyTag+got.ABITag+got.PlatTag != "" {
				t.Fatalf("bad sdist parts %+v", got)
			}
		default:
			t.Fatalf("kind %q", got.Kind)
		}
	})
}

// nameRE is the PyPA name pattern with ASCII case-insensitivity spelled out: Go's (?i), like
// Python's re.IGNORECASE, would also let "ſ" and the Kelvin sign match [A-Z].
var nameRE = regexp.MustCompile(`^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$`)

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "Foo.Bar_baz-9", "-a", "a-", "a b", strings.Repeat("x", 201), "ä", "a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := nameRE.MatchString(name) && len(name) <= pypi.MaxNameLen
		if got := pypi.ValidName(name); got != want {
			t.Fatalf("ValidName(%q) = %v, want %v", name, got, want)
		}
	})
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"Foo__Bar.baz", "a", "A-_.-b", "-_.", "ÄB_c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n := pypi.NormalizeName(name)
		if pypi.NormalizeName(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", name, n, pypi.NormalizeName(n))
		}
		if strings.Contains(n, "--") || strings.ContainsAny(n, "_.ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("NormalizeName(%q) = %q", name, n)
		}
		if pypi.NormalizeName(asciiUpper(name)) != n {
			t.Fatalf("case changes the result for %q", name)
		}
		if pypi.ValidName(name) && (!pypi.ValidName(n) || len(n) > len(name)) {
			t.Fatalf("valid %q normalizes to %q", name, n)
		}
		if pypi.ValidName(name) && n != strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "-")) {
			t.Fatalf("NormalizeName(%q) = %q differs from PEP 503's re.sub", name, n)
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzParseVersion checks that the normalized form is a fixed point that compares equal to the
// input, and that CompareVersions is a total preorder, for valid and invalid strings alike.
func FuzzParseVersion(f *testing.F) {
	for _, s := range [][3]string{
		{"1.0", "1.0.0", "1.0a"}, {"1!0.1", "2.0+x", "1.1-1"}, {"1.1dev1", "1.1.post1", "2010i"},
		{"", "1..0", "0"}, {"1.0+a-1", "1.0+a.1", "1.0+a_b"}, {"V1.0RC1", "1.0c1", "1.0-rc.1"},
		{"1.0+abc.5", "1.0+5", "1.0+abc.07"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		if canon, err := pypi.ParseVersion(a); err == nil {
			again, err := pypi.ParseVersion(canon)
			if err != nil || again != canon {
				t.Fatalf("ParseVersion(%q) = %q, which parses as %q, %v", a, canon, again, err)
			}
			if pypi.CompareVersions(a, canon) != 0 {
				t.Fatalf("%q and its normal form %q differ", a, canon)
			}
		}
		ab, ba := pypi.CompareVersions(a, b), pypi.CompareVersions(b, a)
		if pypi.CompareVersions(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		bc, ac := pypi.CompareVersions(b, c), pypi.CompareVersions(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if ab == 0 && bc == 0 && ac != 0 {
			t.Fatalf("equality not transitive: %q %q %q", a, b, c)
		}
	})
}

// FuzzCanonicalFilename: whatever filename is accepted, its canonical spelling parses again,
// is its own canonical spelling, names the same distribution (one Key), spells the project the
// standard way; and the look-alikes made from it (other case, other separators, tag sets
// reordered, a leading zero on the build number) are the same distribution.
func FuzzCanonicalFilename(f *testing.F) {
	for _, s := range []string{
		"Col_Lide-1.0-py3-none-any.whl", "COL__lide-01.0.0-7a-py2.py3-none-any.whl", "col.lide-v1.0rc1.post2.dev3+Loc_al-PY3-None-ANY.whl",
		"numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "foo-bar-1.0-beta.tar.gz", "Upper-1!1.0.zip",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		canonical, key, err := pypi.CanonicalFilename(fn)
		if err != nil {
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) || ide.Reason == "" || ide.Filename != fn {
				t.Fatalf("error %v is not an *InvalidDistError", err)
			}
			return
		}
		orig, _ := pypi.ParseFilename(fn)
		again, akey, err := pypi.CanonicalFilename(canonical)
		if err != nil || again != canonical || akey != key {
			t.Fatalf("%q: canonical %q gives %q, key %q (want %q), %v", fn, canonical, again, akey, key, err)
		}
		c, _ := pypi.ParseFilename(canonical)
		if want := strings.ReplaceAll(pypi.NormalizeName(orig.Project), "-", "_"); c.Project != want {
			t.Fatalf("%q: canonical project %q, want %q", fn, c.Project, want)
		}
		if v, _ := pypi.ParseVersion(orig.Version); c.Version != v || c.Kind != orig.Kind || c.Ext != orig.Ext ||
			c.Build != orig.Build || c.PyTag != orig.PyTag || c.ABITag != orig.ABITag || c.PlatTag != orig.PlatTag {
			t.Fatalf("%q: canonical %+v changed more than the name and version", fn, c)
		}
		// A look-alike: the project in upper case with '.' for every separator, each tag set
		// upper case and reversed, a leading zero on the build number.
		look := orig
		look.Project = strings.Map(func(r rune) rune {
			if r == '-' || r == '_' {
				return '.'
			}
			return r
		}, strings.ToUpper(orig.Project))
		reverse := func(set string) string {
			tags := strings.Split(strings.ToUpper(set), ".")
			slices.Reverse(tags)
			return strings.Join(tags, ".")
		}
		if look.Kind == pypi.KindWheel {
			look.PyTag, look.ABITag, look.PlatTag = reverse(orig.PyTag), reverse(orig.ABITag), reverse(orig.PlatTag)
			if look.Build != "" {
				look.Build = "0" + look.Build
			}
		}
		if len(look.String()) > pypi.MaxFilenameLen {
			return
		}
		_, lkey, err := pypi.CanonicalFilename(look.String())
		if err != nil || lkey != key {
			t.Fatalf("look-alike %q of %q: key %q, want %q (%v)", look.String(), fn, lkey, key, err)
		}
	})
}
