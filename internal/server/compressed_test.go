package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

func decode(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

// The indexes that are JSON or HTML (repodata.json, current_repodata.json, run_exports.json,
// channeldata.json, the Simple pages) go out gzip- or zstd-compressed to a client that accepts
// it, with Vary: Accept-Encoding and an ETag of their own that a revalidation answers 304;
// the same bytes once decoded. A client that accepts neither, a range request, and the
// formats that are compressed already get the body as it is.
func TestIndexesAreCompressedForClientsThatAsk(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.createChannel("acme", false)
			for _, n := range []string{"demo", "other", "third", "fourth", "fifth", "sixth"} {
				for _, v := range []string{"1.0", "2.0"} {
					s := spec(n, v, "0", "noarch", condatest.Conda)
					s.RunExports = map[string]any{"weak": []string{n + " >=" + v + ",<3.0a0"}, "strong": []string{n + "-runtime >=" + v}}
					e.mustUpload("acme", s)
				}
			}
			for _, v := range []string{"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"} {
				ws := pypitest.Spec{Name: "demo-lib", Version: v}
				if r := e.upload("acme", ws.Filename(), pypitest.Build(t, ws)); r.status != http.StatusCreated {
					t.Fatalf("upload %s: %d %s", ws.Filename(), r.status, r.body)
				}
			}
			json := []string{"Accept", "application/vnd.pypi.simple.v1+json"}
			for _, tc := range []struct {
				path   string
				header []string
			}{
				{"/conda/acme/noarch/repodata.json", nil},
				{"/conda/acme/noarch/current_repodata.json", nil},
				{"/conda/acme/noarch/run_exports.json", nil},
				{"/conda/acme/channeldata.json", nil},
				{"/pypi/acme/simple/demo-lib/", nil},
				{"/pypi/acme/simple/demo-lib/", json},
			} {
				plain := e.do("GET", tc.path, "", nil, append([]string{"Accept-Encoding", "identity"}, tc.header...)...)
				if plain.status != http.StatusOK || plain.header.Get("Content-Encoding") != "" {
					t.Fatalf("%s with identity: %d, Content-Encoding %q", tc.path, plain.status, plain.header.Get("Content-Encoding"))
				}
				if len(plain.body) < 1024 {
					t.Fatalf("%s: %d bytes, too few for the test (compressed from 1 KiB)", tc.path, len(plain.body))
				}
				if !strings.Contains(strings.Join(plain.header.Values("Vary"), ", "), "Accept-Encoding") {
					t.Errorf("%s with identity: Vary %q, want Accept-Encoding", tc.path, strings.Join(plain.header.Values("Vary"), ", "))
				}
				etags := map[string]string{"": plain.header.Get("ETag")}
				for _, enc := range []string{"gzip", "zstd"} {
					accept := map[string]string{"gzip": "gzip, deflate", "zstd": "gzip, deflate, br, zstd"}[enc]
					r := e.do("GET", tc.path, "", nil, append([]string{"Accept-Encoding", accept}, tc.header...)...)
					if r.status != http.StatusOK || r.header.Get("Content-Encoding") != enc {
						t.Errorf("%s accepting %q: %d, Content-Encoding %q, want %s", tc.path, accept, r.status, r.header.Get("Content-Encoding"), enc)
						continue
					}
					if len(r.body) >= len(plain.body) {
						t.Errorf("%s in %s: %d bytes, not fewer than the %d plain", tc.path, enc, len(r.body), len(plain.body))
					}
					if got := decode(t, enc, r.body); !bytes.Equal(got, plain.body) {
						t.Errorf("%s in %s decodes to other bytes than the plain body", tc.path, enc)
					}
					if !strings.Contains(strings.Join(r.header.Values("Vary"), ", "), "Accept-Encoding") {
						t.Errorf("%s in %s: Vary %q", tc.path, enc, strings.Join(r.header.Values("Vary"), ", "))
					}
					etag := r.header.Get("ETag")
					for other, o := range etags {
						if etag == o {
							t.Errorf("%s: the %s answer has the ETag %s of the %q one", tc.path, enc, etag, other)
						}
					}
					etags[enc] = etag
					if r := e.do("GET", tc.path, "", nil, append([]string{"Accept-Encoding", accept, "If-None-Match", etag}, tc.header...)...); r.status != http.StatusNotModified {
						t.Errorf("%s in %s revalidated with its ETag: %d, want 304", tc.path, enc, r.status)
					}
					if r := e.do("GET", tc.path, "", nil, append([]string{"Accept-Encoding", "identity", "If-None-Match", etag}, tc.header...)...); r.status != http.StatusOK {
						t.Errorf("%s as it is, with the %s ETag: %d, want 200 (another representation)", tc.path, enc, r.status)
					}
				}
				if r := e.do("GET", tc.path, "", nil, append([]string{"Accept-Encoding", "gzip;q=0, zstd;q=0"}, tc.header...)...); r.header.Get("Content-Encoding") != "" {
					t.Errorf("%s with gzip and zstd refused (q=0): Content-Encoding %q", tc.path, r.header.Get("Content-Encoding"))
				}
				r := e.do("GET", tc.path, "", nil, append([]string{"Accept-Encoding", "gzip", "Range", "bytes=0-99"}, tc.header...)...)
				if r.status != http.StatusPartialContent || r.header.Get("Content-Encoding") != "" || !bytes.Equal(r.body, plain.body[:100]) {
					t.Errorf("%s Range with gzip: %d, Content-Encoding %q, want 206 of the plain bytes", tc.path, r.status, r.header.Get("Content-Encoding"))
				}
			}
			for _, path := range []string{"/conda/acme/noarch/repodata.json.zst", "/conda/acme/noarch/repodata_shards.msgpack.zst", "/pypi/acme/simple/"} {
				r := e.do("GET", path, "", nil, "Accept-Encoding", "gzip, zstd")
				if r.status != http.StatusOK || r.header.Get("Content-Encoding") != "" {
					t.Errorf("%s (compressed already, or under 1 KiB): %d, Content-Encoding %q, want none", path, r.status, r.header.Get("Content-Encoding"))
				}
			}
		})
	}
}
