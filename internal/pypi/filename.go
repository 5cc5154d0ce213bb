package pypi

import (
	"fmt"
	"slices"
	"strings"
)

// Kinds of distribution.
const (
	KindWheel = "wheel"
	KindSdist = "sdist"
)

// Extensions Wharf accepts. Eggs, .exe/.msi installers and other sdist formats (.tar.bz2,
// .tgz) are refused, as PyPI refuses them.
const (
	ExtWheel = ".whl"
	ExtTarGz = ".tar.gz"
	ExtZip   = ".zip"
)

// MaxFilenameLen caps distribution filenames (a common file-system limit).
const MaxFilenameLen = 255

// Filename is what a distribution's filename says.
type Filename struct {
	Kind    string // KindWheel or KindSdist
	Project string // as written in the filename ("simple.dist", "Upper")
	Version string // as written
	Build   string // wheel build tag, "" if none
	// Wheel compatibility tags, each possibly a compressed set ("py2.py3"); "" for sdists.
	PyTag, ABITag, PlatTag string
	Ext                    string // ExtWheel, ExtTarGz or ExtZip
}

// String rebuilds the filename.
func (f Filename) String() string {
	if f.Kind == KindWheel {
		s := f.Project + "-" + f.Version
		if f.Build != "" {
			s += "-" + f.Build
		}
		return s + "-" + f.PyTag + "-" + f.ABITag + "-" + f.PlatTag + f.Ext
	}
	return f.Project + "-" + f.Version + f.Ext
}

// ParseFilename splits a distribution filename and checks its parts:
//
//   - a wheel is {project}-{version}(-{build})?-{python tag}-{abi tag}-{platform tag}.whl, no
//     part holding '-' (PyPA binary-distribution-format);
//   - an sdist is {project}-{version}.tar.gz or .zip, split at the last '-' whose right side is
//     a PEP 440 version, since legacy sdists have '-' in the project ("foo-bar-1.0.tar.gz").
//
// The project must be a valid name (ValidName) and the version a PEP 440 version. Path
// separators, NUL, whitespace, control and non-ASCII characters, and names longer than
// MaxFilenameLen bytes are refused. Errors are *InvalidDistError.
func ParseFilename(fn string) (Filename, error) {
	bad := func(format string, args ...any) (Filename, error) {
		return Filename{}, invalidf(fn, format, args...)
	}
	if fn == "" {
		return bad("the filename is empty")
	}
	if len(fn) > MaxFilenameLen {
		return bad("the filename is longer than %d bytes", MaxFilenameLen)
	}
	for i := 0; i < len(fn); i++ {
		switch c := fn[i]; {
		case c == '/' || c == '\\':
			return bad("the filename holds a path separator; upload the file under its base name")
		case c == 0:
			return bad("the filename holds a NUL byte")
		case c <= ' ' || c == 0x7f:
			return bad("the filename holds whitespace or a control character")
		case c >= 0x80:
			return bad("the filename holds non-ASCII characters; distribution filenames are ASCII")
		}
	}
	var f Filename
	switch {
	case strings.HasSuffix(fn, ExtWheel):
		return parseWheelFilename(fn)
	case strings.HasSuffix(fn, ExtTarGz):
		f = Filename{Kind: KindSdist, Ext: ExtTarGz}
	case strings.HasSuffix(fn, ExtZip):
		f = Filename{Kind: KindSdist, Ext: ExtZip}
	default:
		return bad("not a wheel or sdist filename: it must end in .whl, .tar.gz or .zip")
	}
	stem := strings.TrimSuffix(fn, f.Ext)
	for i := len(stem) - 1; i > 0; i-- {
		if stem[i] != '-' {
			continue
		}
		if _, err := parseVersion(stem[i+1:]); err != nil {
			continue
		}
		f.Project, f.Version = stem[:i], stem[i+1:]
		if !ValidName(f.Project) {
			return bad("the project name %s is not valid: use letters, digits, '.', '_' and '-', starting and ending with a letter or digit", quoteShort(f.Project))
		}
		return f, nil
	}
	return bad("an sdist filename must be {name}-{version}%s with a PEP 440 version, such as demo_lib-1.0%s", f.Ext, f.Ext)
}

func parseWheelFilename(fn string) (Filename, error) {
	bad := func(format string, args ...any) (Filename, error) {
		return Filename{}, invalidf(fn, format, args...)
	}
	parts := strings.Split(strings.TrimSuffix(fn, ExtWheel), "-")
	f := Filename{Kind: KindWheel, Ext: ExtWheel}
	switch len(parts) {
	case 5:
		f.Project, f.Version, f.PyTag, f.ABITag, f.PlatTag = parts[0], parts[1], parts[2], parts[3], parts[4]
	case 6:
		f.Project, f.Version, f.Build, f.PyTag, f.ABITag, f.PlatTag = parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
	default:
		return bad("a wheel filename must be {name}-{version}(-{build})?-{python tag}-{abi tag}-{platform tag}.whl, with no '-' inside a part")
	}
	for _, p := range parts {
		if p == "" {
			return bad("a wheel filename must be {name}-{version}(-{build})?-{python tag}-{abi tag}-{platform tag}.whl, with no empty part")
		}
	}
	if !ValidName(f.Project) {
		return bad("the project name %s is not valid: use letters, digits, '.' and '_', starting and ending with a letter or digit", quoteShort(f.Project))
	}
	if _, err := parseVersion(f.Version); err != nil {
		return bad("the version %s is %v%s", quoteShort(f.Version), err, versionHint)
	}
	if f.Build != "" && !validBuildTag(f.Build) {
		return bad("the build tag %s must start with a digit and hold only letters, digits, '_' and '.'", quoteShort(f.Build))
	}
	if err := checkPyTag(f.PyTag); err != nil {
		return bad("%v", err)
	}
	if err := checkTagSet("ABI", f.ABITag); err != nil {
		return bad("%v", err)
	}
	if err := checkTagSet("platform", f.PlatTag); err != nil {
		return bad("%v", err)
	}
	return f, nil
}

func validBuildTag(s string) bool {
	if s == "" || !isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// checkTagSet checks a compressed tag set such as "manylinux_2_17_x86_64.manylinux2014_x86_64":
// '.'-separated tags of letters, digits and '_' (PEP 425 replaces every other character by '_').
func checkTagSet(what, set string) error {
	for tag := range strings.SplitSeq(set, ".") {
		if tag == "" {
			return fmt.Errorf("the %s tag %s has an empty part; tags in a set are joined by single dots", what, quoteShort(set))
		}
		for i := 0; i < len(tag); i++ {
			if c := tag[i]; !isAlnum(c) && c != '_' {
				return fmt.Errorf("the %s tag %s may hold only letters, digits and '_'", what, quoteShort(set))
			}
		}
	}
	return nil
}

// checkPyTag checks the Python tag: a set of an interpreter abbreviation followed by the
// Python version it needs, "py3", "cp312", "pp310", "py2.py3" (PEP 425). "py" and "cp" name
// CPython-compatible versions, whose major version is the first digit: wheels exist for
// Python 2 and later only, so "py1" is refused as a tag no installer can match.
func checkPyTag(set string) error {
	if err := checkTagSet("Python", set); err != nil {
		return err
	}
	for tag := range strings.SplitSeq(set, ".") {
		i := 0
		for i < len(tag) && ('a' <= tag[i] && tag[i] <= 'z' || 'A' <= tag[i] && tag[i] <= 'Z') {
			i++
		}
		if i == 0 || i == len(tag) || !isDigit(tag[i]) {
			return fmt.Errorf("the Python tag %s must be an interpreter followed by a version, such as py3, cp312 or py2.py3", quoteShort(tag))
		}
		interp := strings.ToLower(tag[:i])
		if (interp == "py" || interp == "cp") && tag[i] < '2' {
			return fmt.Errorf("the Python tag %s names Python %c, for which no wheels exist; use a tag such as py3 or cp312", quoteShort(tag), tag[i])
		}
	}
	return nil
}

// Canonical is the filename a distribution is stored and listed under: the project name
// normalized (PEP 503) with '_' for '-', and the version in its normalized PEP 440 form, as
// the binary distribution format and PEP 625 spell them; a wheel's build tag and
// compatibility tags stay as they are (no specification rewrites them).
// "Col.Lide-1.0-py3-none-any.whl" and "COL__lide-01.0-py3-none-any.whl" are both
// "col_lide-1.0-py3-none-any.whl". f must come from ParseFilename.
func (f Filename) Canonical() string {
	c := f
	c.Project = strings.ReplaceAll(NormalizeName(f.Project), "-", "_")
	if v, err := ParseVersion(f.Version); err == nil {
		c.Version = v
	}
	return c.String()
}

// Key is a distribution's identity: filenames with one Key are one distribution, of which a
// channel holds one file, as PyPI does. It is made of
//
//   - the project's normalized name (PEP 503);
//   - the version up to PEP 440 equality: 1.0, 1.0.0 and v1.0 are one;
//   - for a wheel, the build tag as installers order it (its number, then the rest) and the
//     compatibility tag sets, each compared as a set without regard to case or order
//     (py2.py3 and PY3.py2 are one), as packaging's parse_wheel_filename reads them;
//   - for an sdist, nothing more: a release has one sdist, .tar.gz or legacy .zip, as on PyPI.
//
// f must come from ParseFilename.
func (f Filename) Key() string {
	name := strings.ReplaceAll(NormalizeName(f.Project), "-", "_")
	v := f.Version
	if pv, err := ParseVersion(f.Version); err == nil {
		v = releaseKey(pv)
	}
	if f.Kind != KindWheel {
		return name + "-" + v + ".sdist"
	}
	return name + "-" + v + "-" + buildKey(f.Build) + "-" + tagSetKey(f.PyTag) + "-" + tagSetKey(f.ABITag) + "-" + tagSetKey(f.PlatTag) + ExtWheel
}

// CanonicalFilename parses fn (ParseFilename) and returns its canonical spelling and its Key.
// A filename whose canonical spelling would be longer than MaxFilenameLen is refused, so
// that what is stored can always be parsed again.
func CanonicalFilename(fn string) (canonical, key string, err error) {
	f, err := ParseFilename(fn)
	if err != nil {
		return "", "", err
	}
	canonical = f.Canonical()
	if len(canonical) > MaxFilenameLen {
		return "", "", invalidf(fn, "the filename, spelt the standard way (%s…), is longer than %d bytes", canonical[:40], MaxFilenameLen)
	}
	return canonical, f.Key(), nil
}

// releaseKey drops the trailing zero parts of a normalized version's release segment, as
// packaging's canonicalize_version does, so versions equal by PEP 440 get one key: "1.0.0"
// and "1.0" are "1"; "1.0.0rc1+local.0" is "1rc1+local.0".
func releaseKey(v string) string {
	i := 0
	if j := strings.IndexByte(v, '!'); j >= 0 {
		i = j + 1
	}
	end := i
	for end < len(v) && (isDigit(v[end]) || v[end] == '.' && end+1 < len(v) && isDigit(v[end+1])) {
		end++
	}
	rel := v[i:end]
	for strings.HasSuffix(rel, ".0") {
		rel = strings.TrimSuffix(rel, ".0")
	}
	return v[:i] + rel + v[end:]
}

// buildKey is a build tag as installers compare it: its leading number without leading
// zeros, then the rest ("01abc" and "1abc" are one build).
func buildKey(b string) string {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	n := strings.TrimLeft(b[:i], "0")
	if n == "" && i > 0 {
		n = "0"
	}
	return n + b[i:]
}

// tagSetKey is a compressed tag set as a set: lower case, sorted, without repeats.
func tagSetKey(set string) string {
	tags := strings.Split(strings.ToLower(set), ".")
	slices.Sort(tags)
	return strings.Join(slices.Compact(tags), ".")
}
