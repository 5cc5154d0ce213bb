package simple

import (
	"strconv"
	"strings"
)

// Negotiate reads an Accept header and returns the format to render and the Content-Type to
// send with it, or ok=false when the client accepts none of them (answer 406).
//
// The candidates are application/vnd.pypi.simple.v1+json (also asked for as …latest+json),
// application/vnd.pypi.simple.v1+html (also …latest+html) and text/html. Each gets the
// q-value of the most specific range that matches it (exact, then type/*, then */*; among
// equally specific ranges the highest q); the "latest" aliases count when named exactly. The
// highest q wins; on a tie the more specifically named format wins, then HTML (as PyPI does,
// so "*/*" gets HTML). HTML is sent as text/html whenever the client accepts text/html at
// all, because pip needs that Content-Type to read an HTML page; only a client that
// refuses text/html gets application/vnd.pypi.simple.v1+html.
//
// An empty header, or one in which no media range parses, accepts anything: HTML as
// text/html. Several Accept header lines should be joined with ", " first.
func Negotiate(accept string) (f Format, contentType string, ok bool) {
	ranges := parseAccept(accept)
	if len(ranges) == 0 {
		return HTML, ContentTypeTextHTML, true
	}
	json := preference(ranges, "application", "vnd.pypi.simple.v1+json", "vnd.pypi.simple.latest+json")
	vnd := preference(ranges, "application", "vnd.pypi.simple.v1+html", "vnd.pypi.simple.latest+html")
	text := preference(ranges, "text", "html", "")
	html := vnd
	if text.better(html) {
		html = text
	}
	switch {
	case json.q <= 0 && html.q <= 0:
		return HTML, "", false
	case json.better(html):
		return JSON, ContentTypeJSON, true
	case text.q > 0:
		return HTML, ContentTypeTextHTML, true
	default:
		return HTML, ContentTypeHTML, true
	}
}

// mediaRange is one element of an Accept header, lowercased; typ and sub may be "*".
type mediaRange struct {
	typ, sub string
	q        float64
}

// Specificity of a match: an unmatched type, then */*, type/*, type/subtype.
const (
	noMatch = iota
	anyMatch
	typeMatch
	exactMatch
)

// pref is how much a client wants one candidate type, and how specifically it said so.
type pref struct {
	q    float64
	spec int
}

// better reports whether p beats o: a higher q, or the same q said more specifically.
func (p pref) better(o pref) bool {
	return p.q > o.q || p.q == o.q && p.spec > o.spec
}

// preference is what ranges say of typ/sub, or of the alias typ/alias when the client names
// the alias exactly and not typ/sub itself.
func preference(ranges []mediaRange, typ, sub, alias string) pref {
	p := match(ranges, typ, sub)
	if p.spec == exactMatch || alias == "" {
		return p
	}
	if a := match(ranges, typ, alias); a.spec == exactMatch {
		return a
	}
	return p
}

// match returns the q of the most specific range matching typ/sub, the highest q among
// equally specific ones; q is 0 when nothing matches.
func match(ranges []mediaRange, typ, sub string) pref {
	best := pref{}
	for _, r := range ranges {
		spec := noMatch
		switch {
		case r.typ == typ && r.sub == sub:
			spec = exactMatch
		case r.typ == typ && r.sub == "*":
			spec = typeMatch
		case r.typ == "*" && r.sub == "*":
			spec = anyMatch
		}
		if spec > best.spec || spec == best.spec && spec != noMatch && r.q > best.q {
			best = pref{q: r.q, spec: spec}
		}
	}
	return best
}

// parseAccept parses an Accept header (RFC 9110 §12.5.1). Malformed elements are skipped:
// a range that is not type/subtype of tokens, "*/subtype", or a q that is not a number from
// 0 to 1. Media type parameters and accept-extensions are ignored.
func parseAccept(s string) []mediaRange {
	var out []mediaRange
	for elem := range splitQuoted(s, ',') {
		var r mediaRange
		valid := true
		first := true
		for part := range splitQuoted(elem, ';') {
			part = strings.Trim(part, " \t")
			if first {
				first = false
				typ, sub, found := strings.Cut(asciiLower(part), "/")
				if !found || !isToken(typ) || !isToken(sub) || typ == "*" && sub != "*" {
					valid = false
					break
				}
				r = mediaRange{typ: typ, sub: sub, q: 1}
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			if !strings.EqualFold(strings.TrimRight(name, " \t"), "q") {
				continue // a media type parameter such as charset: it does not narrow our types
			}
			q, ok := parseQ(strings.TrimLeft(value, " \t"))
			if !ok {
				valid = false
			}
			r.q = q
			break // what follows q is accept-ext
		}
		if valid && !first {
			out = append(out, r)
		}
	}
	return out
}

// parseQ reads a qvalue: digits with at most one '.', from 0 to 1 ("1", "0.5", ".5", "1.000").
func parseQ(s string) (float64, bool) {
	if s == "" || s == "." || len(s) > 16 {
		return 0, false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && !dot:
			dot = true
		case '0' <= c && c <= '9':
		default:
			return 0, false
		}
	}
	q, err := strconv.ParseFloat(s, 64)
	if err != nil || q < 0 || q > 1 {
		return 0, false
	}
	return q, true
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// splitQuoted yields the parts of s between unquoted sep bytes, honouring quoted strings
// with backslash escapes, so a ',' or ';' inside a quoted parameter value splits nothing.
// Blank parts (", ,") are skipped.
func splitQuoted(s string, sep byte) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		emit := func(part string) bool {
			return strings.Trim(part, " \t") == "" || yield(part)
		}
		start, quoted := 0, false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case quoted && c == '\\':
				i++ // the escaped byte, whatever it is
			case c == '"':
				quoted = !quoted
			case !quoted && c == sep:
				if !emit(s[start:i]) {
					return
				}
				start = i + 1
			}
		}
		emit(s[start:])
	}
}

// asciiLower lowercases ASCII letters only: media types are ASCII, and Unicode case mapping
// would turn 'İ' or 'K' (Kelvin) into ASCII letters.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
