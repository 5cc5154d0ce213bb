package simple_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/wharfhq/wharf/internal/pypi/simple"
)

// anchor is one <a> as an HTML parser reads it back.
type anchor struct {
	Text  string
	Attrs map[string]string
}

// page is what a client's HTML parser recovers from a Simple API page.
type page struct {
	Doctype  bool
	Version  string // content of <meta name="pypi:repository-version">
	Title    string
	Anchors  []anchor
	Elements []string // every element, in document order
}

// parseHTML parses a rendered page with x/net/html, the way a browser or pip's parser would.
func parseHTML(t testing.TB, b []byte) page {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parsing the page: %v", err)
	}
	var p page
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.DoctypeNode:
			p.Doctype = n.Data == "html"
		case html.ElementNode:
			p.Elements = append(p.Elements, n.Data)
			attrs := map[string]string{}
			for _, a := range n.Attr {
				if _, dup := attrs[a.Key]; dup {
					t.Errorf("<%s> has attribute %q twice", n.Data, a.Key)
				}
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "a":
				p.Anchors = append(p.Anchors, anchor{Text: text(n), Attrs: attrs})
			case "meta":
				if attrs["name"] == "pypi:repository-version" {
					p.Version = attrs["content"]
				}
			case "title":
				p.Title = text(n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

// text is the concatenated text of n's descendants.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// htmlClean is what an HTML page can carry of s: NUL and each byte of invalid UTF-8 become
// U+FFFD.
func htmlClean(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == 0 {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// jsonClean is what JSON can carry of s: each byte of invalid UTF-8 becomes U+FFFD.
func jsonClean(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// schemeRE is how a browser finds a URL's scheme, once leading C0 controls and spaces and all
// tabs and newlines are gone (WHATWG URL).
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*):`)

// browserScheme is the scheme a browser would read in href, lowercased, or "".
func browserScheme(href string) string {
	href = strings.TrimLeft(href, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"+
		"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	href = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(href)
	m := schemeRE.FindStringSubmatch(href)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// expectedURL is the URL the renderer is meant to write for u.
func expectedURL(u string) string {
	switch browserScheme(u) {
	case "", "http", "https":
		return u
	}
	return "./" + u
}

// wantAnchor is the anchor a client should recover for f.
func wantAnchor(f simple.File) anchor {
	href := expectedURL(f.URL)
	if f.SHA256 != "" {
		href += "#sha256=" + f.SHA256
	}
	a := anchor{Text: htmlClean(f.Filename), Attrs: map[string]string{"href": htmlClean(href)}}
	if f.RequiresPython != "" {
		a.Attrs["data-requires-python"] = htmlClean(f.RequiresPython)
	}
	if f.Yanked {
		a.Attrs["data-yanked"] = htmlClean(f.YankedReason)
	}
	if f.MetadataSHA256 != "" {
		a.Attrs["data-core-metadata"] = "sha256=" + htmlClean(f.MetadataSHA256)
		a.Attrs["data-dist-info-metadata"] = "sha256=" + htmlClean(f.MetadataSHA256)
	}
	return a
}

// decodeJSON decodes a page into generic values, numbers kept exact.
func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %q", b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if dec.More() {
		t.Fatalf("trailing data after the JSON object")
	}
	return m
}

var separators = regexp.MustCompile(`[-_.]+`)

// pep503 is the PEP 503 normalization as the spec writes it:
// re.sub(r"[-_.]+", "-", name).lower(), lowercasing ASCII only and keeping other bytes as
// they are.
func pep503(name string) string {
	b := []byte(separators.ReplaceAllString(name, "-"))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
