package pypi_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

const gib = 1 << 30

func read(t testing.TB, spec pypitest.Spec) (*pypi.Dist, error) {
	t.Helper()
	data := pypitest.Build(t, spec)
	return pypi.ReadDist(bytes.NewReader(data), int64(len(data)), spec.Filename(), pypi.DefaultLimits())
}

func withKind(s pypitest.Spec, k pypitest.Kind) pypitest.Spec {
	s.Kind = k
	return s
}

var kinds = []pypitest.Kind{pypitest.Wheel, pypitest.TarGz, pypitest.Zip}

func TestReadDistMinimal(t *testing.T) {
	tests := []struct {
		spec pypitest.Spec
		want *pypi.Dist
	}{
		{pypitest.Spec{}, &pypi.Dist{
			Filename: pypi.Filename{Kind: "wheel", Project: "demo", Version: "1.0", PyTag: "py3", ABITag: "none", PlatTag: "any", Ext: ".whl"},
			Name:     "demo", Version: "1.0", MetadataVersion: "2.4",
			Metadata: []byte("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"),
		}},
		{pypitest.Spec{Kind: pypitest.TarGz}, &pypi.Dist{
			Filename: pypi.Filename{Kind: "sdist", Project: "demo", Version: "1.0", Ext: ".tar.gz"},
			Name:     "demo", Version: "1.0", MetadataVersion: "2.4",
			Metadata: []byte("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"),
		}},
		{pypitest.Spec{Kind: pypitest.Zip, Name: "demo-lib", MetaName: "Demo.Lib", Version: "2.0.0rc1", MetaVersion: "2.0.0-RC.1",
			Fields: []string{"Summary: A demo", "Requires-Python: >=3.9, <4"}},
			&pypi.Dist{
				Filename: pypi.Filename{Kind: "sdist", Project: "demo_lib", Version: "2.0.0rc1", Ext: ".zip"},
				Name:     "Demo.Lib", Version: "2.0.0rc1", MetadataVersion: "2.4", Summary: "A demo", RequiresPython: ">=3.9, <4",
				Metadata: []byte("Metadata-Version: 2.4\nName: Demo.Lib\nVersion: 2.0.0-RC.1\nSummary: A demo\nRequires-Python: >=3.9, <4\n"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Filename(), func(t *testing.T) {
			d, err := read(t, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, d); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadDistValid(t *testing.T) {
	zipEntries := func(n int) []pypitest.Entry {
		es := make([]pypitest.Entry, n)
		for i := range es {
			es[i] = pypitest.Entry{Name: fmt.Sprintf("demo/m%06d.py", i)}
		}
		return es
	}
	tests := []struct {
		name  string
		spec  pypitest.Spec
		check func(t *testing.T, d *pypi.Dist)
	}{
		{"wheel with payload, build tag and tag sets", pypitest.Spec{Build: "7", Tags: "py2.py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64",
			Files: map[string][]byte{"demo/__init__.py": []byte("x = 1\n"), "demo-1.0.data/scripts/demo": []byte("#!python\n")}},
			func(t *testing.T, d *pypi.Dist) {
				if d.Filename.Build != "7" || d.Filename.PlatTag != "manylinux_2_17_x86_64.manylinux2014_x86_64" {
					t.Errorf("Filename = %+v", d.Filename)
				}
			}},
		{"project normalized: file demo_lib, metadata Demo.Lib", pypitest.Spec{Name: "demo-lib", MetaName: "Demo.Lib"}, nil},
		{"old wheel with dots in the name", pypitest.Spec{Name: "has.script", MetadataVersion: "2.0"}, nil},
		{"version equal by PEP 440: file 1.0, metadata 1.0.0", pypitest.Spec{MetaVersion: "1.0.0"},
			func(t *testing.T, d *pypi.Dist) {
				if d.Version != "1.0.0" || d.Filename.Version != "1.0" {
					t.Errorf("Version %q, filename %q", d.Version, d.Filename.Version)
				}
			}},
		{"local version", pypitest.Spec{Version: "2.4.0+cu121", Tags: "cp312-cp312-linux_x86_64"}, nil},
		{"epoch and everything", pypitest.Spec{Version: "1!2.0rc1.post3.dev4"}, nil},
		{"description in the body, repeated fields, CRLF", pypitest.Spec{
			Metadata: []byte("Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\nClassifier: A\r\nClassifier: B\r\nRequires-Dist: x; extra == 'y'\r\n" +
				"Requires-Dist: z\r\nSummary: Sum\r\n\r\nLong\r\ndescription: not a header\r\n")},
			func(t *testing.T, d *pypi.Dist) {
				if d.Summary != "Sum" || d.MetadataVersion != "2.1" {
					t.Errorf("got %+v", d)
				}
			}},
		{"metadata 1.0 with a folded Description header", pypitest.Spec{Kind: pypitest.TarGz, MetadataVersion: "1.0",
			Fields: []string{"Description: Line one\n        \n        Line: two", "Summary: UNKNOWN"}}, nil},
		{"metadata without a final newline", pypitest.Spec{Metadata: []byte("Metadata-Version: 2.2\nName: demo\nVersion: 1.0")}, nil},
		{"unicode summary, tab in summary", pypitest.Spec{Fields: []string{"Summary: naïve\t😀 <b>"}},
			func(t *testing.T, d *pypi.Dist) {
				if d.Summary != "naïve\t😀 <b>" {
					t.Errorf("Summary = %q", d.Summary)
				}
			}},
		{"requires-python forms", pypitest.Spec{Fields: []string{"Requires-Python: ~=3.10,!=3.11.*,==3.*,>3.9.0,===foo ,<=4"}}, nil},
		{"field names in any case", pypitest.Spec{Metadata: []byte("metadata-version: 2.1\nNAME: demo\nversion: 1.0\nrequires-python: >=3\n")},
			func(t *testing.T, d *pypi.Dist) {
				if d.RequiresPython != ">=3" {
					t.Errorf("RequiresPython = %q", d.RequiresPython)
				}
			}},
		{"stored members and data descriptors", pypitest.Spec{ZipStore: true, DataDescriptors: true,
			Files: map[string][]byte{"demo/a.py": bytes.Repeat([]byte("a"), 1000)}}, nil},
		{"deflated members with data descriptors", pypitest.Spec{DataDescriptors: true}, nil},
		{"zip64: more than 65535 entries", pypitest.Spec{Entries: zipEntries(70_000)}, nil},
		{"nested .dist-info and PKG-INFO are ignored", pypitest.Spec{Files: map[string][]byte{
			"demo/_vendor/other-2.0.dist-info/METADATA": []byte("junk"), "demo/x/PKG-INFO": []byte("junk")}}, nil},
		{"directory entries in a wheel", pypitest.Spec{FirstEntries: []pypitest.Entry{{Name: "demo/"}, {Name: "demo-1.0.dist-info/"}}}, nil},
		{"legacy multi-hyphen sdist", pypitest.Spec{Kind: pypitest.TarGz, File: "foo-bar-1.0.tar.gz", Name: "foo-bar", Root: "foo-bar-1.0"}, nil},
		{"sdist root not named after the project", pypitest.Spec{Kind: pypitest.TarGz, Root: "dist"}, nil},
		{"sdist: PKG-INFO last, egg-info PKG-INFO, pyproject", pypitest.Spec{Kind: pypitest.TarGz, Omit: []string{"PKG-INFO", "root"},
			Files:   map[string][]byte{"demo.egg-info/PKG-INFO": []byte("junk"), "pyproject.toml": []byte("[project]\n")},
			Entries: []pypitest.Entry{{Name: "demo-1.0/PKG-INFO", Data: []byte("Metadata-Version: 1.0\nName: demo\nVersion: 1.0\n")}}},
			func(t *testing.T, d *pypi.Dist) {
				if d.MetadataVersion != "1.0" {
					t.Errorf("read %q", d.Metadata)
				}
			}},
		{"sdist: pax global header, ./ names, repeated directory, links inside the root", pypitest.Spec{Kind: pypitest.TarGz,
			FirstEntries: []pypitest.Entry{{Name: "pax_global_header", Type: tar.TypeXGlobalHeader, Data: []byte("0123abcd")}, {Name: "./", Type: tar.TypeDir}},
			Files:        map[string][]byte{"src/demo.py": []byte("x")},
			Entries: []pypitest.Entry{{Name: "demo-1.0/", Type: tar.TypeDir}, {Name: "./demo-1.0/src/", Type: tar.TypeDir},
				{Name: "demo-1.0/LICENSE", Type: tar.TypeSymlink, Linkname: "src/demo.py"},
				{Name: "demo-1.0/docs/up", Type: tar.TypeSymlink, Linkname: "../src"},
				{Name: "demo-1.0/copy.py", Type: tar.TypeLink, Linkname: "demo-1.0/src/demo.py"},
				{Name: "demo-1.0/bin/tool", Mode: 0o755}}}, nil},
		{"sdist: tar padded with zeros", pypitest.Spec{Kind: pypitest.TarGz, TarTrailer: make([]byte, 10240)}, nil},
		{"sdist: concatenated gzip members", pypitest.Spec{Kind: pypitest.TarGz, GzipTrailer: pypitest.Gzip(make([]byte, 512))}, nil},
		{"sdist zip with directory entries", pypitest.Spec{Kind: pypitest.Zip, Files: map[string][]byte{"a/b.py": []byte("x")},
			Entries: []pypitest.Entry{{Name: "demo-1.0/a/"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := read(t, tt.spec)
			if err != nil {
				t.Fatalf("ReadDist: %v", err)
			}
			if !bytes.Equal(d.Metadata, pypitest.MetadataBytes(tt.spec)) && tt.spec.Omit == nil {
				t.Errorf("Metadata = %q", d.Metadata)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

type hostileCase struct {
	name string
	spec pypitest.Spec
	want string
}

// inAll returns the case for a wheel, a .tar.gz and a .zip sdist.
func inAll(name string, spec pypitest.Spec, want string) []hostileCase {
	var cs []hostileCase
	for _, k := range kinds {
		s := withKind(spec, k)
		cs = append(cs, hostileCase{name + " (" + string(k) + ")", s, want})
	}
	return cs
}

func TestReadDistRefuses(t *testing.T) {
	var cases []hostileCase
	add := func(cs ...hostileCase) { cases = append(cases, cs...) }
	entry := func(name string) []pypitest.Entry { return []pypitest.Entry{{Name: name, Data: []byte("x")}} }

	// Metadata that disagrees with the filename or is not metadata.
	add(inAll("metadata names another project", pypitest.Spec{MetaName: "other"}, `names the project "other", but the filename says "demo"`)...)
	add(inAll("metadata has another version", pypitest.Spec{MetaVersion: "1.1"}, `says version "1.1", but the filename says "1.0"`)...)
	add(inAll("metadata version is not PEP 440", pypitest.Spec{MetaVersion: "2010i"}, `the Version "2010i" in`)...)
	add(inAll("invalid name", pypitest.Spec{MetaName: "de mo"}, `the Name "de mo" in`)...)
	add(inAll("no Name", pypitest.Spec{Metadata: []byte("Metadata-Version: 2.1\nVersion: 1.0\n")}, "has no Name field")...)
	add(inAll("no Version", pypitest.Spec{Metadata: []byte("Metadata-Version: 2.1\nName: demo\n")}, "has no Version field")...)
	add(inAll("no Metadata-Version", pypitest.Spec{Metadata: []byte("Name: demo\nVersion: 1.0\n")}, "has no Metadata-Version field")...)
	add(inAll("empty metadata", pypitest.Spec{Metadata: []byte("\n\n")}, "is empty")...)
	add(inAll("two Names", pypitest.Spec{Fields: []string{"name: other"}}, "has 2 Name fields; it may have only one")...)
	add(inAll("Metadata-Version 3.0", pypitest.Spec{MetadataVersion: "3.0"}, `Metadata-Version "3.0"`)...)
	add(inAll("invalid UTF-8 in Summary", pypitest.Spec{Fields: []string{"Author: x", "Summary: caf\xe9"}},
		`not valid UTF-8 (line 5, in the field "Summary")`)...)
	add(inAll("invalid UTF-8 in a folded field", pypitest.Spec{Fields: []string{"Description: a\n        \xff"}},
		`not valid UTF-8 (line 5, in the field "Description")`)...)
	add(inAll("invalid UTF-8 in the description", pypitest.Spec{Description: "ok\n\xc3\x28\n"}, "not valid UTF-8 (line 6, in the description)")...)
	add(inAll("control character in Summary", pypitest.Spec{Fields: []string{"Summary: a\x1b[31mred"}}, `control character on line 4 (field "Summary")`)...)
	add(inAll("not headers", pypitest.Spec{Metadata: []byte("Metadata-Version: 2.1\nName demo\n")}, "is not a list of 'Field: value' lines")...)
	add(inAll("NUL in a header", pypitest.Spec{Fields: []string{"Summary: a\x00b"}}, `control character on line 4 (field "Summary")`)...)
	for _, rp := range []string{">=3.6.*", "python>=3", ">=3,,<4", "~=3", "3.9", ">=3.9 <4", "<3.0+local", ""} {
		if rp == "" {
			continue
		}
		add(hostileCase{"Requires-Python " + rp, pypitest.Spec{Fields: []string{"Requires-Python: " + rp}}, "is not a valid version specifier"})
	}
	add(inAll("10 MB metadata", pypitest.Spec{Description: strings.Repeat("x", 10<<20)}, "is larger than 1 MiB")...)

	// Not the archive the extension says.
	add(hostileCase{"a wheel named .tar.gz", pypitest.Spec{File: "demo-1.0.tar.gz"}, "not a gzip file"})
	add(hostileCase{"a .tar.gz named .zip", pypitest.Spec{Kind: pypitest.TarGz, File: "demo-1.0.zip"}, "not a zip archive"})
	add(hostileCase{"zip comment", pypitest.Spec{ZipComment: "hi"}, "has a comment"})
	add(hostileCase{"zip with a stub before it", pypitest.Spec{ZipPrefix: []byte("MZ stub")}, "not a zip archive"})
	add(hostileCase{"unsupported compression", pypitest.Spec{Entries: []pypitest.Entry{{Name: "demo/a", Method: 14, Data: []byte("x")}}}, "compression method 14"})
	add(hostileCase{"data after the tar", pypitest.Spec{Kind: pypitest.TarGz, TarTrailer: []byte("hidden")}, "data after the end of its tar archive"})
	add(hostileCase{"data after the gzip stream", pypitest.Spec{Kind: pypitest.TarGz, GzipTrailer: []byte("PK junk")}, "data after the end of its gzip stream"})

	// Bombs.
	add(hostileCase{"huge declared METADATA", pypitest.Spec{Omit: []string{"METADATA"}, Entries: []pypitest.Entry{
		{Name: "demo-1.0.dist-info/METADATA", Data: pypitest.MetadataBytes(pypitest.Spec{}), DeclaredSize: 10 * gib}}}, "decompression bomb"})
	add(hostileCase{"METADATA that declares 50 bytes and holds 1 GiB", pypitest.Spec{Omit: []string{"METADATA"}, Entries: []pypitest.Entry{
		{Name: "demo-1.0.dist-info/METADATA", Data: pypitest.MetadataBytes(pypitest.Spec{}), Zeros: gib, DeclaredSize: 50}}}, "is corrupt"})
	add(hostileCase{"METADATA of 2 MiB, declared", pypitest.Spec{Omit: []string{"METADATA"}, Entries: []pypitest.Entry{
		{Name: "demo-1.0.dist-info/METADATA", Data: pypitest.MetadataBytes(pypitest.Spec{}), Zeros: 2 << 20}}}, "METADATA\" is larger than 1 MiB"})
	add(hostileCase{"high ratio: 1 GiB of zeros in a payload file", pypitest.Spec{Entries: []pypitest.Entry{{Name: "demo/zeros", Zeros: gib}}}, "decompression bomb"})
	add(hostileCase{"high ratio: many members", pypitest.Spec{Entries: func() []pypitest.Entry {
		var es []pypitest.Entry
		for i := range 100 {
			es = append(es, pypitest.Entry{Name: fmt.Sprintf("demo/z%d", i), Zeros: 1 << 20})
		}
		return es
	}()}, "decompression bomb"})
	add(hostileCase{"gzip bomb", pypitest.Spec{Kind: pypitest.TarGz, Entries: []pypitest.Entry{{Name: "demo-1.0/zeros", Zeros: gib}}}, "decompression bomb"})
	add(hostileCase{"gzip bomb before PKG-INFO", pypitest.Spec{Kind: pypitest.TarGz, FirstEntries: []pypitest.Entry{{Name: "demo-1.0/zeros", Zeros: gib}}}, "decompression bomb"})

	// Paths.
	for _, p := range []struct{ name, want string }{
		{"../x", `has ".." in its path`},
		{"demo/../../x", `has ".." in its path`},
		{"/etc/passwd", "is an absolute path"},
		{"C:/x", "is an absolute path"},
		{`demo\..\..\x`, "has a backslash"},
		{"demo/a\x00b", "control character"},
		{"demo/a\nb", "control character"},
		{"demo/\xff", "not UTF-8"},
		{strings.Repeat("a/", 2100) + "x", "longer than 4096 bytes"},
	} {
		for _, k := range kinds {
			if k == pypitest.TarGz && strings.Contains(p.name, "\x00") {
				continue // archive/tar cannot write it, and a ustar name ends at a NUL anyway
			}
			add(hostileCase{"member " + quote(p.name) + " (" + string(k) + ")", pypitest.Spec{Kind: k, Entries: entry(p.name)}, p.want})
		}
	}

	// Duplicates and structure.
	add(hostileCase{"duplicate METADATA", pypitest.Spec{Entries: entry("demo-1.0.dist-info/METADATA")}, `the member "demo-1.0.dist-info/METADATA" more than once`})
	add(hostileCase{"duplicate after cleaning", pypitest.Spec{Entries: entry("./demo-1.0.dist-info//METADATA")}, "more than once"})
	add(hostileCase{"duplicate PKG-INFO (.tar.gz)", pypitest.Spec{Kind: pypitest.TarGz, Entries: entry("demo-1.0/PKG-INFO")}, "more than once"})
	add(hostileCase{"duplicate PKG-INFO (.zip)", pypitest.Spec{Kind: pypitest.Zip, Entries: entry("demo-1.0/PKG-INFO")}, "more than once"})
	add(hostileCase{"file and directory of one name (.tar.gz)", pypitest.Spec{Kind: pypitest.TarGz,
		Entries: []pypitest.Entry{{Name: "demo-1.0/a", Data: []byte("x")}, {Name: "demo-1.0/a/", Type: tar.TypeDir}}}, "more than once"})
	add(hostileCase{"two .dist-info", pypitest.Spec{Entries: entry("other-1.0.dist-info/METADATA")}, "2 .dist-info directories"})
	add(hostileCase{"no .dist-info", pypitest.Spec{Omit: []string{"METADATA", "WHEEL", "RECORD"}, Files: map[string][]byte{"demo.py": nil}}, "no top-level .dist-info directory"})
	add(hostileCase{"no METADATA", pypitest.Spec{Omit: []string{"METADATA"}}, "no demo-1.0.dist-info/METADATA"})
	add(hostileCase{"METADATA is a directory", pypitest.Spec{Omit: []string{"METADATA"}, Entries: []pypitest.Entry{{Name: "demo-1.0.dist-info/METADATA/"}}}, "is a directory"})
	add(hostileCase{"no WHEEL", pypitest.Spec{Omit: []string{"WHEEL"}}, "no demo-1.0.dist-info/WHEEL"})
	add(hostileCase{"WHEEL version 2", pypitest.Spec{Wheel: []byte("Wheel-Version: 2.0\n")}, `Wheel-Version "2.0"`})
	add(hostileCase{"WHEEL without a version", pypitest.Spec{Wheel: []byte("Generator: x\n")}, "one Wheel-Version field, not 0"})
	add(hostileCase{".dist-info of another version", pypitest.Spec{DistInfo: "demo-2.0.dist-info"}, `is for demo 2.0, but the filename says demo 1.0`})
	add(hostileCase{".dist-info of another project", pypitest.Spec{DistInfo: "other-1.0.dist-info"}, `is for other 1.0`})
	add(hostileCase{".dist-info without a version", pypitest.Spec{DistInfo: "demo.dist-info"}, `is not named {name}-{version}.dist-info`})
	add(hostileCase{"names in .dist-info differing in case", pypitest.Spec{Entries: entry("demo-1.0.dist-info/metadata")}, "differ only in case"})
	add(hostileCase{"no PKG-INFO (.tar.gz)", pypitest.Spec{Kind: pypitest.TarGz, Omit: []string{"PKG-INFO"}}, `no "demo-1.0/PKG-INFO"`})
	add(hostileCase{"no PKG-INFO (.zip)", pypitest.Spec{Kind: pypitest.Zip, Omit: []string{"PKG-INFO"}}, `no "demo-1.0/PKG-INFO"`})
	add(hostileCase{"only a nested PKG-INFO", pypitest.Spec{Kind: pypitest.TarGz, Omit: []string{"PKG-INFO"},
		Files: map[string][]byte{"demo.egg-info/PKG-INFO": pypitest.MetadataBytes(pypitest.Spec{})}}, `no "demo-1.0/PKG-INFO"`})
	add(hostileCase{"PKG-INFO is a symlink", pypitest.Spec{Kind: pypitest.TarGz, Omit: []string{"PKG-INFO"}, Files: map[string][]byte{"meta": pypitest.MetadataBytes(pypitest.Spec{})},
		Entries: []pypitest.Entry{{Name: "demo-1.0/PKG-INFO", Type: tar.TypeSymlink, Linkname: "meta"}}}, `"demo-1.0/PKG-INFO" is not a regular file`})
	add(hostileCase{"two top-level directories (.tar.gz)", pypitest.Spec{Kind: pypitest.TarGz, Entries: entry("other/x")}, "more than one top-level directory"})
	add(hostileCase{"two top-level directories (.zip)", pypitest.Spec{Kind: pypitest.Zip, Entries: entry("other/x")}, "more than one top-level directory"})
	add(hostileCase{"top-level file (.tar.gz)", pypitest.Spec{Kind: pypitest.TarGz, FirstEntries: entry("setup.py")}, `the file "setup.py" at its top level`})
	add(hostileCase{"top-level file (.zip)", pypitest.Spec{Kind: pypitest.Zip, Entries: entry("setup.py")}, `the file "setup.py" at its top level`})
	add(hostileCase{"empty tar", pypitest.Spec{Kind: pypitest.TarGz, Omit: []string{"PKG-INFO", "root"}}, "the tar archive is empty"})

	// Tar member types and links.
	tarEntry := func(e pypitest.Entry) pypitest.Spec {
		return pypitest.Spec{Kind: pypitest.TarGz, Entries: []pypitest.Entry{e}}
	}
	add(hostileCase{"device", tarEntry(pypitest.Entry{Name: "demo-1.0/dev", Type: tar.TypeChar}), "is a device file"})
	add(hostileCase{"fifo", tarEntry(pypitest.Entry{Name: "demo-1.0/fifo", Type: tar.TypeFifo}), "is a FIFO"})
	add(hostileCase{"setuid", tarEntry(pypitest.Entry{Name: "demo-1.0/suid", Mode: 0o4755}), "setuid"})
	add(hostileCase{"absolute symlink", tarEntry(pypitest.Entry{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}), "points to the absolute path"})
	add(hostileCase{"escaping symlink", tarEntry(pypitest.Entry{Name: "demo-1.0/a/l", Type: tar.TypeSymlink, Linkname: "../../x"}), "points outside the sdist's directory"})
	add(hostileCase{"empty symlink", tarEntry(pypitest.Entry{Name: "demo-1.0/l", Type: tar.TypeSymlink}), "has an empty target"})
	add(hostileCase{"escaping hard link", tarEntry(pypitest.Entry{Name: "demo-1.0/h", Type: tar.TypeLink, Linkname: "../etc/passwd"}), "points outside"})
	add(hostileCase{"member inside a symlink", pypitest.Spec{Kind: pypitest.TarGz, Entries: []pypitest.Entry{
		{Name: "demo-1.0/lib", Type: tar.TypeSymlink, Linkname: "."}, {Name: "demo-1.0/lib/x", Data: []byte("x")}}}, `lies inside the symlink "demo-1.0/lib"`})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := pypitest.Build(t, c.spec)
			d, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), c.spec.Filename(), pypi.DefaultLimits())
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) {
				t.Fatalf("ReadDist = %+v, %v; want an *InvalidDistError", d, err)
			}
			if !strings.Contains(ide.Reason, c.want) {
				t.Errorf("reason %q does not contain %q", ide.Reason, c.want)
			}
			if ide.Filename != c.spec.Filename() || !strings.HasPrefix(err.Error(), "invalid distribution ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func quote(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func TestReadDistRawBytes(t *testing.T) {
	for _, tt := range []struct {
		name, filename string
		data           []byte
		want           string
	}{
		{"empty file", "demo-1.0.tar.gz", nil, "the file is empty"},
		{"text as a wheel", "demo-1.0-py3-none-any.whl", []byte("This is a corrupt wheel which _clearly_ is not a zip file.\n"), "not a zip archive"},
		{"gzip of a short text", "demo-1.0.tar.gz", pypitest.Gzip([]byte("hello\n")), "does not hold a tar archive"},
		{"gzip of text", "demo-1.0.tar.gz", pypitest.Gzip([]byte(strings.Repeat("hello, this is not a tar archive at all\n", 20))), "does not hold a tar archive"},
		{"truncated gzip", "demo-1.0.tar.gz", pypitest.Build(t, pypitest.Spec{Kind: pypitest.TarGz})[:60], "the gzip stream is corrupt or truncated"},
		{"truncated wheel", "demo-1.0-py3-none-any.whl", pypitest.Build(t, pypitest.Spec{})[:300], "no end of central directory record"},
		{"empty zip", "demo-1.0.zip", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), "not a zip archive"},
		{"bad filename", "demo.whl", []byte("PK"), "a wheel filename must be"},
		{"end record miscounts the entries", "demo-1.0-py3-none-any.whl", func() []byte {
			b := pypitest.Build(t, pypitest.Spec{})
			b[len(b)-22+8]++  // entries on this disk
			b[len(b)-22+10]++ // entries in total
			return b
		}(), "not a valid zip archive"},
		{"only a pax global header", "demo-1.0.tar.gz", pypitest.TarGzBytes(t, []pypitest.Entry{{Name: "pax_global_header", Type: tar.TypeXGlobalHeader, Data: []byte("x")}}),
			"no PKG-INFO in a top-level directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pypi.ReadDist(bytes.NewReader(tt.data), int64(len(tt.data)), tt.filename, pypi.DefaultLimits())
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) || !strings.Contains(ide.Reason, tt.want) {
				t.Fatalf("err = %v; want an *InvalidDistError saying %q", err, tt.want)
			}
		})
	}
}

// TestReadDistCorruptBytes corrupts each byte of a small wheel and sdists in turn: every result
// must be a Dist or an *InvalidDistError.
func TestReadDistCorruptBytes(t *testing.T) {
	for _, k := range kinds {
		spec := pypitest.Spec{Kind: k, Files: map[string][]byte{"a.py": bytes.Repeat([]byte("abc"), 300)}}
		data := pypitest.Build(t, spec)
		for i := range data {
			bad := bytes.Clone(data)
			bad[i] ^= 0x55
			_, err := pypi.ReadDist(bytes.NewReader(bad), int64(len(bad)), spec.Filename(), pypi.DefaultLimits())
			var ide *pypi.InvalidDistError
			if err != nil && !errors.As(err, &ide) {
				t.Fatalf("%s, byte %d flipped: %v (%T)", k, i, err, err)
			}
		}
	}
}

func TestReadDistLimits(t *testing.T) {
	many := func(n int, k pypitest.Kind) pypitest.Spec {
		s := pypitest.Spec{Kind: k}
		for i := range n {
			s.Entries = append(s.Entries, pypitest.Entry{Name: fmt.Sprintf("demo-1.0/f%d", i)})
		}
		return s
	}
	lim := pypi.Limits{MaxZipEntries: 50, MaxTarMembers: 50, MaxMetadata: 100}
	for _, tt := range []struct {
		name string
		spec pypitest.Spec
		want string
	}{
		{"zip entries", many(60, pypitest.Wheel), "has 63 entries; at most 50"},
		{"zip sdist entries", many(60, pypitest.Zip), "has 62 entries; at most 50"},
		{"tar members", many(60, pypitest.TarGz), "more than 50 members"},
		{"metadata size", pypitest.Spec{Description: strings.Repeat("x", 100)}, "is larger than 100 bytes"},
		{"PKG-INFO size", pypitest.Spec{Kind: pypitest.TarGz, Description: strings.Repeat("x", 100)}, "is larger than 100 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := pypitest.Build(t, tt.spec)
			_, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), tt.spec.Filename(), lim)
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) || !strings.Contains(ide.Reason, tt.want) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
	// Limits{} means the defaults.
	if _, err := read(t, pypitest.Spec{}); err != nil {
		t.Fatal(err)
	}
	data := pypitest.Build(t, pypitest.Spec{})
	if _, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), "demo-1.0-py3-none-any.whl", pypi.Limits{}); err != nil {
		t.Fatalf("zero Limits: %v", err)
	}
	if got := (pypi.Limits{}).DecompressedCap(10 << 20); got != 500<<20 {
		t.Errorf("DecompressedCap(10 MiB) = %d", got)
	}
	if got := (pypi.Limits{}).DecompressedCap(1 << 20); got != 64<<20 {
		t.Errorf("DecompressedCap(1 MiB) = %d", got)
	}
	if got := (pypi.Limits{}).DecompressedCap(1 << 40); got != 16<<30 {
		t.Errorf("DecompressedCap(1 TiB) = %d", got)
	}
}

// TestReadDistBombs checks that decompression bombs are stopped at the cap, quickly and without
// allocating anything near the decompressed size.
func TestReadDistBombs(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec pypitest.Spec
	}{
		{"gzip bomb", pypitest.Spec{Kind: pypitest.TarGz, Entries: []pypitest.Entry{{Name: "demo-1.0/zeros", Zeros: 4 * gib}}}},
		{"gzip bomb in PKG-INFO", pypitest.Spec{Kind: pypitest.TarGz, Omit: []string{"PKG-INFO"},
			Entries: []pypitest.Entry{{Name: "demo-1.0/PKG-INFO", Zeros: 4 * gib}}}},
		{"wheel declaring 4 GiB", pypitest.Spec{Entries: []pypitest.Entry{{Name: "demo/zeros", Zeros: 4 * gib}}}},
		{"METADATA lying about its size", pypitest.Spec{Omit: []string{"METADATA"},
			Entries: []pypitest.Entry{{Name: "demo-1.0.dist-info/METADATA", Zeros: 4 * gib, DeclaredSize: 1000}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := pypitest.Build(t, tt.spec)
			if len(data) > 16<<20 {
				t.Fatalf("bomb is %d bytes; want a small file", len(data))
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), tt.spec.Filename(), pypi.DefaultLimits())
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			var ide *pypi.InvalidDistError
			if !errors.As(err, &ide) {
				t.Fatalf("err = %v; want an *InvalidDistError", err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte bomb: %v after %v, %d KiB allocated", len(data), err, elapsed, alloc>>10)
			if alloc > 16<<20 {
				t.Errorf("ReadDist allocated %d MiB in total; want far less than the 64 MiB cap", alloc>>20)
			}
		})
	}
}

// TestReadDistPolyglots checks that a file two kinds of readers would read differently is refused.
func TestReadDistPolyglots(t *testing.T) {
	t.Run("zip that is also a tar", func(t *testing.T) {
		// The first member's name covers the tar checksum field (bytes 148-155): the checksum is
		// computed with that field as spaces, so it can be filled in afterwards.
		name := func(field string) string {
			return "demo/" + strings.Repeat("a", 113) + field + strings.Repeat("b", 200)
		}
		build := func(field string) []byte {
			return pypitest.Build(t, pypitest.Spec{ZipStore: true, FirstEntries: []pypitest.Entry{{Name: name(field), Data: []byte("x")}}})
		}
		data := build("        ")
		var sum int
		for _, c := range data[:512] {
			sum += int(c)
		}
		data = build(fmt.Sprintf("%06o", sum)[:6] + "\x00 ")
		if string(data[148:156]) != fmt.Sprintf("%06o\x00 ", sum) {
			t.Fatalf("checksum field misplaced: %q", data[140:160])
		}
		_, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), "demo-1.0-py3-none-any.whl", pypi.DefaultLimits())
		if err == nil || !strings.Contains(err.Error(), "both a zip and a tar") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tar.gz that is also a zip", func(t *testing.T) {
		// A zip appended inside the gzip stream as tar padding would be found by a zip reader
		// looking from the end only if it ended the file: put it after the gzip trailer.
		wheel := pypitest.Build(t, pypitest.Spec{})
		tgz := pypitest.Build(t, pypitest.Spec{Kind: pypitest.TarGz})
		data := append(tgz, wheel...)
		_, err := pypi.ReadDist(bytes.NewReader(data), int64(len(data)), "demo-1.0.tar.gz", pypi.DefaultLimits())
		if err == nil || !strings.Contains(err.Error(), "both a gzip and a zip") {
			t.Fatalf("err = %v", err)
		}
	})
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

// TestReadDistStorageError checks that an error of the reader is returned as it is, not blamed
// on the upload.
func TestReadDistStorageError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, fn := range []string{"demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0.zip"} {
		_, err := pypi.ReadDist(failingReaderAt{boom}, 1000, fn, pypi.DefaultLimits())
		if !errors.Is(err, boom) {
			t.Errorf("%s: err = %v; want the reader's error", fn, err)
		}
	}
}
