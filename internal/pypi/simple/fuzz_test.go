package simple_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/pypi/simple"
)

const refuseAll = ", text/html;q=0, application/vnd.pypi.simple.v1+html;q=0, application/vnd.pypi.simple.v1+json;q=0" +
	", application/vnd.pypi.simple.latest+json;q=0, application/vnd.pypi.simple.latest+html;q=0"

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "*/*", "text/html", "application/json",
		"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01",
		"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01",
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"application/vnd.pypi.simple.latest+json;q=0, */*", `a/b;x="\",;";q=0.5, text/html;q=.5`,
		"application/*;q=0.3, text/*;q=0.30",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		format, ct, ok := simple.Negotiate(accept)
		switch {
		case !ok && ct != "":
			t.Fatalf("Negotiate(%q): not ok but content type %q", accept, ct)
		case !ok && strings.Trim(accept, " \t") == "":
			t.Fatalf("Negotiate(%q): a blank header must accept HTML", accept)
		case ok && format == simple.JSON && ct != jsonCT,
			ok && format == simple.HTML && ct != textCT && ct != vndCT,
			ok && format != simple.JSON && format != simple.HTML:
			t.Fatalf("Negotiate(%q) = %v, %q", accept, format, ct)
		}
		// Media types, parameter names and the separators' surrounding space carry no meaning.
		upper := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, accept)
		for _, variant := range []string{upper, accept + ",", ", " + accept, " " + accept + " \t"} {
			f2, ct2, ok2 := simple.Negotiate(variant)
			if f2 != format || ct2 != ct || ok2 != ok {
				t.Fatalf("Negotiate(%q) = %v, %q, %v but Negotiate(%q) = %v, %q, %v",
					accept, format, ct, ok, variant, f2, ct2, ok2)
			}
		}
		// When the header names none of our types itself (only wildcards can match them), an
		// exact refusal of all of them leaves nothing, and an exact q=1 for JSON wins.
		lower := strings.ToLower(accept)
		if !strings.ContainsAny(accept, `"\`) && !strings.Contains(lower, "text/html") && !strings.Contains(lower, "vnd.pypi") {
			if _, _, ok := simple.Negotiate(accept + refuseAll); ok {
				t.Fatalf("Negotiate(%q + refusals) is acceptable", accept)
			}
			if f, _, ok := simple.Negotiate(accept + ", application/vnd.pypi.simple.v1+json"); !ok || f != simple.JSON {
				t.Fatalf("Negotiate(%q + json) = %v, %v", accept, f, ok)
			}
		}
	})
}

func FuzzProjectPage(f *testing.F) {
	f.Add("demo_lib", "demo_lib-1.0.tar.gz", "../../files/ab/demo_lib-1.0.tar.gz", shaWheel, ">=3.9", "broken", true, shaMeta, int64(10), int64(1700000000123456))
	f.Add("x", `"><script>alert(1)</script>`, "javascript:alert(1)", "", "<4,>=3", "&amp;\r\n\x00\xff", true, "", int64(-1), int64(0))
	f.Add("X.y", "</a><br>", " \tdata:x", "#", "'", "", false, "=", int64(1<<62), int64(-62135596800000000))
	f.Fuzz(func(t *testing.T, name, filename, u, sha, rp, reason string, yanked bool, meta string, size, micros int64) {
		files := []simple.File{
			{Filename: filename, URL: u, SHA256: sha, Size: size, UploadTime: time.UnixMicro(micros),
				RequiresPython: rp, Yanked: yanked, YankedReason: reason, MetadataSHA256: meta},
			{Filename: reason, URL: filename, SHA256: meta, RequiresPython: u, Yanked: !yanked, YankedReason: rp},
		}
		p := simple.Project{Name: name, Versions: []string{rp, reason}, Files: files}

		// HTML: the same anchors come back, nothing else gets in, no link runs script.
		got := parseHTML(t, simple.ProjectPage(p, simple.HTML))
		checkElements(t, got)
		if got.Version != "1.1" || got.Title != "Links for "+htmlClean(pep503(name)) {
			t.Errorf("version %q, title %q", got.Version, got.Title)
		}
		want := []anchor{wantAnchor(files[0]), wantAnchor(files[1])}
		if diff := cmp.Diff(want, got.Anchors); diff != "" {
			t.Fatalf("anchors (-want +got):\n%s", diff)
		}
		for _, a := range got.Anchors {
			if s := browserScheme(a.Attrs["href"]); s != "" && s != "http" && s != "https" {
				t.Fatalf("href %q has scheme %q", a.Attrs["href"], s)
			}
		}

		// JSON: the same fields come back.
		m := decodeJSON(t, simple.ProjectPage(p, simple.JSON))
		str(t, "name", m["name"], jsonClean(pep503(name)))
		jfiles := array(t, "files", m["files"])
		if len(jfiles) != len(files) {
			t.Fatalf("%d files, want %d", len(jfiles), len(files))
		}
		for i, f := range files {
			jf := object(t, "file", jfiles[i])
			str(t, "filename", jf["filename"], jsonClean(f.Filename))
			str(t, "url", jf["url"], jsonClean(expectedURL(f.URL)))
			hashes(t, "hashes", jf["hashes"], jsonClean(f.SHA256))
			switch {
			case !f.Yanked:
				boolean(t, "yanked", jf["yanked"], false)
			case f.YankedReason == "":
				boolean(t, "yanked", jf["yanked"], true)
			default:
				str(t, "yanked", jf["yanked"], jsonClean(f.YankedReason))
			}
			if f.RequiresPython == "" {
				if _, ok := jf["requires-python"]; ok {
					t.Errorf("requires-python present for an empty value")
				}
			} else {
				str(t, "requires-python", jf["requires-python"], jsonClean(f.RequiresPython))
			}
			if _, ok := jf["dist-info-metadata"]; ok {
				t.Errorf("dist-info-metadata in JSON (PEP 714: pip 22.3 to 23.0 crash on it)")
			}
			if f.MetadataSHA256 == "" {
				if _, ok := jf["core-metadata"]; ok {
					t.Errorf("core-metadata present without metadata")
				}
			} else {
				hashes(t, "core-metadata", jf["core-metadata"], jsonClean(f.MetadataSHA256))
			}
			if ut := f.UploadTime.UTC(); ut.IsZero() {
				if _, ok := jf["upload-time"]; ok {
					t.Errorf("upload-time present for the zero time")
				}
			} else if y := ut.Year(); y >= 0 && y <= 9999 {
				s, _ := jf["upload-time"].(string)
				back, err := time.Parse(time.RFC3339Nano, s)
				if err != nil || !back.Equal(ut.Truncate(time.Microsecond)) || !strings.HasSuffix(s, "Z") || len(s) != len("2006-01-02T15:04:05.000000Z") {
					t.Errorf("upload-time %q for %v (%v)", s, ut, err)
				}
			}
		}
	})
}

func FuzzIndexPage(f *testing.F) {
	f.Add("Zope.Interface", "zope_interface", "a<b>&c")
	f.Add("", "..", "\xff\x00:/?#")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		var norm []string
		for _, n := range in {
			if n := pep503(n); n != "" {
				norm = append(norm, n)
			}
		}
		slices.Sort(norm)
		norm = slices.Compact(norm)

		got := parseHTML(t, simple.IndexPage(in, simple.HTML))
		checkElements(t, got)
		if len(got.Anchors) != len(norm) {
			t.Fatalf("%d anchors for %q, want %d", len(got.Anchors), norm, len(norm))
		}
		for i, n := range norm {
			a := got.Anchors[i]
			href, ok := strings.CutSuffix(a.Attrs["href"], "/")
			back, err := url.PathUnescape(href)
			if a.Text != htmlClean(n) || !ok || err != nil || back != n || strings.ContainsAny(href, "/?#:") {
				t.Errorf("anchor %d = %+v, want the name %q", i, a, n)
			}
		}
		m := decodeJSON(t, simple.IndexPage(in, simple.JSON))
		projects := array(t, "projects", m["projects"])
		if len(projects) != len(norm) {
			t.Fatalf("%d projects, want %d", len(projects), len(norm))
		}
		for i, n := range norm {
			p := object(t, "project", projects[i])
			keys(t, "project", p, "name")
			str(t, "name", p["name"], jsonClean(n))
		}
	})
}
