package server

import (
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda"
)

func TestParseCondaPath(t *testing.T) {
	cases := map[string]condaPath{
		"/conda/acme/noarch/repodata.json":                     {channel: "acme", label: "main", subdir: "noarch", file: "repodata.json"},
		"/conda/acme/dev/linux-64/x-1-0.conda":                 {channel: "acme/dev", label: "main", subdir: "linux-64", file: "x-1-0.conda"},
		"/conda/acme/label/dev/noarch/repodata.json.zst":       {channel: "acme", label: "dev", subdir: "noarch", file: "repodata.json.zst"},
		"/conda/acme/label/rc/2.0/osx-arm64/repodata.json":     {channel: "acme", label: "rc/2.0", subdir: "osx-arm64", file: "repodata.json"},
		"/conda/acme/sub/label/x/win-64/current_repodata.json": {channel: "acme/sub", label: "x", subdir: "win-64", file: "current_repodata.json"},
		"/conda/acme/linux-64/shards/ab.msgpack.zst":           {channel: "acme", label: "main", subdir: "linux-64", file: "shards/ab.msgpack.zst"},
		"/conda/acme/channeldata.json":                         {channel: "acme", label: "main", file: "channeldata.json"},
		"/conda/acme/label/dev/channeldata.json":               {channel: "acme", label: "dev", file: "channeldata.json"},
	}
	for p, want := range cases {
		got, ok := parseCondaPath(p, conda.ValidSubdir)
		if !ok || got != want {
			t.Errorf("%s = %+v, %v; want %+v", p, got, ok, want)
		}
	}
	for _, p := range []string{"/conda/", "/conda/acme", "/conda/acme/repodata.json", "/conda/acme/plan9/repodata.json",
		"/conda/acme/label/noarch/repodata.json", "/conda/acme//noarch/repodata.json", "/conda/acme/../noarch/repodata.json",
		"/conda/a/b/c/noarch/repodata.json", "/conda/acme/noarch/"} {
		if got, ok := parseCondaPath(p, conda.ValidSubdir); ok {
			t.Errorf("%s parsed as %+v", p, got)
		}
	}
}

func TestSplitToken(t *testing.T) {
	cases := []struct{ in, rest, token string }{
		{"/t/abc/conda/acme/noarch/repodata.json", "/conda/acme/noarch/repodata.json", "abc"},
		{"/conda/t/abc/acme/noarch/repodata.json", "/conda/acme/noarch/repodata.json", "abc"},
		{"/pypi/t/abc/acme/simple/", "/pypi/acme/simple/", "abc"},
		{"/t/abc", "/", "abc"},
		{"/conda/acme/t/abc/noarch/repodata.json", "/conda/acme/t/abc/noarch/repodata.json", ""},
	}
	for _, c := range cases {
		rest, tok, _ := splitToken(c.in)
		if rest != c.rest || tok != c.token {
			t.Errorf("splitToken(%s) = %s, %s; want %s, %s", c.in, rest, tok, c.rest, c.token)
		}
	}
}

// FuzzRequestPath: whatever the path, stripping the token and parsing never panics, the
// redacted form never holds the token, and a parsed path names a valid subdir.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"/t/abc/conda/acme/noarch/repodata.json", "/conda/t/x/acme/label/a/b/linux-64/f.conda", "/conda/acme/channeldata.json", "/t//", "/conda/t/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rest, tok, ok := splitToken(p)
		red := redactPath(p)
		if ok && !strings.HasPrefix(red, "/t/<redacted>") && !strings.HasPrefix(red, "/conda/t/<redacted>") && !strings.HasPrefix(red, "/pypi/t/<redacted>") {
			t.Fatalf("redactPath(%q) = %q does not hide the token %q", p, red, tok)
		}
		if ok && strings.HasPrefix(red, "/t/<redacted>") != strings.HasPrefix(p, "/t/") {
			t.Fatalf("redactPath(%q) = %q moved the token", p, red)
		}
		if cp, ok := parseCondaPath(rest, conda.ValidSubdir); ok {
			if cp.file != "channeldata.json" && !conda.ValidSubdir(cp.subdir) {
				t.Fatalf("parsed %q with subdir %q", rest, cp.subdir)
			}
			if cp.channel == "" || cp.label == "" {
				t.Fatalf("parsed %q as %+v", rest, cp)
			}
		}
	})
}

// FuzzLocalPath: where sign-in sends a browser back to stays on this server, whatever the
// next parameter holds.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/settings", "//evil.example/", "/\\evil.example", "https://evil.example/", "/%2F/evil", "/a?b=c", "\t/x", "/x\r\nSet-Cookie: a=b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		p := localPath(next)
		u, err := url.Parse(p)
		if err != nil {
			t.Fatalf("localPath(%q) = %q, which does not parse: %v", next, p, err)
		}
		if u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
			strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n\t\x00") {
			t.Fatalf("localPath(%q) = %q leaves the server", next, p)
		}
	})
}

func TestClosedRange(t *testing.T) {
	for h, want := range map[string][2]int64{
		"bytes=0-0":                   {0, 1},
		"bytes=10-19":                 {10, 10},
		"bytes=4096-8191":             {4096, 4096},
		"bytes= 5 - 9":                {5, 5},
		"bytes=0-9223372036854775807": {0, 0}, // its end would not fit an int64: left to ServeContent
	} {
		start, length, ok := closedRange(h)
		if want[1] == 0 {
			if ok {
				t.Errorf("closedRange(%q) = %d, %d; want not ok", h, start, length)
			}
			continue
		}
		if !ok || start != want[0] || length != want[1] {
			t.Errorf("closedRange(%q) = %d, %d, %v; want %v", h, start, length, ok, want)
		}
	}
	for _, h := range []string{"", "bytes=100-", "bytes=-500", "bytes=9-5", "bytes=0-9,20-29", "items=0-9", "bytes=a-b", "bytes=-1-5", "bytes=+1-5", "bytes=0-99999999999999999999"} {
		if start, length, ok := closedRange(h); ok {
			t.Errorf("closedRange(%q) = %d, %d; want not ok", h, start, length)
		}
	}
}

// A Range header is the client's: whatever it holds, closedRange gives a range inside what
// an int64 offset and length can say, or nothing.
func FuzzClosedRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=100-", "bytes=-5", "bytes=1-2,3-4", "bytes=9223372036854775807-9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		start, length, ok := closedRange(h)
		if ok && (start < 0 || length <= 0 || start > (1<<63-1)-length) {
			t.Fatalf("closedRange(%q) = %d, %d", h, start, length)
		}
	})
}
