package matchspec

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Spec is a parsed conda MatchSpec, read as conda's classic parser (match_spec.py
// _parse_spec_str) reads the strings of a package's depends: "name", "name 1.2.*", "name
// >=1.2,<2", "name 1.2 build_0", "name=1.2=build_0", "name[version='>=1',build=py*]",
// "channel::name". Match follows MatchSpec.match for records of one subdir of one channel,
// as conda-index resolves them. What that leaves out: a spec naming a channel (other than
// "*"), a URL or a file matches nothing, since the records it is matched against have no
// channel a package could name; "when" is ignored, "extras" and "flags" match nothing.
type Spec struct {
	name        string         // lower-cased
	nameRe      *regexp.Regexp // when the name is a glob or a regular expression
	version     *VersionSpec   // nil: any
	versionText string         // the version spec as read, "" for none
	build       *strMatch      // nil: any
	buildText   string         // the build pattern as read
	buildNumber *numMatch      // nil: any
	subdir      *string
	strs        map[string]strMatch // md5, sha256, fn, license, license_family
	features    map[string]map[string]bool
	never       bool // names something no record here has (a channel, a URL, extras, flags)
}

// Record is what a spec is matched against.
type Record struct {
	Name, Version, Build string
	BuildNumber          int64
	Subdir               string
	// Parsed, if set, is Version parsed (or ParsedOK false if it does not parse): it saves
	// parsing it again for every spec.
	Parsed   *Version
	ParsedOK bool
	// Field returns another field of the record (md5, sha256, fn, license, license_family,
	// track_features and features as written, space- or comma-separated), for the rare spec
	// that names one; nil reads every such field as absent.
	Field func(key string) string
}

// Cost is what one Match of the spec may cost, in version comparisons: one, one for each leaf
// of its version spec ("1.0|1.2|>2,<3" has four), more for regular expressions and globs
// (their size). Callers that match specs uploaders wrote against many records bound their
// work with it.
func (s *Spec) Cost() int {
	c := 1 + regexpCost(s.nameRe)
	if s.version != nil {
		c += s.version.Cost()
	}
	if s.build != nil {
		c += regexpCost(s.build.re)
	}
	for _, m := range s.strs {
		c += regexpCost(m.re)
	}
	return c
}

// Name returns the package name the spec asks for, and whether it is one name (not a glob).
func (s *Spec) Name() (string, bool) { return s.name, s.nameRe == nil }

// fieldNames are conda's MatchSpec.FIELD_NAMES; a bracket key outside them is an error.
var fieldNames = map[string]bool{
	"channel": true, "subdir": true, "name": true, "version": true, "build": true, "build_number": true,
	"track_features": true, "features": true, "url": true, "md5": true, "sha256": true, "license": true,
	"license_family": true, "fn": true, "when": true, "extras": true, "flags": true,
}

// Parse parses a MatchSpec string.
func Parse(spec string) (*Spec, error) {
	if len(spec) > MaxSpecLen {
		return nil, invalid(spec[:64]+"...", "too long")
	}
	original := spec
	if strings.ContainsAny(spec, "\n\r") {
		return nil, invalid(original, "a line break in a spec")
	}
	if feature, ok := strings.CutSuffix(spec, "@"); ok {
		// The old "feature@" form: any package that tracks the feature.
		return &Spec{name: "*", nameRe: matchAll, features: map[string]map[string]bool{"track_features": featureSet(feature)}}, nil
	}
	if i := strings.IndexByte(spec, '#'); i >= 0 {
		spec = spec[:i]
	}
	spec, _, _ = strings.Cut(spec, " if ")
	if strings.HasSuffix(spec, ".conda") || strings.HasSuffix(spec, ".tar.bz2") || strings.HasSuffix(spec, ".whl") {
		return nil, invalid(original, "a package file or URL, not a spec")
	}

	// Brackets: from the last '[' that a ']' follows to the last ']'.
	brackets := map[string]string{}
	var order []string
	if open, end := lastSection(spec, '[', ']'); open >= 0 {
		section := spec[open : end+1]
		spec = strings.ReplaceAll(spec, section, "")
		kvs, err := keyValues(section[1:len(section)-1], original)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			if _, seen := brackets[kv[0]]; !seen {
				order = append(order, kv[0])
			}
			brackets[kv[0]] = kv[1]
		}
	}
	// Parentheses (target, optional) are read and ignored.
	if open, end := lastSection(spec, '(', ')'); open >= 0 {
		spec = strings.ReplaceAll(spec, spec[open:end+1], "")
	}

	// channel:namespace:spec, split from the right.
	var channelStr string
	if parts := rsplit(spec, ":", 2); len(parts) == 3 {
		channelStr, spec = parts[0], parts[2]
	} else if len(parts) == 2 {
		spec = parts[1]
	}
	s := &Spec{}
	channel, subdir := parseChannel(channelStr)
	if c, ok := brackets["channel"]; ok {
		bc, bs := parseChannel(c)
		if bc != "" {
			channel = bc
		}
		if bs != "" {
			subdir = bs
		}
		delete(brackets, "channel")
	}
	if sd, ok := brackets["subdir"]; ok {
		subdir = sd
		delete(brackets, "subdir")
	}
	if channel != "" && channel != "*" {
		s.never = true
	}
	if subdir != "" {
		s.subdir = &subdir
	}

	// name, then version and build.
	n := strings.IndexAny(spec, " =<>!~")
	if n < 0 {
		n = len(spec)
	}
	name, rest := spec[:n], spec[n:]
	if name == "" {
		return nil, invalid(original, "no package name")
	}
	if len(rest) < 2 {
		rest = "" // conda's pattern needs an operator or space and one more character
	}
	s.name = strings.ToLower(name)
	if re, err := globRegexp(s.name); err != nil {
		return nil, invalid(original, "invalid name pattern")
	} else if re != nil {
		s.nameRe = re
	}
	var version, build string
	var hasVersion, hasBuild bool
	if rest = strings.TrimFunc(rest, unicode.IsSpace); rest != "" {
		if strings.Contains(rest, "[") {
			return nil, invalid(original, "multiple brackets sections not allowed")
		}
		version, build, hasBuild = versionPlusBuild(rest)
		version, hasVersion = sanitizeVersion(version, hasBuild), true
	}
	delete(brackets, "name") // the name outside the brackets wins
	if v, ok := brackets["version"]; ok {
		version, hasVersion = v, true
	}
	if b, ok := brackets["build"]; ok {
		build, hasBuild = b, true
	}
	if hasVersion {
		vs, err := ParseVersionSpec(version)
		if err != nil {
			return nil, err
		}
		s.version, s.versionText = vs, version
	}
	if hasBuild {
		m, err := newStrMatch(build, false)
		if err != nil {
			return nil, invalid(original, "invalid build pattern")
		}
		s.build, s.buildText = &m, build
	}
	for _, k := range order {
		v, ok := brackets[k]
		if !ok {
			continue
		}
		switch k {
		case "version", "build", "when":
		case "build_number":
			m, err := newNumMatch(v)
			if err != nil {
				return nil, invalid(original, "invalid build_number")
			}
			s.buildNumber = m
		case "md5", "sha256", "fn", "license", "license_family":
			m, err := newStrMatch(v, k == "license" || k == "license_family")
			if err != nil {
				return nil, invalid(original, "invalid "+k+" pattern")
			}
			if k == "md5" || k == "sha256" || k == "fn" {
				m = strMatch{exact: v} // plain strings, never patterns
			}
			if s.strs == nil {
				s.strs = map[string]strMatch{}
			}
			s.strs[k] = m
		case "track_features", "features":
			if s.features == nil {
				s.features = map[string]map[string]bool{}
			}
			s.features[k] = featureSet(v)
		case "url", "extras", "flags":
			s.never = true
		default:
			if !fieldNames[k] {
				return nil, invalid(original, "cannot match on "+k)
			}
		}
	}
	return s, nil
}

// Match reports whether r satisfies the spec.
func (s *Spec) Match(r *Record) bool {
	if s.never {
		return false
	}
	if s.nameRe != nil {
		if !s.nameRe.MatchString(r.Name) {
			return false
		}
	} else if s.name != r.Name {
		return false
	}
	if s.version != nil {
		if r.Parsed != nil {
			if !s.version.MatchParsed(r.Version, *r.Parsed, r.ParsedOK) {
				return false
			}
		} else if !s.version.Match(r.Version) {
			return false
		}
	}
	if s.build != nil && !s.build.match(r.Build) {
		return false
	}
	if s.buildNumber != nil && !s.buildNumber.match(r.BuildNumber) {
		return false
	}
	if s.subdir != nil && *s.subdir != r.Subdir {
		return false
	}
	field := func(k string) string {
		if r.Field == nil {
			return ""
		}
		return r.Field(k)
	}
	for k, m := range s.strs {
		v := field(k)
		if k == "license" || k == "license_family" {
			v = strings.ToLower(v)
		}
		if !m.match(v) {
			return false
		}
	}
	for k, want := range s.features {
		got := featureSet(field(k))
		if len(got) != len(want) {
			return false
		}
		for f := range want {
			if !got[f] {
				return false
			}
		}
	}
	return true
}

var matchAll = regexp.MustCompile(`.*`)

// lastSection finds conda's .*(open.*close): the last open that a close follows, and the
// last close.
func lastSection(s string, open, close byte) (int, int) {
	end := strings.LastIndexByte(s, close)
	if end < 0 {
		return -1, -1
	}
	start := strings.LastIndexByte(s[:end], open)
	if start < 0 {
		return -1, -1
	}
	return start, end
}

// keyValues reads key=value pairs as conda's _BRACKETS_KV_RE finds them: a key of
// [a-zA-Z0-9_-], '=', a value in matching quotes or bare, then ',', ' ' or the end; text
// between pairs is skipped.
func keyValues(s, original string) ([][2]string, error) {
	isKey := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	delim := func(i int) bool { return i == len(s) || s[i] == ',' || s[i] == ' ' }
	// stop is where the bare value last looked for ended: the first delimiter or quote at or
	// after where it started. Values start further right each time, so a value that starts
	// before stop ends there too, and s is scanned once (a bare value that runs into a quote
	// fails, and the next key may start inside it: rescanning made "a=a=…a=\"" quadratic).
	stop := -1
	var out [][2]string
	for p := 0; p < len(s); {
		q := p
		for q < len(s) && isKey(s[q]) {
			q++
		}
		if q == p || q >= len(s) || s[q] != '=' {
			p = q + 1 // no key starting inside the run reaches an '=' either
			continue
		}
		key, v := s[p:q], q+1
		value, end := "", -1
		if v < len(s) && (s[v] == '"' || s[v] == '\'') {
			if r := strings.IndexAny(s[v+1:], `"'`); r >= 0 && s[v+1+r] == s[v] && delim(v+2+r) {
				value, end = s[v+1:v+1+r], v+2+r
			}
		} else {
			if stop < v {
				for stop = v; stop < len(s) && !delim(stop) && s[stop] != '"' && s[stop] != '\''; stop++ {
				}
			}
			if delim(stop) {
				value, end = s[v:stop], stop
			}
		}
		if end < 0 {
			p = q + 1 // keys starting inside this one end at the same '=' and fail alike
			continue
		}
		if value == "" {
			return nil, invalid(original, "key-value mismatch in brackets")
		}
		if key == "version" {
			value = sanitizeVersion(value, false)
		}
		out = append(out, [2]string{key, value})
		p = min(end+1, len(s))
	}
	return out, nil
}

// versionPlusBuild splits "version build" or "version=build" as conda's _VERSION_BUILD_RE
// does: the shortest version (not ending in an operator) after which comes a space or '='
// not preceded by an operator, then a build of no -=,|<>~ characters.
func versionPlusBuild(s string) (version, build string, hasBuild bool) {
	n := len(s)
	// okFrom[i]: s[i:] is a possible build (non-empty, none of -=,|<>~).
	okFrom := make([]bool, n+1)
	for i := n - 1; i >= 0; i-- {
		okFrom[i] = strings.IndexByte("-=,|<>~", s[i]) < 0 && (i == n-1 || okFrom[i+1])
	}
	try := func(pos int) (bool, bool) { // (matched, with a build)
		if pos < n && (s[pos] == ' ' || s[pos] == '=') && strings.IndexByte("=!|,<>~", s[pos-1]) < 0 && pos+1 < n && okFrom[pos+1] {
			return true, true
		}
		return pos == n, false
	}
	for l := 1; l <= n; l++ {
		var ends []int
		if l < n && strings.IndexByte("><!,|", s[l]) < 0 {
			ends = append(ends, l+1)
		}
		ends = append(ends, l)
		for _, pos := range ends {
			if ok, withBuild := try(pos); ok {
				version = strings.ReplaceAll(s[:pos], " ", "")
				if withBuild {
					return version, strings.TrimFunc(s[pos+1:], unicode.IsSpace), true
				}
				return version, "", false
			}
		}
	}
	return strings.ReplaceAll(s, " ", ""), "", false
}

// sanitizeVersion is conda's _sanitize_version_str: "==1.2" is "1.2" without a build, and a
// plain "=1.2" is the prefix "1.2*".
func sanitizeVersion(v string, hasBuild bool) string {
	if v == "==" || v == "=" || !strings.HasPrefix(v, "=") {
		return v
	}
	bare := strings.TrimLeft(v, "=")
	if strings.HasPrefix(v, "==") && !hasBuild {
		return bare
	}
	if !strings.ContainsAny(bare, "=,|") {
		if !hasBuild && !strings.HasSuffix(bare, "*") {
			return bare + "*"
		}
		return bare
	}
	return v
}

func rsplit(s, sep string, n int) []string {
	var parts []string
	for len(parts) < n {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		parts = append([]string{s[i+len(sep):]}, parts...)
		s = s[:i]
	}
	return append([]string{s}, parts...)
}

// parseChannel splits "channel/subdir" (or a URL ending in a subdir).
func parseChannel(c string) (channel, subdir string) {
	if c == "" {
		return "", ""
	}
	if i := strings.LastIndexByte(c, '/'); i >= 0 && looksLikeSubdir(c[i+1:]) {
		return c[:i], c[i+1:]
	}
	return c, ""
}

func looksLikeSubdir(s string) bool {
	if s == "noarch" {
		return true
	}
	a, b, ok := strings.Cut(s, "-")
	return ok && a != "" && b != "" && strings.Trim(a+b, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}

// strMatch is conda's GlobStrMatch: "^...$" a regular expression, a '*' a glob, else exact.
type strMatch struct {
	exact string
	re    *regexp.Regexp
	all   bool // "*"
}

func newStrMatch(v string, lower bool) (strMatch, error) {
	if lower {
		v = strings.ToLower(v)
	}
	if v == "*" {
		return strMatch{exact: v, all: true}, nil
	}
	re, err := globRegexp(v)
	return strMatch{exact: v, re: re}, err
}

func (m strMatch) match(v string) bool {
	if m.all {
		return true
	}
	if m.re != nil {
		return m.re.MatchString(v)
	}
	return m.exact == v
}

// globRegexp returns the pattern of a glob or "^...$" value, nil for a plain string.
func globRegexp(v string) (*regexp.Regexp, error) {
	switch {
	case strings.HasPrefix(v, "^") && strings.HasSuffix(v, "$"):
		return compileMatch(v)
	case strings.Contains(v, "*"):
		return compileMatch("^(?:" + strings.ReplaceAll(regexp.QuoteMeta(v), `\*`, ".*") + ")$")
	}
	return nil, nil
}

// numMatch is conda's BuildNumberMatch: an integer, "*", or an operator and a number.
type numMatch struct {
	any   bool
	exact *int64
	op    *opNode
}

func newNumMatch(v string) (*numMatch, error) {
	t := strings.TrimFunc(v, unicode.IsSpace)
	if n, err := strconv.ParseInt(strings.TrimPrefix(t, "+"), 10, 64); err == nil {
		return &numMatch{exact: &n}, nil
	}
	switch {
	case t == "*":
		return &numMatch{any: true}, nil
	case t != "" && strings.IndexByte("=<>!", t[0]) >= 0:
		o, vs, ok := relation(t)
		if !ok || o == "~=" {
			return nil, ErrInvalid
		}
		vo, err := ParseVersion(vs)
		if err != nil {
			return nil, err
		}
		n := operators[o]
		return &numMatch{op: &opNode{op: n, vo: vo}}, nil
	}
	return &numMatch{}, nil // conda compares the string with the number: never equal
}

func (m *numMatch) match(n int64) bool {
	switch {
	case m.any:
		return true
	case m.exact != nil:
		return *m.exact == n
	case m.op != nil:
		s := strconv.FormatInt(n, 10)
		v, err := ParseVersion(s)
		return m.op.match(s, v, err == nil)
	}
	return false
}

// featureSet splits a features value at spaces and commas, as conda's FeatureMatch does.
func featureSet(v string) map[string]bool {
	out := map[string]bool{}
	for f := range strings.SplitSeq(strings.ReplaceAll(v, " ", ","), ",") {
		if f = strings.TrimFunc(f, unicode.IsSpace); f != "" {
			out[f] = true
		}
	}
	return out
}
