// Package clientconfig edits the files that conda, pip, twine and .netrc readers take their
// settings and credentials from: ~/.condarc, conda's token files, pip.conf, ~/.pypirc and
// ~/.netrc. The editors are pure (text in, text out) and change only what they are asked to:
// comments, other keys and their order stay as they were. Files.go writes the results.
package clientconfig

import "strings"

// QuotePlus is Python's urllib.parse.quote_plus(s) with its default safe="": the UTF-8 bytes
// of s, letters, digits and "_.-~" kept, a space made "+", every other byte %XX in upper case.
// conda names its token files quote_plus(url) + ".token".
func QuotePlus(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-', c == '~':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// text is a file as lines without their line ends, remembering the line end it uses and
// whether the last line had one, so that an edit changes nothing else.
type text struct {
	lines   []string
	eol     string
	finalNL bool
}

func splitText(src []byte) *text {
	s := string(src)
	t := &text{eol: "\n"}
	if strings.Contains(s, "\r\n") {
		t.eol = "\r\n"
	}
	if s == "" {
		return t
	}
	t.finalNL = strings.HasSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\n")
	for _, l := range strings.Split(s, "\n") {
		t.lines = append(t.lines, strings.TrimSuffix(l, "\r"))
	}
	return t
}

func (t *text) bytes() []byte {
	if len(t.lines) == 0 {
		return nil
	}
	s := strings.Join(t.lines, t.eol)
	if t.finalNL {
		s += t.eol
	}
	return []byte(s)
}

// insert puts lines before index i (len(t.lines) appends). Appending after a last line
// without a line end gives it one.
func (t *text) insert(i int, lines ...string) {
	if i == len(t.lines) {
		t.finalNL = true
	}
	t.lines = append(t.lines[:i], append(append([]string(nil), lines...), t.lines[i:]...)...)
}

// delete removes lines [i, j).
func (t *text) delete(i, j int) {
	t.lines = append(t.lines[:i], t.lines[j:]...)
}

// blank reports whether a file holds nothing but white space.
func blank(b []byte) bool { return strings.TrimSpace(string(b)) == "" }

// UnquotePlus is Python's urllib.parse.unquote_plus(s): "+" is a space and %XX the byte XX; a
// "%" not followed by two hex digits stays as it is. conda reads a token file's URL from its
// name with it.
func UnquotePlus(s string) string {
	unhex := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
