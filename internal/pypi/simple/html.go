package simple

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/pypi"
)

// ProjectPage renders one project in a format: PEP 503 HTML (one anchor per file) or PEP 691
// JSON (name, versions, files).
func ProjectPage(p Project, f Format) []byte {
	if f == JSON {
		return projectJSON(p)
	}
	return projectHTML(p)
}

// IndexPage renders the list of projects. Names are normalized, sorted and deduplicated, so
// the page depends only on the set of projects; each links to "<name>/".
func IndexPage(projects []string, f Format) []byte {
	names := make([]string, 0, len(projects))
	for _, p := range projects {
		if n := pypi.NormalizeName(p); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if f == JSON {
		return indexJSON(names)
	}
	return indexHTML(names)
}

const htmlHead = "<!DOCTYPE html>\n<html>\n  <head>\n" +
	"    <meta charset=\"utf-8\">\n" +
	"    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n"

const htmlTail = "  </body>\n</html>\n"

func projectHTML(p Project) []byte {
	name := pypi.NormalizeName(p.Name)
	size := 256 + 2*len(name)
	for _, f := range p.Files {
		// The markup around a file is under 150 bytes; escaping may add a little more.
		size += 150 + len(f.URL) + len(f.SHA256) + len(f.Filename) + len(f.RequiresPython) +
			len(f.YankedReason) + 2*len(f.MetadataSHA256)
	}
	var b bytes.Buffer
	b.Grow(size + size/16)
	b.WriteString(htmlHead)
	b.WriteString("    <title>Links for ")
	escape(&b, name)
	b.WriteString("</title>\n  </head>\n  <body>\n    <h1>Links for ")
	escape(&b, name)
	b.WriteString("</h1>\n")
	for _, f := range p.Files {
		b.WriteString("    <a href=\"")
		escape(&b, safeURL(f.URL))
		if f.SHA256 != "" {
			b.WriteString("#sha256=")
			escape(&b, f.SHA256)
		}
		b.WriteByte('"')
		if f.RequiresPython != "" {
			attr(&b, "data-requires-python", "", f.RequiresPython)
		}
		if f.Yanked {
			attr(&b, "data-yanked", "", f.YankedReason)
		}
		if f.MetadataSHA256 != "" {
			// PEP 714's name, then the old one with the same value, which pip 22.3 to 23.1
			// read from HTML (and only from HTML: see jsonFile).
			attr(&b, "data-core-metadata", "sha256=", f.MetadataSHA256)
			attr(&b, "data-dist-info-metadata", "sha256=", f.MetadataSHA256)
		}
		b.WriteByte('>')
		escape(&b, f.Filename)
		b.WriteString("</a><br>\n")
	}
	b.WriteString(htmlTail)
	return b.Bytes()
}

func indexHTML(names []string) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(names)*48)
	b.WriteString(htmlHead)
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n    <h1>Simple index</h1>\n")
	for _, n := range names {
		b.WriteString("    <a href=\"")
		escape(&b, projectHref(n))
		b.WriteString("\">")
		escape(&b, n)
		b.WriteString("</a><br>\n")
	}
	b.WriteString(htmlTail)
	return b.Bytes()
}

// projectHref is the relative link from the index to a project page. A valid normalized
// name needs no escaping; anything else is kept inside one path segment.
func projectHref(name string) string {
	return pathEscape(name) + "/"
}

// attr writes ` name="prefix+value"`, escaped.
func attr(b *bytes.Buffer, name, prefix, value string) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString("=\"")
	b.WriteString(prefix)
	escape(b, value)
	b.WriteByte('"')
}

// escape writes s as HTML text or a double-quoted attribute value that a conforming parser
// reads back as s: the five markup characters as references; CR as &#13;, which the parser's
// newline normalization would otherwise turn into LF; NUL and each byte of invalid UTF-8 as
// U+FFFD, which is what parsers (and encoding/json) make of them anyway.
func escape(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		size := 1
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '"':
			rep = "&#34;"
		case c == '\'':
			rep = "&#39;"
		case c == '\r':
			rep = "&#13;"
		case c == 0:
			rep = "\uFFFD"
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				rep = "\uFFFD"
			} else {
				i += n
				continue
			}
		default:
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		i += size
		last = i
	}
	b.WriteString(s[last:])
}

// pathEscape percent-escapes everything but the RFC 3986 unreserved characters, so s stays
// one path segment that no browser reads as a scheme, query or fragment. (A normalized name
// is never "." or "..": normalization turns dots into '-'.)
func pathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	unreserved := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n+2)
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) {
			out = append(out, c)
		} else {
			out = append(out, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(out)
}
