package conda_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
)

// FuzzReadPackage feeds arbitrary bytes to ReadPackage under both extensions. Whatever it gets,
// it must return a package or an *InvalidPackageError (a bytes.Reader never fails), never panic,
// and a package it accepts must yield a valid record.
func FuzzReadPackage(f *testing.F) {
	full := condatest.Spec{
		Noarch: "generic", Depends: []string{"a >=1"}, Constrains: []string{"b <2"},
		About: map[string]any{"home": "x"}, RunExports: []string{"demo"},
		Files:    map[string][]byte{"etc/conda/activate.d/a.sh": []byte("x"), "bin/.demo-post-link.sh": []byte("x")},
		Symlinks: map[string]string{"lib/l": "../bin/.demo-post-link.sh"},
		Prefix:   map[string]string{"bin/.demo-post-link.sh": "text"},
	}
	for _, spec := range []condatest.Spec{
		{},
		{Format: condatest.TarBz2},
		full,
		withFormat(full, condatest.TarBz2),
		{ZipDeflate: true},
		{NoPathsJSON: true, Format: condatest.TarBz2, Info: map[string][]byte{"has_prefix": []byte("/p binary a\n")}},
		{Entries: []condatest.Entry{{Name: "../x"}}},
		{Format: condatest.TarBz2, Entries: []condatest.Entry{{Name: "info/l", Type: tar.TypeSymlink, Linkname: "/etc"}}},
	} {
		f.Add(condatest.Build(f, spec), spec.Format == condatest.TarBz2)
	}
	f.Add([]byte("PK\x03\x04"), false)
	f.Add([]byte("BZh91AY&SY"), true)

	lim := conda.DefaultLimits()
	lim.MinDecompressed = 4 << 20 // keep each run fast; the cap logic is the same
	f.Fuzz(func(t *testing.T, data []byte, bz2 bool) {
		fn := "demo-1.0-0.conda"
		if bz2 {
			fn = "demo-1.0-0.tar.bz2"
		}
		// ReadRecipeSource reads part of what ReadPackage reads, under the same checks.
		src, rerr := conda.ReadRecipeSource(bytes.NewReader(data), int64(len(data)), fn, lim)
		if rerr != nil {
			var ipe *conda.InvalidPackageError
			if !errors.As(rerr, &ipe) || ipe.Reason == "" {
				t.Fatalf("ReadRecipeSource: error %v (%T) is not an *InvalidPackageError", rerr, rerr)
			}
		} else if !json.Valid(src) {
			t.Fatalf("ReadRecipeSource = %q", src)
		}
		p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), fn, lim)
		if err != nil {
			var ipe *conda.InvalidPackageError
			if !errors.As(err, &ipe) || ipe.Reason == "" {
				t.Fatalf("error %v (%T) is not an *InvalidPackageError", err, err)
			}
			return
		}
		if rerr != nil || string(src) != string(p.RecipeSource) {
			t.Fatalf("ReadRecipeSource = %s, %v; ReadPackage accepted the package with %s", src, rerr, p.RecipeSource)
		}
		if p.Name != "demo" || p.Version != "1.0" || p.Build != "0" || p.Filename != fn {
			t.Fatalf("accepted package does not match its filename: %+v", p)
		}
		rec, err := p.Record(strings.Repeat("a", 64), strings.Repeat("b", 32), int64(len(data)))
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.JSON, &m); err != nil {
			t.Fatalf("record is not a JSON object: %v", err)
		}
		if _, ok := m["depends"].([]any); !ok {
			t.Fatalf("record depends is %v", m["depends"])
		}
		for _, raw := range []json.RawMessage{p.About, p.RunExports} {
			if raw != nil && !json.Valid(raw) {
				t.Fatalf("invalid JSON kept: %s", raw)
			}
		}
	})
}

// FuzzReadCondaTars fuzzes the uncompressed tars inside a well-formed .conda, where the member
// and JSON checks live; FuzzReadPackage rarely gets through the compression layers.
func FuzzReadCondaTars(f *testing.F) {
	info := func(extra ...condatest.Entry) []condatest.Entry {
		return append([]condatest.Entry{
			{Name: "info/index.json", Data: []byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"noarch","noarch":"generic","depends":["a"],"constrains":null}`)},
			{Name: "info/about.json", Data: []byte(`{"home":"x","extra":{"a":[1,2]}}`)},
			{Name: "info/run_exports.json", Data: []byte(`["demo >=1"]`)},
			{Name: "info/paths.json", Data: []byte(`{"paths":[{"_path":"bin/.demo-pre-link.sh","prefix_placeholder":"/p","file_mode":"binary"}],"paths_version":1}`)},
			{Name: "info/has_prefix", Data: []byte("/p text a\nb\n")},
			{Name: "info/files", Data: []byte("etc/conda/activate.d/x\n")},
		}, extra...)
	}
	pkg := []condatest.Entry{
		{Name: "bin/a", Data: []byte("x")},
		{Name: "lib/l", Type: tar.TypeSymlink, Linkname: "../bin/a"},
		{Name: "lib/h", Type: tar.TypeLink, Linkname: "bin/a"},
		{Name: "etc/", Type: tar.TypeDir},
	}
	f.Add(condatest.Tar(f, info()), condatest.Tar(f, pkg))
	f.Add(condatest.Tar(f, info(condatest.Entry{Name: "info/x", Type: tar.TypeSymlink, Linkname: "y"})), condatest.Tar(f, nil))
	f.Add(condatest.Tar(f, info()), condatest.Tar(f, []condatest.Entry{{Name: "../x"}, {Name: "a", Mode: 0o4755}}))

	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	lim := conda.DefaultLimits()
	lim.MinDecompressed = 4 << 20
	f.Fuzz(func(t *testing.T, infoTar, pkgTar []byte) {
		data, err := condatest.Zip([]condatest.ZipMember{
			{Name: "metadata.json", Data: []byte(`{"conda_pkg_format_version": 2}`)},
			{Name: "info-demo-1.0-0.tar.zst", Data: enc.EncodeAll(infoTar, nil)},
			{Name: "pkg-demo-1.0-0.tar.zst", Data: enc.EncodeAll(pkgTar, nil)},
		}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), "demo-1.0-0.conda", lim)
		if err != nil {
			var ipe *conda.InvalidPackageError
			if !errors.As(err, &ipe) {
				t.Fatalf("error %v (%T) is not an *InvalidPackageError", err, err)
			}
			return
		}
		rec, err := p.Record(strings.Repeat("a", 64), strings.Repeat("b", 32), int64(len(data)))
		if err != nil || !json.Valid(rec.JSON) {
			t.Fatalf("Record: %s, %v", rec.JSON, err)
		}
	})
}

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{"zlib-1.2.11-h7b6447c_3.conda", "libgcc-ng-8.2.0-hdf63c60_1.tar.bz2", "a-1!2+x-0.conda",
		"-.conda", "a--.tar.bz2", "../a-1-0.conda", "a-1-0.tar.bz2.conda"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		name, version, build, format, err := conda.ParseFilename(fn)
		if err != nil {
			var fe *conda.InvalidFilenameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not an *InvalidFilenameError", err)
			}
			return
		}
		if name+"-"+version+"-"+build+format.Ext() != fn {
			t.Fatalf("parts %q %q %q %v do not rebuild %q", name, version, build, format, fn)
		}
		if !conda.ValidName(name) || !conda.ValidVersion(version) || !conda.ValidBuild(build) || len(fn) > conda.MaxFilenameLen {
			t.Fatalf("accepted invalid parts of %q", fn)
		}
		if strings.ContainsAny(fn, "/\\\x00") || strings.Contains(fn, "..") && !strings.Contains(version, "..") {
			if strings.ContainsAny(fn, "/\\\x00") {
				t.Fatalf("accepted a path: %q", fn)
			}
		}
	})
}

// FuzzCompareVersions checks that the order is a total preorder: reflexive, antisymmetric and
// transitive, for valid and invalid strings alike.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][3]string{
		{"1.0", "1.0.0", "1.0a"}, {"1!0.1", "2.0+x", "1.1_"}, {"1.1dev1", "1.1.post1", "1.1_"},
		{"", "1..0", "0"}, {"1-2", "1_2", "1.2"}, {"1.*", "*", "1.0+a_b"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := conda.CompareVersions(a, b), conda.CompareVersions(b, a)
		if conda.CompareVersions(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		bc, ac := conda.CompareVersions(b, c), conda.CompareVersions(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if ab == 0 && bc == 0 && ac != 0 {
			t.Fatalf("equality not transitive: %q %q %q", a, b, c)
		}
	})
}
