package simple_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/pypi/simple"
)

// allowed are the only elements a page may contain: whatever a file is called, no markup of
// its own gets in.
var allowed = []string{"html", "head", "meta", "title", "body", "h1", "a", "br"}

func checkElements(t testing.TB, p page) {
	t.Helper()
	for _, e := range p.Elements {
		if !slices.Contains(allowed, e) {
			t.Errorf("page has a <%s> element", e)
		}
	}
}

func TestProjectHTMLAnchorsFollowPEP503(t *testing.T) {
	proj := demo()
	b := simple.ProjectPage(proj, simple.HTML)
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>\n")) {
		t.Errorf("page does not start with <!DOCTYPE html>: %.40q", b)
	}
	p := parseHTML(t, b)
	checkElements(t, p)
	if !p.Doctype || p.Version != "1.1" || p.Title != "Links for demo-lib" {
		t.Errorf("doctype %v, repository-version %q, title %q; want true, 1.1, Links for demo-lib",
			p.Doctype, p.Version, p.Title)
	}
	want := []anchor{
		{Text: "demo_lib-0.3.0-py3-none-any.whl", Attrs: map[string]string{
			"href":                    "../../files/" + shaWheel + "/demo_lib-0.3.0-py3-none-any.whl#sha256=" + shaWheel,
			"data-requires-python":    ">=3.9",
			"data-core-metadata":      "sha256=" + shaMeta,
			"data-dist-info-metadata": "sha256=" + shaMeta,
		}},
		{Text: "demo_lib-0.2.0.tar.gz", Attrs: map[string]string{
			"href":        "../../files/" + shaSdist + "/demo_lib-0.2.0.tar.gz#sha256=" + shaSdist,
			"data-yanked": "broken build",
		}},
		{Text: "demo_lib-0.1.0.tar.gz", Attrs: map[string]string{
			"href":        "../../files/x/demo_lib-0.1.0.tar.gz", // no hash, no fragment
			"data-yanked": "",
		}},
		{Text: "demo_lib-0.1.0-py3-none-any.whl", Attrs: map[string]string{
			"href": "../../files/y/demo_lib-0.1.0-py3-none-any.whl#sha256=" + shaWheel,
		}},
	}
	if diff := cmp.Diff(want, p.Anchors); diff != "" {
		t.Errorf("anchors (-want +got):\n%s", diff)
	}
}

func TestProjectHTMLEscapesRequiresPython(t *testing.T) {
	// PEP 503: '<' and '>' in data-requires-python must be written as &lt; and &gt;.
	p := simple.Project{Name: "x", Files: []simple.File{{Filename: "x-1.tar.gz", URL: "u", RequiresPython: ">=3.8, <4"}}}
	b := simple.ProjectPage(p, simple.HTML)
	if !bytes.Contains(b, []byte(`data-requires-python="&gt;=3.8, &lt;4"`)) {
		t.Errorf("requires-python not escaped as PEP 503 shows:\n%s", b)
	}
}

func TestProjectHTMLRoundTripsHostileStrings(t *testing.T) {
	hostile := []string{
		`"><script>alert(1)</script>`,
		`' onmouseover='alert(1)`,
		`a&amp;b &lt; &#34; & &`,
		"</a><a href=\"evil\">x</a>",
		"<!-- x --> <![CDATA[ y ]]>",
		"line\nbreak\r\nand\rcr\tand\ffeed",
		"nul\x00byte",
		"bad\xff\xfeutf8\xc3",
		"\u2028\u00a0é中文🙂",
		"  leading and trailing  ",
		"&nbsp;&amp",
	}
	for _, h := range hostile {
		files := []simple.File{
			{Filename: h + ".whl", URL: "../../files/" + h, SHA256: h, RequiresPython: h, Yanked: true, YankedReason: h, MetadataSHA256: h},
			{Filename: h, URL: h, Yanked: true},
			{Filename: "", URL: "", RequiresPython: h},
		}
		b := simple.ProjectPage(simple.Project{Name: h, Files: files}, simple.HTML)
		p := parseHTML(t, b)
		checkElements(t, p)
		want := make([]anchor, len(files))
		for i, f := range files {
			want[i] = wantAnchor(f)
		}
		if diff := cmp.Diff(want, p.Anchors); diff != "" {
			t.Errorf("%q: anchors (-want +got):\n%s", h, diff)
		}
	}
}

func TestProjectHTMLNeutralizesScriptURLs(t *testing.T) {
	for _, u := range []string{"javascript:alert(1)", "JavaScript:alert(1)", " \x01java\tscript:alert(1)",
		"data:text/html,<script>", "vbscript:x"} {
		b := simple.ProjectPage(simple.Project{Name: "x", Files: []simple.File{{Filename: "f", URL: u}}}, simple.HTML)
		a := parseHTML(t, b).Anchors
		if len(a) != 1 || !strings.HasPrefix(a[0].Attrs["href"], "./") {
			t.Errorf("%q: anchors %v, want one relative href starting with ./", u, a)
		}
		if s := browserScheme(a[0].Attrs["href"]); s != "" {
			t.Errorf("%q: a browser reads scheme %q", u, s)
		}
	}
	for _, u := range []string{"https://files.example/x.whl", "HTTP://x/y", "../../files/a:b/c", "x/y:z"} {
		b := simple.ProjectPage(simple.Project{Name: "x", Files: []simple.File{{Filename: "f", URL: u}}}, simple.HTML)
		if a := parseHTML(t, b).Anchors; len(a) != 1 || a[0].Attrs["href"] != u {
			t.Errorf("%q: anchors %v, want the URL as given", u, a)
		}
	}
}

func TestIndexHTML(t *testing.T) {
	b := simple.IndexPage([]string{"Zope.Interface", "demo_lib", "Demo-Lib", "a<b>", "ja:va", ""}, simple.HTML)
	p := parseHTML(t, b)
	checkElements(t, p)
	if !p.Doctype || p.Version != "1.1" {
		t.Errorf("doctype %v, repository-version %q", p.Doctype, p.Version)
	}
	want := []anchor{
		{Text: "a<b>", Attrs: map[string]string{"href": "a%3Cb%3E/"}},
		{Text: "demo-lib", Attrs: map[string]string{"href": "demo-lib/"}},
		{Text: "ja:va", Attrs: map[string]string{"href": "ja%3Ava/"}},
		{Text: "zope-interface", Attrs: map[string]string{"href": "zope-interface/"}},
	}
	if diff := cmp.Diff(want, p.Anchors); diff != "" {
		t.Errorf("anchors (-want +got):\n%s", diff)
	}
	if p := parseHTML(t, simple.IndexPage(nil, simple.HTML)); len(p.Anchors) != 0 || p.Version != "1.1" {
		t.Errorf("empty index: %d anchors, version %q", len(p.Anchors), p.Version)
	}
}
