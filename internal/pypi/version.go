package pypi

import (
	"errors"
	"fmt"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// ParseVersion checks that v is a PEP 440 version and returns its normalized form, the string
// packaging's str(Version(v)) gives: "V1.0-Beta" → "1.0b0", "1.0-1" → "1.0.post1",
// "1.0+Ubuntu-1" → "1.0+ubuntu.1", "0!1.0" → "1.0". Trailing zeros are kept ("1.0" stays
// "1.0"), so two versions that compare equal may still print differently: compare them with
// CompareVersions, which treats "1.0" and "1.0.0" as the same release, as PEP 440 does.
// Surrounding whitespace is ignored, as PEP 440 says.
func ParseVersion(v string) (canonical string, err error) {
	pv, err := parseVersion(v)
	if err != nil {
		return "", err
	}
	return pv.String(), nil
}

func parseVersion(v string) (pep440.Version, error) {
	if len(v) > maxVersionLen {
		return pep440.Version{}, fmt.Errorf("version is longer than %d bytes", maxVersionLen)
	}
	// The library lowercases the local segment but neither normalizes its separators nor
	// splits it at them, so "1.0+a-1" and "1.0+a.1" would differ. PEP 440 makes '-', '_' and
	// '.' equivalent there; the local segment's grammar accepts each where it accepts the
	// others, so this rewrite neither makes an invalid version valid nor the reverse. A part
	// of digits only is a number there ("1.0+local.00" is "1.0+local.0", as packaging
	// prints it); a part with letters stays as it is ("1.0+foo0100").
	if i := strings.IndexByte(v, '+'); i >= 0 {
		parts := strings.Split(strings.Map(func(r rune) rune {
			if r == '-' || r == '_' {
				return '.'
			}
			return r
		}, v[i+1:]), ".")
		for j, p := range parts {
			if len(p) > 1 && strings.Trim(p, "0123456789") == "" {
				if parts[j] = strings.TrimLeft(p, "0"); parts[j] == "" {
					parts[j] = "0"
				}
			}
		}
		v = v[:i+1] + strings.Join(parts, ".")
	}
	pv, err := pep440.Parse(v)
	if err != nil {
		if strings.Contains(err.Error(), "out of range") {
			return pep440.Version{}, errors.New("a number in it is too large")
		}
		return pep440.Version{}, errors.New("not a valid PEP 440 version")
	}
	return pv, nil
}

// versionHint ends messages about invalid versions.
const versionHint = " (PEP 440 versions look like 1.0, 2.1.3, 3.0rc1, 2024.1.post1 or 1.0+local.1)"

// maxVersionLen bounds the text handed to the parser; real versions are far shorter.
const maxVersionLen = 128

// CompareVersions orders versions by PEP 440 for sorting: it returns -1, 0 or 1. Strings that
// are not PEP 440 versions sort before every valid version, and among themselves byte-wise, so
// the order is total whatever it is given.
func CompareVersions(a, b string) int {
	va, ea := parseVersion(a)
	vb, eb := parseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	return va.Compare(vb)
}

// sameVersion reports whether a and b are the same PEP 440 version (1.0 == 1.0.0).
func sameVersion(a, b pep440.Version) bool { return a.Compare(b) == 0 }

// checkSpecifierSet checks a PEP 440 version specifier set such as ">=3.9, <4" or "~=3.10",
// as Requires-Python holds. It is stricter than pip, which ignores what it cannot parse.
func checkSpecifierSet(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("it is empty")
	}
	for clause := range strings.SplitSeq(s, ",") {
		if err := checkSpecifier(strings.TrimSpace(clause)); err != nil {
			return err
		}
	}
	return nil
}

func checkSpecifier(c string) error {
	if c == "" {
		return errors.New("it has an empty clause (a stray comma)")
	}
	var op string
	for _, o := range []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(c, o) {
			op = o
			break
		}
	}
	if op == "" {
		return fmt.Errorf("%q does not start with one of ~= == != <= >= < > ===", c)
	}
	v := strings.TrimSpace(c[len(op):])
	if v == "" || strings.ContainsAny(v, " \t") {
		return fmt.Errorf("%q has no single version after %s", c, op)
	}
	if op == "===" {
		return nil // arbitrary equality: any string
	}
	if strings.HasSuffix(v, ".*") {
		if op != "==" && op != "!=" {
			return fmt.Errorf("%q: a .* suffix is only allowed with == and !=", c)
		}
		if !releaseOnly(strings.TrimSuffix(v, ".*")) {
			return fmt.Errorf("%q: before .* only a release such as 3.10 may stand", c)
		}
		return nil
	}
	if _, err := parseVersion(v); err != nil {
		return fmt.Errorf("%q: %q is %v", c, v, err)
	}
	if op != "==" && op != "!=" && strings.Contains(v, "+") {
		return fmt.Errorf("%q: a local version (+...) is only allowed with == and !=", c)
	}
	if op == "~=" && !strings.Contains(releasePrefix(v), ".") {
		return fmt.Errorf("%q: ~= needs a release of at least two parts, such as ~=3.10", c)
	}
	return nil
}

// releasePrefix returns the leading "[N!]N(.N)*" of v (after an optional "v").
func releasePrefix(v string) string {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	i := 0
	if j := strings.IndexByte(v, '!'); j >= 0 && allDigits(v[:j]) {
		i = j + 1
	}
	k := i
	for k < len(v) && (isDigit(v[k]) || v[k] == '.' && k+1 < len(v) && isDigit(v[k+1])) {
		k++
	}
	return v[i:k]
}

// releaseOnly reports whether v is "[N!]N(.N)*".
func releaseOnly(v string) bool {
	if j := strings.IndexByte(v, '!'); j >= 0 {
		if !allDigits(v[:j]) {
			return false
		}
		v = v[j+1:]
	}
	for part := range strings.SplitSeq(v, ".") {
		if !allDigits(part) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
