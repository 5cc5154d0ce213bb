package conda

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/internal/conda/matchspec"
)

// Length caps from CEP-26.
const (
	MaxNameLen     = 64
	MaxVersionLen  = 64
	MaxBuildLen    = 64
	MaxFilenameLen = 211
	MaxLabelLen    = 100
)

// Extensions of the two package formats.
const (
	ExtConda  = ".conda"
	ExtTarBz2 = ".tar.bz2"
)

// Ext returns the filename extension of f, including the dot.
func (f Format) Ext() string {
	switch f {
	case FormatConda:
		return ExtConda
	case FormatTarBz2:
		return ExtTarBz2
	}
	return ""
}

func (f Format) String() string {
	if e := f.Ext(); e != "" {
		return e
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFilename splits "<name>-<version>-<build>.conda|.tar.bz2". The name may contain dashes;
// version and build cannot, so the split is at the last two dashes.
func ParseFilename(fn string) (name, version, build string, f Format, err error) {
	bad := func(reason string, args ...any) error {
		return &InvalidFilenameError{Filename: fn, Reason: fmt.Sprintf(reason, args...)}
	}
	if len(fn) > MaxFilenameLen {
		return "", "", "", 0, bad("longer than %d characters", MaxFilenameLen)
	}
	var stem string
	switch {
	case strings.HasSuffix(fn, ExtConda):
		stem, f = strings.TrimSuffix(fn, ExtConda), FormatConda
	case strings.HasSuffix(fn, ExtTarBz2):
		stem, f = strings.TrimSuffix(fn, ExtTarBz2), FormatTarBz2
	default:
		return "", "", "", 0, bad("must end in .conda or .tar.bz2")
	}
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return "", "", "", 0, bad("must be <name>-<version>-<build>%s", f.Ext())
	}
	build = stem[i+1:]
	j := strings.LastIndexByte(stem[:i], '-')
	if j < 0 {
		return "", "", "", 0, bad("must be <name>-<version>-<build>%s", f.Ext())
	}
	name, version = stem[:j], stem[j+1:i]
	if !ValidName(name) {
		return "", "", "", 0, bad("package name %q is not valid (lowercase a-z, 0-9, '.', '_', '-', at most %d characters, no doubled separators)", name, MaxNameLen)
	}
	if !ValidVersion(version) {
		return "", "", "", 0, bad("version %q is not a valid conda version", version)
	}
	if !ValidBuild(build) {
		return "", "", "", 0, bad("build string %q is not valid (a-z, A-Z, 0-9, '_', '.', '+', at most %d characters)", build, MaxBuildLen)
	}
	return name, version, build, f, nil
}

func isSep(c byte) bool { return c == '.' || c == '_' || c == '-' }

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// ValidName reports whether s is a distributable package name (CEP-26): lowercase a-z, 0-9, '.',
// '_', '-', at most 64 characters, starting with a letter, a digit or '_', and without two
// separators in a row. CEP-26 states the last rule with a lookahead, which RE2 lacks.
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	if s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLowerAlnum(c):
		case isSep(c):
			if i > 0 && isSep(s[i-1]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ValidVersion reports whether s is a version string conda can order: CEP-26's characters
// (a-z, 0-9, '.', '_', '+', '!'), at most 64 of them, and parsable by conda's VersionOrder (no
// empty components, at most one epoch and one local part).
func ValidVersion(s string) bool {
	if s == "" || len(s) > MaxVersionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && c != '.' && c != '_' && c != '+' && c != '!' {
			return false
		}
	}
	_, err := matchspec.ParseVersion(s)
	return err == nil
}

// CompareVersions orders two conda versions as conda's VersionOrder does (see
// matchspec.CompareVersions): -1, 0 ("1.1" == "1.1.0") or +1.
func CompareVersions(a, b string) int { return matchspec.CompareVersions(a, b) }

// ValidBuild reports whether s matches CEP-26's ^[a-zA-Z0-9_.+]+$ and is at most 64 characters.
func ValidBuild(s string) bool {
	if s == "" || len(s) > MaxBuildLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.' && c != '+' {
			return false
		}
	}
	return true
}

// knownSubdirs is conda's PLATFORM_DIRECTORIES (base/constants.py), sorted.
var knownSubdirs = []string{
	"emscripten-wasm32",
	"freebsd-64",
	"linux-32",
	"linux-64",
	"linux-aarch64",
	"linux-armv6l",
	"linux-armv7l",
	"linux-ppc64",
	"linux-ppc64le",
	"linux-riscv64",
	"linux-s390x",
	"noarch",
	"osx-64",
	"osx-arm64",
	"wasi-wasm32",
	"win-32",
	"win-64",
	"win-arm64",
	"zos-z",
}

// KnownSubdirs returns the subdirs conda knows, sorted. It is a fresh copy on every call.
func KnownSubdirs() []string { return slices.Clone(knownSubdirs) }

// ValidSubdir reports whether s is one of KnownSubdirs.
func ValidSubdir(s string) bool {
	_, ok := slices.BinarySearch(knownSubdirs, s)
	return ok
}

// ValidLabel reports whether s can name a channel label: ^[a-zA-Z][0-9a-zA-Z_\-./]*$ (CEP-26),
// at most 100 characters, no ".." and no empty "/"-segment (labels become URL paths), and not the
// reserved "nolabel".
func ValidLabel(s string) bool {
	if s == "" || len(s) > MaxLabelLen || s == "nolabel" {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == '/') {
			return false
		}
	}
	if strings.Contains(s, "..") {
		return false
	}
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "" || seg == "." {
			return false
		}
	}
	return true
}
