// Package matchspec is conda's version order (VersionOrder) and the part of its MatchSpec
// language that indexes need: version specs ("1.*", ">=1.2,<2", "1.2|1.4"), build strings and
// build numbers. It follows conda/models/version.py and match_spec.py, and is pure.
package matchspec

import (
	"errors"
	"strings"
)

// This file follows conda's VersionOrder (conda/models/version.py): a version is split into an
// epoch ("N!"), the version proper and a local part ("+..."); each is split into components at
// '.' and '_', and each component into runs of digits and non-digits. "dev" sorts below every
// other string, "post" above everything, strings below numbers, and missing parts count as 0.

type partKind uint8

const (
	partStr partKind = iota // lowest: every string sorts below every number
	partNum
	partPost // "post": above every number
)

type versionPart struct {
	kind partKind
	s    string // digits without leading zeros ("" is 0) for partNum; lowercase text for partStr
}

// Version is a parsed conda version, ordered as conda's VersionOrder orders it.
type Version struct {
	version [][]versionPart // epoch first
	local   [][]versionPart
	norm    string // lower-cased, trimmed, '-' read as '_' (conda's norm_version)
}

var errBadVersion = errors.New("invalid conda version")

func versionCharOK(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '*' || c == '.' || c == '+' || c == '!' || c == '_'
}

func allVersionChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !versionCharOK(s[i]) {
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
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseVersion parses a conda version: epoch ("N!"), version proper and local part ("+..."),
// each split into components at '.' and '_'. It fails on what conda's VersionOrder refuses.
func ParseVersion(vstr string) (Version, error) {
	v := strings.ToLower(strings.TrimSpace(vstr))
	if v == "" {
		return Version{}, errBadVersion
	}
	if !allVersionChars(v) {
		// conda accepts dashes in place of underscores as long as there are no underscores.
		if !strings.Contains(v, "-") || strings.Contains(v, "_") {
			return Version{}, errBadVersion
		}
		v = strings.ReplaceAll(v, "-", "_")
		if !allVersionChars(v) {
			return Version{}, errBadVersion
		}
	}
	norm := v
	epoch := "0"
	if e, rest, ok := strings.Cut(v, "!"); ok {
		if strings.Contains(rest, "!") || !allDigits(e) {
			return Version{}, errBadVersion
		}
		epoch, v = e, rest
	}
	var local []string
	if main, loc, ok := strings.Cut(v, "+"); ok {
		if strings.Contains(loc, "+") {
			return Version{}, errBadVersion
		}
		local = strings.Split(strings.ReplaceAll(loc, "_", "."), ".")
		v = main
	}
	if v == "" {
		return Version{}, errBadVersion
	}
	var comps []string
	if strings.HasSuffix(v, "_") {
		// A trailing underscore stays on the last component ("1.0.1_" < "1.0.1a", for openssl).
		comps = strings.Split(strings.ReplaceAll(v[:len(v)-1], "_", "."), ".")
		comps[len(comps)-1] += "_"
	} else {
		comps = strings.Split(strings.ReplaceAll(v, "_", "."), ".")
	}
	pv := Version{norm: norm}
	var err error
	if pv.version, err = splitComponents(append([]string{epoch}, comps...)); err != nil {
		return Version{}, err
	}
	if pv.local, err = splitComponents(local); err != nil {
		return Version{}, err
	}
	return pv, nil
}

func splitComponents(comps []string) ([][]versionPart, error) {
	out := make([][]versionPart, 0, len(comps))
	for _, c := range comps {
		if c == "" {
			return nil, errBadVersion
		}
		var parts []versionPart
		if c[0] < '0' || c[0] > '9' {
			// Keep numbers and strings in phase: "1.1.a1" == "1.1.0a1".
			parts = append(parts, versionPart{kind: partNum})
		}
		for i := 0; i < len(c); {
			j := i + 1
			class := runClass(c[i])
			for j < len(c) && runClass(c[j]) == class {
				j++
			}
			run := c[i:j]
			switch {
			case class == 0:
				parts = append(parts, versionPart{kind: partNum, s: strings.TrimLeft(run, "0")})
			case run == "post":
				parts = append(parts, versionPart{kind: partPost})
			case run == "dev":
				// Upper case sorts "dev" below '_' and every lower-case string.
				parts = append(parts, versionPart{kind: partStr, s: "DEV"})
			default:
				parts = append(parts, versionPart{kind: partStr, s: run})
			}
			i = j
		}
		out = append(out, parts)
	}
	return out, nil
}

// runClass: 0 digits, 1 '*', 2 anything else (conda's ([0-9]+|[*]+|[^0-9*]+)).
func runClass(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c == '*':
		return 1
	}
	return 2
}

func comparePart(a, b versionPart) int {
	if a.kind == partStr || b.kind == partStr {
		switch {
		case a.kind != partStr:
			return 1
		case b.kind != partStr:
			return -1
		}
		return strings.Compare(a.s, b.s)
	}
	if a.kind != b.kind {
		if a.kind == partPost {
			return 1
		}
		return -1
	}
	if a.kind == partPost {
		return 0
	}
	if len(a.s) != len(b.s) {
		if len(a.s) < len(b.s) {
			return -1
		}
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func compareComponents(a, b [][]versionPart) int {
	zero := versionPart{kind: partNum}
	for i := 0; i < max(len(a), len(b)); i++ {
		var ca, cb []versionPart
		if i < len(a) {
			ca = a[i]
		}
		if i < len(b) {
			cb = b[i]
		}
		for j := 0; j < max(len(ca), len(cb)); j++ {
			pa, pb := zero, zero
			if j < len(ca) {
				pa = ca[j]
			}
			if j < len(cb) {
				pb = cb[j]
			}
			if c := comparePart(pa, pb); c != 0 {
				return c
			}
		}
	}
	return 0
}

// Compare returns -1 if v < w, 0 if they are equal ("1.1" == "1.1.0"), +1 if v > w.
func (v Version) Compare(w Version) int {
	if c := compareComponents(v.version, w.version); c != 0 {
		return c
	}
	return compareComponents(v.local, w.local)
}

// CompareVersions orders two conda versions as conda's VersionOrder does: -1 if a < b, 0 if they
// are equal ("1.1" == "1.1.0", comparison ignores case), +1 if a > b. Strings conda cannot parse
// sort below every valid version and among themselves bytewise, so the order stays total.
func CompareVersions(a, b string) int {
	va, errA := ParseVersion(a)
	vb, errB := ParseVersion(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return va.Compare(vb)
}

// StartsWith reports whether v begins with prefix as conda's VersionOrder.startswith has it
// (what "1.2.*" and "=1.2" match): the components of prefix but the last are equal, and the
// last matches the start of v's, number for number, a final string as a string prefix. A
// prefix with a local part ("1.2+4*") compares local parts, the versions being equal.
func (v Version) StartsWith(prefix Version) bool {
	t1, t2 := v.version, prefix.version
	if len(prefix.local) > 0 {
		if compareComponents(v.version, prefix.version) != 0 {
			return false
		}
		t1, t2 = v.local, prefix.local
	}
	nt := len(t2) - 1
	if compareComponents(t1[:min(nt, len(t1))], t2[:nt]) != 0 {
		return false
	}
	var v1 []versionPart
	if len(t1) > nt {
		v1 = t1[nt]
	}
	v2 := t2[nt]
	np := len(v2) - 1
	if compareComponents([][]versionPart{v1[:min(np, len(v1))]}, [][]versionPart{v2[:np]}) != 0 {
		return false
	}
	c1 := versionPart{kind: partNum} // conda's fill value 0
	if len(v1) > np {
		c1 = v1[np]
	}
	c2 := v2[np]
	if c2.kind == partStr {
		return c1.kind == partStr && strings.HasPrefix(c1.s, c2.s)
	}
	return comparePart(c1, c2) == 0
}

// String returns the version as conda normalises it (lower case, trimmed).
func (v Version) String() string { return v.norm }
