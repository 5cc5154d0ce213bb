package conda_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda"
)

func TestValidName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"zlib", true}, {"libgcc-ng", true}, {"vs2015_runtime", true}, {"_libgcc_mutex", true},
		{"_r-mutex", true}, {"python.app", true}, {"a", true}, {"7zip", true}, {"x-", true},
		{strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"Foo", false}, {"-foo", false}, {".foo", false},
		{"__foo", false}, {"foo--bar", false}, {"foo-.bar", false}, {"foo._bar", false}, {"foo/bar", false},
		{"foo bar", false}, {"foo@1", false}, {"föo", false}, {"..", false}, {"foo\x00", false},
	} {
		if got := conda.ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestValidVersionAndBuild(t *testing.T) {
	for _, tt := range []struct {
		v  string
		ok bool
	}{
		{"1.0", true}, {"1.0_", true}, {"1!2.0", true}, {"2.0+local.1", true}, {"1.0.dev1", true},
		{"2024.1.post1", true}, {"99.99.99", true}, {"1.2.3a4", true}, {"0", true},
		{"", false}, {"1..0", false}, {"1.0.", false}, {".1", false}, {"1-0", false}, {"1.0+", false},
		{"1+2+3", false}, {"1!2!3", false}, {"a!1", false}, {"!1", false}, {"1.0A", false}, {"1 0", false},
		{"1.*", false}, {strings.Repeat("1", 65), false}, {"+1", false},
	} {
		if got := conda.ValidVersion(tt.v); got != tt.ok {
			t.Errorf("ValidVersion(%q) = %v, want %v", tt.v, got, tt.ok)
		}
	}
	for _, tt := range []struct {
		b  string
		ok bool
	}{
		{"0", true}, {"h7b6447c_3", true}, {"py39h06a4308_0", true}, {"cuda12.1+mkl_0", true}, {"VERSIONED", true},
		{"", false}, {"a-b", false}, {"a b", false}, {"a/b", false}, {strings.Repeat("b", 65), false},
	} {
		if got := conda.ValidBuild(tt.b); got != tt.ok {
			t.Errorf("ValidBuild(%q) = %v, want %v", tt.b, got, tt.ok)
		}
	}
}

func TestParseFilename(t *testing.T) {
	for _, tt := range []struct {
		fn                   string
		name, version, build string
		format               conda.Format
		err                  string
	}{
		{fn: "zlib-1.2.11-h7b6447c_3.conda", name: "zlib", version: "1.2.11", build: "h7b6447c_3", format: conda.FormatConda},
		{fn: "libgcc-ng-8.2.0-hdf63c60_1.tar.bz2", name: "libgcc-ng", version: "8.2.0", build: "hdf63c60_1", format: conda.FormatTarBz2},
		{fn: "a-b-c-1!2.0+x-0.conda", name: "a-b-c", version: "1!2.0+x", build: "0", format: conda.FormatConda},
		{fn: "zlib-1.2.11.conda", err: "must be <name>-<version>-<build>.conda"},
		{fn: "zlib.conda", err: "must be <name>-<version>-<build>.conda"},
		{fn: "zlib-1.0-0.zip", err: "must end in .conda or .tar.bz2"},
		{fn: "zlib-1.0-0.tar.gz", err: "must end in .conda or .tar.bz2"},
		{fn: "Zlib-1.0-0.conda", err: `package name "Zlib" is not valid`},
		{fn: "-1.0-0.conda", err: `package name "" is not valid`},
		{fn: "zlib-1..0-0.conda", err: `version "1..0" is not a valid conda version`},
		{fn: "zlib-1.0--0.conda", err: `version "" is not a valid conda version`},
		{fn: "zlib-1.0-.conda", err: `build string "" is not valid`},
		{fn: "zlib-1.0-a b.conda", err: `build string "a b" is not valid`},
		{fn: "../zlib-1.0-0.conda", err: "is not valid"},
		{fn: "a/zlib-1.0-0.conda", err: "is not valid"},
		{fn: strings.Repeat("a", 210) + "-1-0.conda", err: "longer than 211"},
	} {
		name, version, build, f, err := conda.ParseFilename(tt.fn)
		if tt.err != "" {
			var fe *conda.InvalidFilenameError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.err) || fe.Filename != tt.fn {
				t.Errorf("ParseFilename(%q) err = %v, want an *InvalidFilenameError containing %q", tt.fn, err, tt.err)
			}
			continue
		}
		if err != nil || name != tt.name || version != tt.version || build != tt.build || f != tt.format {
			t.Errorf("ParseFilename(%q) = %q, %q, %q, %v, %v", tt.fn, name, version, build, f, err)
		}
	}
}

func TestSubdirs(t *testing.T) {
	for _, s := range []string{"noarch", "linux-64", "linux-aarch64", "linux-ppc64le", "linux-s390x", "linux-armv6l",
		"linux-armv7l", "linux-riscv64", "linux-32", "linux-ppc64", "osx-64", "osx-arm64", "win-64", "win-32",
		"win-arm64", "freebsd-64", "emscripten-wasm32", "wasi-wasm32", "zos-z"} {
		if !conda.ValidSubdir(s) {
			t.Errorf("ValidSubdir(%q) = false", s)
		}
	}
	for _, s := range []string{"", "linux", "linux-fake", "Linux-64", "noarch/", "../noarch", "osx-arm"} {
		if conda.ValidSubdir(s) {
			t.Errorf("ValidSubdir(%q) = true", s)
		}
	}
	k := conda.KnownSubdirs()
	if len(k) != 19 {
		t.Errorf("KnownSubdirs() has %d entries, want 19", len(k))
	}
	k[0] = "evil"
	if conda.KnownSubdirs()[0] == "evil" {
		t.Error("KnownSubdirs returns shared state")
	}
}

func TestValidLabel(t *testing.T) {
	for _, tt := range []struct {
		l  string
		ok bool
	}{
		{"main", true}, {"dev", true}, {"rc/2024.1", true}, {"gcc_7", true}, {"a-b.c/d_e", true}, {"A", true},
		{strings.Repeat("a", 100), true},
		{"", false}, {"nolabel", false}, {"1abc", false}, {"_x", false}, {"a..b", false}, {"a//b", false},
		{"a/", false}, {"a/./b", false}, {"a b", false}, {"a\\b", false}, {"a%2f", false}, {strings.Repeat("a", 101), false},
		{"a/../b", false},
	} {
		if got := conda.ValidLabel(tt.l); got != tt.ok {
			t.Errorf("ValidLabel(%q) = %v, want %v", tt.l, got, tt.ok)
		}
	}
}
