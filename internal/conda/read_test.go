package conda_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/repodata"
)

func read(t testing.TB, spec condatest.Spec) (*conda.Package, error) {
	t.Helper()
	data := condatest.Build(t, spec)
	return conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), conda.DefaultLimits())
}

func mustRead(t testing.TB, spec condatest.Spec) *conda.Package {
	t.Helper()
	p, err := read(t, spec)
	if err != nil {
		t.Fatalf("ReadPackage(%s): %v", spec.Filename(), err)
	}
	return p
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestReadPackageValid(t *testing.T) {
	full := condatest.Spec{
		Name: "tool", Version: "2.1.0", Build: "py_3", BuildNumber: 3, Noarch: "python",
		Depends:    []string{"python >=3.9", "libzlib >=1.3,<2.0a0"},
		Constrains: []string{"other <2"},
		License:    "MIT",
		About:      map[string]any{"home": "https://example.org", "summary": "A tool"},
		RunExports: []string{"tool >=2.1"},
		Files: map[string][]byte{
			"etc/conda/activate.d/tool.sh":   []byte("export A=1\n"),
			"etc/conda/deactivate.d/tool.sh": []byte("unset A\n"),
			"bin/.tool-pre-link.sh":          []byte("true\n"),
			"Scripts/.tool-post-link.bat":    []byte("rem\n"),
			"bin/.tool-pre-unlink.sh":        []byte("true\n"),
			"share/tool/config.txt":          []byte(condatest.Placeholder + "\n"),
			"lib/libtool.so.2":               []byte("\x7fELF" + condatest.Placeholder),
		},
		Symlinks: map[string]string{"lib/libtool.so": "libtool.so.2", "share/tool/up": "../../lib"},
		Prefix:   map[string]string{"share/tool/config.txt": "text", "lib/libtool.so.2": "binary"},
	}
	allFlags := repodata.Flags{ActivateD: true, DeactivateD: true, PreLink: true, PostLink: true,
		PreUnlink: true, BinaryPrefix: true, TextPrefix: true}

	tests := []struct {
		name  string
		spec  condatest.Spec
		check func(t *testing.T, p *conda.Package)
	}{
		{"minimal conda", condatest.Spec{}, func(t *testing.T, p *conda.Package) {
			want := &conda.Package{
				Filename: "demo-1.0-0.conda", Format: conda.FormatConda,
				Name: "demo", Version: "1.0", Build: "0", BuildNumber: 0, Subdir: "linux-64", Timestamp: 1718000000000,
				Index: map[string]json.RawMessage{
					"name": raw(`"demo"`), "version": raw(`"1.0"`), "build": raw(`"0"`), "build_number": raw(`0`),
					"depends": raw(`[]`), "subdir": raw(`"linux-64"`), "timestamp": raw(`1718000000000`),
				},
				RecipeSource: raw(`{}`),
			}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}},
		{"minimal tar.bz2", condatest.Spec{Format: condatest.TarBz2, Name: "x-y.z_w", Build: "h0abc_1+cuda", BuildNumber: 1},
			func(t *testing.T, p *conda.Package) {
				if p.Format != conda.FormatTarBz2 || p.Name != "x-y.z_w" || p.Build != "h0abc_1+cuda" || p.BuildNumber != 1 {
					t.Errorf("got %+v", p)
				}
			}},
		{"full conda", full, func(t *testing.T, p *conda.Package) {
			if diff := cmp.Diff(allFlags, p.Flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if got := string(p.RunExports); got != `{"weak":["tool >=2.1"]}` {
				t.Errorf("RunExports = %s", got)
			}
			if got := string(p.About); got != `{"home":"https://example.org","summary":"A tool"}` {
				t.Errorf("About = %s", got)
			}
			if got := string(p.Index["constrains"]); got != `["other <2"]` {
				t.Errorf("constrains = %s", got)
			}
			if p.Subdir != "noarch" || string(p.Index["noarch"]) != `"python"` {
				t.Errorf("Subdir %q noarch %s", p.Subdir, p.Index["noarch"])
			}
		}},
		{"full tar.bz2", withFormat(full, condatest.TarBz2), func(t *testing.T, p *conda.Package) {
			if diff := cmp.Diff(allFlags, p.Flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		}},
		{"has_prefix without paths.json", condatest.Spec{NoPathsJSON: true,
			Files:  map[string][]byte{"a.txt": []byte("x"), "b.bin": []byte("y")},
			Prefix: map[string]string{"a.txt": "text", "b.bin": "binary"}},
			func(t *testing.T, p *conda.Package) {
				if !p.Flags.TextPrefix || !p.Flags.BinaryPrefix {
					t.Errorf("flags %+v", p.Flags)
				}
			}},
		{"has_prefix line with only a path means text", condatest.Spec{NoPathsJSON: true,
			Info: map[string][]byte{"has_prefix": []byte("share/a.txt\n")}},
			func(t *testing.T, p *conda.Package) {
				if !p.Flags.TextPrefix || p.Flags.BinaryPrefix {
					t.Errorf("flags %+v", p.Flags)
				}
			}},
		{"paths.json wins over has_prefix", condatest.Spec{
			Files: map[string][]byte{"a.txt": []byte("x")},
			Info:  map[string][]byte{"has_prefix": []byte(condatest.Placeholder + " binary a.txt\n")}},
			func(t *testing.T, p *conda.Package) {
				if p.Flags.BinaryPrefix || p.Flags.TextPrefix {
					t.Errorf("flags %+v", p.Flags)
				}
			}},
		{"no flags for info/ lookalikes", condatest.Spec{
			Info: map[string][]byte{"recipe/.x-post-link.sh": []byte("x"), "recipe/etc/conda/activate.d/a": []byte("x")}},
			func(t *testing.T, p *conda.Package) {
				if p.Flags != (repodata.Flags{}) {
					t.Errorf("flags %+v", p.Flags)
				}
			}},
		{"depends absent or null becomes []", condatest.Spec{Index: map[string]any{"depends": nil}},
			func(t *testing.T, p *conda.Package) {
				if got := string(p.Index["depends"]); got != "[]" {
					t.Errorf("depends = %s", got)
				}
			}},
		{"constrains null becomes []", condatest.Spec{IndexJSON: []byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","depends":null,"constrains":null}`)},
			func(t *testing.T, p *conda.Package) {
				if string(p.Index["depends"]) != "[]" || string(p.Index["constrains"]) != "[]" || p.Timestamp != 0 {
					t.Errorf("index %v timestamp %d", p.Index, p.Timestamp)
				}
			}},
		{"run_exports object kept", condatest.Spec{RunExports: map[string]any{"strong": []string{"a"}, "weak": []string{}}},
			func(t *testing.T, p *conda.Package) {
				if got := string(p.RunExports); got != `{"strong":["a"],"weak":[]}` {
					t.Errorf("RunExports = %s", got)
				}
			}},
		{"deflated outer zip", condatest.Spec{ZipDeflate: true}, nil},
		{"legacy noarch true", condatest.Spec{Subdir: "noarch", Index: map[string]any{"noarch": true}}, nil},
		{"empty relative symlink and dir entries", condatest.Spec{
			Symlinks: map[string]string{"lib/libz.so": ""},
			Entries:  []condatest.Entry{{Name: "./", Type: tar.TypeDir, Mode: 0o755}, {Name: "lib/", Type: tar.TypeDir, Mode: 0o755}},
		}, nil},
		{"hard link to a payload file", condatest.Spec{
			Files:   map[string][]byte{"bin/a": []byte("a")},
			Entries: []condatest.Entry{{Name: "bin/b", Type: tar.TypeLink, Linkname: "bin/a"}},
		}, nil},
		{"hard link tar.bz2", condatest.Spec{Format: condatest.TarBz2,
			Files:   map[string][]byte{"bin/a": []byte("a")},
			Entries: []condatest.Entry{{Name: "bin/b", Type: tar.TypeLink, Linkname: "bin/a"}},
		}, nil},
		{"unicode and html in about", condatest.Spec{About: map[string]any{"summary": "<b>naïve</b> 😀"}},
			func(t *testing.T, p *conda.Package) {
				if got := string(p.About); got != `{"summary":"<b>naïve</b> 😀"}` {
					t.Errorf("About = %s", got)
				}
			}},
		{"extra subdir allowed by Limits.ExtraSubdirs", condatest.Spec{Subdir: "linux-fake"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := condatest.Build(t, tt.spec)
			lim := conda.DefaultLimits()
			lim.ExtraSubdirs = []string{"linux-fake"}
			p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), tt.spec.Filename(), lim)
			if err != nil {
				t.Fatalf("ReadPackage: %v", err)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func withFormat(s condatest.Spec, f condatest.Format) condatest.Spec {
	s.Format = f
	return s
}

func bothFormats(name string, s condatest.Spec, want string) []hostileCase {
	return []hostileCase{
		{name + " (.conda)", withFormat(s, condatest.Conda), nil, "", want},
		{name + " (.tar.bz2)", withFormat(s, condatest.TarBz2), nil, "", want},
	}
}

type hostileCase struct {
	name     string
	spec     condatest.Spec
	data     []byte // used instead of building spec
	filename string // used instead of spec.Filename()
	want     string // substring of the reason
}

func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}

func indexWith(kv string) []byte {
	return []byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","depends":[]` + kv + `}`)
}

func TestReadPackageRejects(t *testing.T) {
	valid := condatest.Build(t, condatest.Spec{})
	corruptLocal := bytes.Clone(valid)
	corruptLocal[30] = 'M' // first byte of the first local header's name ("metadata.json")
	deps := make([]string, 20000)
	for i := range deps {
		deps[i] = "dep"
	}
	bigDeflate := bytes.Repeat([]byte{0}, 100<<20)

	cases := []hostileCase{
		{name: "not a zip", data: []byte("hello, world"), filename: "demo-1.0-0.conda", want: "not a .conda (zip) archive"},
		{name: "not bzip2", data: []byte("hello, world"), filename: "demo-1.0-0.tar.bz2", want: "not a .tar.bz2 (bzip2) archive"},
		{name: "tar.bz2 uploaded as .conda", data: condatest.Build(t, condatest.Spec{Format: condatest.TarBz2}), filename: "demo-1.0-0.conda", want: "not a .conda (zip) archive"},
		{name: "conda uploaded as .tar.bz2", data: valid, filename: "demo-1.0-0.tar.bz2", want: "not a .tar.bz2 (bzip2) archive"},
		{name: "empty file", data: []byte{}, filename: "demo-1.0-0.conda", want: "the file is empty"},
		{name: "bad filename", data: valid, filename: "Demo-1.0-0.conda", want: `package name "Demo" is not valid`},
		{name: "truncated conda", data: valid[:len(valid)/2], filename: "demo-1.0-0.conda", want: "not a valid .conda (zip) archive"},
		{name: "truncated tar.bz2", data: func() []byte {
			b := condatest.Build(t, condatest.Spec{Format: condatest.TarBz2})
			return b[:len(b)/2]
		}(), filename: "demo-1.0-0.tar.bz2", want: "truncated"},
		{name: "renamed conda", data: valid, filename: "demo-1.0-1.conda", want: `unexpected member "pkg-demo-1.0-0.tar.zst" in the .conda archive (expected metadata.json, info-demo-1.0-1.tar.zst, pkg-demo-1.0-1.tar.zst)`},
		{name: "local header disagrees with central directory", data: corruptLocal, filename: "demo-1.0-0.conda", want: "local headers disagree"},
		{name: "data after the zip", data: append(bytes.Clone(valid), "trailing"...), filename: "demo-1.0-0.conda", want: "data after the end of central directory record"},
		{name: "zip comment", spec: condatest.Spec{ZipComment: "hello"}, want: "the .conda archive has a zip comment"},

		// Outer zip.
		{name: "duplicate zip member", spec: condatest.Spec{ZipMembers: []condatest.ZipMember{{Name: "metadata.json", Data: []byte(`{"conda_pkg_format_version":2}`)}}}, want: `member "metadata.json" more than once`},
		{name: "unexpected zip member", spec: condatest.Spec{ZipMembers: []condatest.ZipMember{{Name: "evil.sh", Data: []byte("x")}}}, want: `unexpected member "evil.sh"`},
		{name: "zip member with a path", spec: condatest.Spec{ZipMembers: []condatest.ZipMember{{Name: "../evil", Data: []byte("x")}}}, want: "with a path in its name"},
		{name: "missing info member", spec: condatest.Spec{OmitZipMembers: []string{"info"}}, want: "has no info-demo-1.0-0.tar.zst"},
		{name: "missing pkg member", spec: condatest.Spec{OmitZipMembers: []string{"pkg"}}, want: "has no pkg-demo-1.0-0.tar.zst"},
		{name: "missing metadata.json", spec: condatest.Spec{OmitZipMembers: []string{"metadata.json"}}, want: "has no metadata.json"},
		{name: "unsupported zip method", spec: condatest.Spec{OmitZipMembers: []string{"pkg"},
			ZipMembers: []condatest.ZipMember{{Name: "pkg-demo-1.0-0.tar.zst", Data: []byte("x"), Method: 12}}}, want: "unsupported compression method 12"},
		{name: "too many zip members", spec: condatest.Spec{ZipMembers: func() []condatest.ZipMember {
			var ms []condatest.ZipMember
			for i := range 20 {
				ms = append(ms, condatest.ZipMember{Name: strings.Repeat("x", i+1), Data: []byte("x")})
			}
			return ms
		}()}, want: "has 23 members"},
		{name: "zip with prefix data", spec: condatest.Spec{ZipPrefix: []byte("#!/bin/sh\nexit 0\n")}, want: "not a .conda (zip) archive"},
		{name: "metadata.json version 1", spec: condatest.Spec{Metadata: []byte(`{"conda_pkg_format_version": 1}`)}, want: "conda_pkg_format_version is 1, want 2"},
		{name: "zip bomb (declared size)", spec: condatest.Spec{OmitZipMembers: []string{"pkg"},
			ZipMembers: []condatest.ZipMember{{Name: "pkg-demo-1.0-0.tar.zst", Data: bigDeflate, Method: zip.Deflate}}},
			want: "decompressed size exceeds 64 MiB (possible decompression bomb)"},
		{name: "info member in the pkg archive", spec: condatest.Spec{Entries: []condatest.Entry{{Name: "info/extra.json", Data: indexWith(""), Archive: "pkg"}}},
			want: `member "info/extra.json" of pkg-demo-1.0-0.tar.zst belongs in the info archive`},
		{name: "payload member in the info archive", spec: condatest.Spec{Entries: []condatest.Entry{{Name: "bin/x", Archive: "info"}}},
			want: `member "bin/x" of info-demo-1.0-0.tar.zst is outside info/`},
		{name: "upper-case INFO in the pkg archive", spec: condatest.Spec{Entries: []condatest.Entry{{Name: "INFO/INDEX.JSON", Data: indexWith("")}}},
			want: "belongs in the info archive"},
		{name: "upper-case INFO/INDEX.JSON", spec: condatest.Spec{Format: condatest.TarBz2, Entries: []condatest.Entry{{Name: "INFO/INDEX.JSON", Data: indexWith("")}}},
			want: `member "INFO/INDEX.JSON" differs only in case`},
	}
	// Tar members, in both formats.
	for _, c := range []struct {
		name string
		e    []condatest.Entry
		want string
	}{
		{"dot-dot member", []condatest.Entry{{Name: "../x"}}, "member ../x escapes the package root"},
		{"dot-dot inside member", []condatest.Entry{{Name: "lib/../../x"}}, "escapes the package root"},
		{"absolute member", []condatest.Entry{{Name: "/etc/x"}}, `member "/etc/x" is an absolute path`},
		{"drive letter member", []condatest.Entry{{Name: "C:/x"}}, "is an absolute path"},
		{"backslash member", []condatest.Entry{{Name: `a\..\b`}}, "has a backslash"},
		{"windows absolute member", []condatest.Entry{{Name: `C:\x`}}, "has a backslash"},
		{"overlong member name", []condatest.Entry{{Name: strings.Repeat("a/", 600) + "x"}}, "longer than 1024 bytes"},
		{"symlink in info", []condatest.Entry{{Name: "info/link", Type: tar.TypeSymlink, Linkname: "index.json"}}, `member "info/link" is a symlink inside info/`},
		{"hard link in info", []condatest.Entry{{Name: "info/link", Type: tar.TypeLink, Linkname: "info/index.json"}}, "is a hard link inside info/"},
		{"absolute symlink", []condatest.Entry{{Name: "lib/x", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}}, `points to the absolute path "/etc/passwd"`},
		{"escaping symlink", []condatest.Entry{{Name: "lib/x", Type: tar.TypeSymlink, Linkname: "../../etc"}}, `symlink "lib/x" -> "../../etc" escapes the package root`},
		{"escaping hard link", []condatest.Entry{{Name: "lib/x", Type: tar.TypeLink, Linkname: "../etc/passwd"}}, "has the invalid target"},
		{"absolute hard link", []condatest.Entry{{Name: "lib/x", Type: tar.TypeLink, Linkname: "/etc/passwd"}}, "has the invalid target"},
		{"member through a symlink", []condatest.Entry{{Name: "lib/d", Type: tar.TypeSymlink, Linkname: "."}, {Name: "lib/d/x"}}, `lies inside the symlink "lib/d"`},
		{"char device", []condatest.Entry{{Name: "dev/null", Type: tar.TypeChar}}, "is a device file"},
		{"block device", []condatest.Entry{{Name: "dev/sda", Type: tar.TypeBlock}}, "is a device file"},
		{"fifo", []condatest.Entry{{Name: "run/fifo", Type: tar.TypeFifo}}, "is a FIFO"},
		{"setuid", []condatest.Entry{{Name: "bin/su", Mode: 0o4755}}, "setuid or setgid"},
		{"setgid", []condatest.Entry{{Name: "bin/sg", Mode: 0o2755}}, "setuid or setgid"},
		{"duplicate member", []condatest.Entry{{Name: "bin/x"}, {Name: "bin/x"}}, `member "bin/x" appears more than once`},
		{"duplicate after cleaning", []condatest.Entry{{Name: "bin/x"}, {Name: "./bin//x"}}, "appears more than once"},
		{"duplicate index.json", []condatest.Entry{{Name: "info/index.json", Data: indexWith("")}, {Name: "info/index.json", Data: indexWith("")}}, `"info/index.json" appears more than once`},
		{"50 MiB index.json", []condatest.Entry{{Name: "info/index.json", Data: []byte("{"), Zeros: 50 << 20}}, "info/index.json is larger than 1 MiB"},
		{"2 MiB about.json", []condatest.Entry{{Name: "info/about.json", Data: []byte("{"), Zeros: 2 << 20}}, "info/about.json is larger than 1 MiB"},
		{"40 MiB paths.json", []condatest.Entry{{Name: "info/paths.json", Data: []byte("{"), Zeros: 40 << 20}}, "info/paths.json is larger than 32 MiB"},
		{"missing index.json", []condatest.Entry{{Name: "info/index.json", Type: tar.TypeDir}}, "info/index.json is missing"},
		{"bad paths.json", []condatest.Entry{{Name: "info/paths.json", Data: []byte(`{"paths":[1]}`)}}, "info/paths.json is not valid"},
	} {
		cases = append(cases, bothFormats(c.name, condatest.Spec{Entries: c.e}, c.want)...)
	}
	// index.json and the other JSON members, in both formats.
	for _, c := range []struct {
		name string
		spec condatest.Spec
		want string
	}{
		{"name mismatch", condatest.Spec{Index: map[string]any{"name": "bar"}}, `name in info/index.json is "bar" but the filename says "demo"`},
		{"version mismatch", condatest.Spec{Index: map[string]any{"version": "2.0"}}, `version in info/index.json is "2.0" but the filename says "1.0"`},
		{"build mismatch", condatest.Spec{Index: map[string]any{"build": "1"}}, `build in info/index.json is "1" but the filename says "0"`},
		{"name not a string", condatest.Spec{Index: map[string]any{"name": 5}}, `"name" in info/index.json must be a string`},
		{"no name", condatest.Spec{Index: map[string]any{"name": nil}}, `info/index.json has no "name"`},
		{"build_number string", condatest.Spec{Index: map[string]any{"build_number": "1"}}, `"build_number" in info/index.json must be a non-negative integer`},
		{"build_number float", condatest.Spec{Index: map[string]any{"build_number": 1.5}}, "must be a non-negative integer"},
		{"build_number negative", condatest.Spec{Index: map[string]any{"build_number": -1}}, "must be a non-negative integer"},
		{"timestamp string", condatest.Spec{Index: map[string]any{"timestamp": "now"}}, `"timestamp" in info/index.json must be a non-negative integer`},
		{"unknown subdir", condatest.Spec{Subdir: "linux-fake"}, `subdir "linux-fake" in info/index.json is not a known conda subdir`},
		{"no subdir", condatest.Spec{Index: map[string]any{"subdir": nil}}, `info/index.json has no "subdir"`},
		{"noarch outside noarch", condatest.Spec{Noarch: "generic", Subdir: "linux-64"}, `noarch packages belong in subdir "noarch"`},
		{"bad noarch", condatest.Spec{Subdir: "noarch", Index: map[string]any{"noarch": "java"}}, `"noarch" in info/index.json must be "generic" or "python"`},
		{"depends not a list", condatest.Spec{Index: map[string]any{"depends": "python"}}, `"depends" in info/index.json must be a list of strings`},
		{"depends with a number", condatest.Spec{Index: map[string]any{"depends": []any{"a", 1}}}, `"depends" in info/index.json must be a list of strings`},
		{"constrains object", condatest.Spec{Index: map[string]any{"constrains": map[string]any{}}}, `"constrains" in info/index.json must be a list of strings`},
		{"license number", condatest.Spec{Index: map[string]any{"license": 5}}, `"license" in info/index.json must be a string`},
		{"huge depends", condatest.Spec{Depends: deps}, "info/index.json has a list with more than 10000 elements"},
		{"deep JSON", condatest.Spec{Index: map[string]any{"extra": nested(100)}}, "info/index.json is nested more than 64 levels deep"},
		{"long string", condatest.Spec{Index: map[string]any{"license": strings.Repeat("a", 70000)}}, "info/index.json has a string longer than 64 KiB"},
		{"NUL escape", condatest.Spec{Index: map[string]any{"license": "a\x00b"}}, `info/index.json contains a NUL character`},
		{"invalid UTF-8", condatest.Spec{IndexJSON: indexWith(`,"license":"caf` + "\xe9" + `"`)}, "info/index.json is not valid UTF-8"},
		{"lone surrogate", condatest.Spec{IndexJSON: indexWith(`,"license":"\ud800x"`)}, "unpaired UTF-16 surrogate"},
		{"duplicate keys", condatest.Spec{IndexJSON: indexWith(`,"name":"demo"`)}, `info/index.json has the key "name" more than once`},
		{"escaped duplicate keys", condatest.Spec{IndexJSON: indexWith(`,"n\u0061me":"demo"`)}, `has the key "name" more than once`},
		{"top-level list", condatest.Spec{IndexJSON: []byte(`[1]`)}, "info/index.json must be a JSON object"},
		{"not JSON", condatest.Spec{IndexJSON: []byte(`{"name":`)}, "info/index.json is not valid JSON"},
		{"trailing data", condatest.Spec{IndexJSON: append(indexWith(""), " {}"...)}, "data after the top-level value"},
		{"empty index.json", condatest.Spec{IndexJSON: []byte{}}, "info/index.json is empty"},
		{"NaN", condatest.Spec{IndexJSON: indexWith(`,"x":NaN`)}, "info/index.json is not valid JSON"},
		{"huge number", condatest.Spec{IndexJSON: indexWith(`,"x":1e999`)}, "info/index.json has the number 1e999, which is out of range"},
		{"about not JSON", condatest.Spec{AboutJSON: []byte(`{"home":`)}, "info/about.json is not valid JSON"},
		{"about a list", condatest.Spec{AboutJSON: []byte(`[]`)}, "info/about.json must be a JSON object"},
		{"about duplicate keys", condatest.Spec{AboutJSON: []byte(`{"a":1,"a":2}`)}, `info/about.json has the key "a" more than once`},
		{"run_exports a string", condatest.Spec{RunExportsJSON: []byte(`"x"`)}, "info/run_exports.json must be a JSON object or list"},
		{"run_exports list of numbers", condatest.Spec{RunExportsJSON: []byte(`[1]`)}, "info/run_exports.json must be a list of strings or an object of lists of strings"},
		{"run_exports null list", condatest.Spec{RunExportsJSON: []byte(`{"weak":null}`)}, `"weak" in info/run_exports.json must be a list of strings, not null`},
	} {
		cases = append(cases, bothFormats(c.name, c.spec, c.want)...)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, fn := c.data, c.filename
			if data == nil {
				data = condatest.Build(t, c.spec)
			}
			if fn == "" {
				fn = c.spec.Filename()
			}
			p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), fn, conda.DefaultLimits())
			var ipe *conda.InvalidPackageError
			if !errors.As(err, &ipe) {
				t.Fatalf("ReadPackage = %+v, %v; want an *InvalidPackageError containing %q", p, err, c.want)
			}
			if !strings.Contains(ipe.Reason, c.want) {
				t.Errorf("reason %q does not contain %q", ipe.Reason, c.want)
			}
			if !strings.HasPrefix(err.Error(), "invalid package: ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// TestReadPackageBombs checks that decompression bombs are stopped at the cap and that reading
// them does not allocate anything near the decompressed size.
func TestReadPackageBombs(t *testing.T) {
	const gib = 1 << 30
	for _, tt := range []struct {
		name string
		spec condatest.Spec
	}{
		{"zstd bomb in pkg", condatest.Spec{Entries: []condatest.Entry{{Name: "share/zeros", Zeros: gib}}}},
		{"zstd bomb before index.json", condatest.Spec{FirstEntries: []condatest.Entry{{Name: "info/aaa", Zeros: gib}}}},
		{"bzip2 bomb", condatest.Spec{Format: condatest.TarBz2, Entries: []condatest.Entry{{Name: "share/zeros", Zeros: gib}}}},
		{"bzip2 bomb before index.json", condatest.Spec{Format: condatest.TarBz2, FirstEntries: []condatest.Entry{{Name: "share/zeros", Zeros: gib}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := condatest.Build(t, tt.spec)
			if len(data) > 10<<20 {
				t.Fatalf("bomb is %d bytes; want a small file", len(data))
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), tt.spec.Filename(), conda.DefaultLimits())
			runtime.ReadMemStats(&after)
			var ipe *conda.InvalidPackageError
			if !errors.As(err, &ipe) || !strings.Contains(ipe.Reason, "possible decompression bomb") {
				t.Fatalf("err = %v; want a decompression bomb error", err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte bomb: allocated %d KiB in total", len(data), alloc>>10)
			if alloc > 48<<20 {
				t.Errorf("ReadPackage allocated %d MiB in total; want far less than the 64 MiB cap", alloc>>20)
			}
		})
	}
}

func TestReadPackageZstdWindow(t *testing.T) {
	// Over one zstd block (128 KiB), so the encoder cannot know the size before it starts.
	spec := condatest.Spec{ZstdWindow: 8 << 20, Files: map[string][]byte{"a": bytes.Repeat([]byte("abc"), 100_000)}}
	data := condatest.Build(t, spec)
	lim := conda.DefaultLimits()
	if _, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), lim); err != nil {
		t.Fatalf("8 MiB window with the default limits: %v", err)
	}
	lim.MaxZstdMemory = 1 << 20
	_, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), lim)
	var ipe *conda.InvalidPackageError
	if !errors.As(err, &ipe) || !strings.Contains(ipe.Reason, "pkg-demo-1.0-0.tar.zst needs more than 1 MiB of zstd decoder memory") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadPackageMemberCap(t *testing.T) {
	spec := condatest.Spec{Entries: []condatest.Entry{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	data := condatest.Build(t, spec)
	lim := conda.DefaultLimits()
	lim.MaxMembers = 5
	_, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), lim)
	var ipe *conda.InvalidPackageError
	if !errors.As(err, &ipe) || !strings.Contains(ipe.Reason, "more than 5 members") {
		t.Fatalf("err = %v", err)
	}

	// Tar headers count against the decompressed-size cap too.
	var es []condatest.Entry
	for i := range 5000 {
		es = append(es, condatest.Entry{Name: fmt.Sprintf("f/%d", i)})
	}
	spec = condatest.Spec{Format: condatest.TarBz2, Entries: es}
	data = condatest.Build(t, spec)
	lim = conda.DefaultLimits()
	lim.MinDecompressed = 1 << 20
	_, err = conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), lim)
	if !errors.As(err, &ipe) || ipe.Reason != "decompressed size exceeds 1 MiB (possible decompression bomb)" {
		t.Fatalf("err = %v", err)
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

func TestReadPackageIOError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, fn := range []string{"demo-1.0-0.conda", "demo-1.0-0.tar.bz2"} {
		_, err := conda.ReadPackage(failingReaderAt{boom}, 1000, fn, conda.DefaultLimits())
		if !errors.Is(err, boom) {
			t.Errorf("%s: err = %v; want the reader's error", fn, err)
		}
	}
}

func TestZeroLimitsMeanDefaults(t *testing.T) {
	spec := condatest.Spec{Depends: []string{"a", "b"}, About: map[string]any{"x": []any{map[string]any{}}}}
	data := condatest.Build(t, spec)
	if _, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), spec.Filename(), conda.Limits{}); err != nil {
		t.Fatalf("Limits{}: %v", err)
	}
	if got := (conda.Limits{}).DecompressedCap(1000); got != 64<<20 {
		t.Errorf("Limits{}.DecompressedCap = %d", got)
	}
}

func TestDecompressedCap(t *testing.T) {
	lim := conda.DefaultLimits()
	for _, tt := range []struct{ size, want int64 }{
		{0, 64 << 20},
		{1000, 64 << 20},
		{10 << 20, 500 << 20},
		{1 << 40, 32 << 30},
		{1 << 62, 32 << 30},
	} {
		if got := lim.DecompressedCap(tt.size); got != tt.want {
			t.Errorf("DecompressedCap(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}

func TestRecord(t *testing.T) {
	p := mustRead(t, condatest.Spec{
		Depends: []string{"vc >=14.1,<15.0a0"},
		Index: map[string]any{
			"md5": "0", "sha256": "0", "size": 1, "url": "https://evil/x", "fn": "x.conda", "base_url": "https://evil",
			"channel": "evil", "legacy_bz2_md5": "0", "legacy_bz2_size": 1, "indexed_timestamp": 1, "arch": "x86_64",
			"platform": "linux", "has_prefix": true, "mtime": 1, "ucs": 4, "requires_features": map[string]any{},
			"binstar": map[string]any{}, "target-triplet": "x", "machine": "x", "operatingsystem": "x",
			"track_features": "mkl", "custom": map[string]any{"b": 1, "a": []int{2}},
		},
		RunExports: map[string]any{"weak": []string{"demo"}},
	})
	sha := strings.Repeat("ab", 32)
	md := strings.Repeat("cd", 16)
	rec, err := p.Record(sha, md, 1234)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"build":"0","build_number":0,"custom":{"a":[2],"b":1},"depends":["vc >=14.1,<15.0a0"],"md5":"` + md +
		`","name":"demo","sha256":"` + sha + `","size":1234,"subdir":"linux-64","timestamp":1718000000000,"track_features":"mkl","version":"1.0"}`
	if string(rec.JSON) != want {
		t.Errorf("record\n got %s\nwant %s", rec.JSON, want)
	}
	if string(rec.RunExports) != `{"weak":["demo"]}` || rec.Filename != "demo-1.0-0.conda" || rec.Timestamp != 1718000000000 {
		t.Errorf("record fields %+v", rec)
	}

	for _, bad := range [][2]string{{"ABAB", md}, {sha, "xyz"}, {strings.ToUpper(sha), md}, {sha, md + "0"}} {
		if _, err := p.Record(bad[0], bad[1], 1); err == nil {
			t.Errorf("Record(%q, %q) accepted bad checksums", bad[0], bad[1])
		}
	}
	if _, err := p.Record(sha, md, -1); err == nil {
		t.Error("Record accepted a negative size")
	}

	// Nested values are kept as uploaded (only compacted), not re-sorted.
	p = mustRead(t, condatest.Spec{IndexJSON: indexWith(`, "custom": {"b": 1, "a": [2, {"z": 0, "y": "<&>"}]}`)})
	if rec, err = p.Record(sha, md, 1); err != nil || !strings.Contains(string(rec.JSON), `"custom":{"b":1,"a":[2,{"z":0,"y":"<&>"}]}`) {
		t.Errorf("nested value not verbatim: %s, %v", rec.JSON, err)
	}

	stored := &conda.Package{Filename: "x-1-0.conda", Index: map[string]json.RawMessage{"name": raw(`"x"`), "depends": raw(`null`), "constrains": raw(`null`)}}
	rec, err = stored.Record(sha, md, 1)
	if err != nil || !strings.Contains(string(rec.JSON), `"constrains":[],"depends":[]`) {
		t.Errorf("null lists: %s, %v", rec.JSON, err)
	}
}
