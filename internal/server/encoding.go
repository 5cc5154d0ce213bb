package server

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Bodies smaller than this go out as they are: compressing them saves less than a packet.
const minEncodedSize = 1024

// httpZstd compresses for Content-Encoding: zstd, whose window RFC 9659 limits to 8 MiB
// (browsers refuse more); repodata.json.zst's encoder may use a larger one.
var httpZstd, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(8<<20), zstd.WithEncoderConcurrency(1))

// encodings are an artefact's body compressed for clients that accept it, each made at most
// once, on the first request that takes it, and kept with the artefact for as long as the
// cache keeps it.
type encodings struct {
	gzip func() []byte
	zstd func() []byte
}

func newEncodings(body []byte) *encodings {
	if len(body) < minEncodedSize {
		return nil
	}
	return &encodings{
		gzip: sync.OnceValue(func() []byte {
			var b bytes.Buffer
			b.Grow(len(body) / 5)
			w, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
			w.Write(body) // a bytes.Buffer does not fail
			w.Close()
			return b.Bytes()
		}),
		zstd: sync.OnceValue(func() []byte { return httpZstd.EncodeAll(body, make([]byte, 0, len(body)/6)) }),
	}
}

// compressible gives a its encodings and returns it.
func (a *artefact) compressible() *artefact {
	a.enc = newEncodings(a.body)
	return a
}

// acceptedEncoding is the Content-Encoding to answer with for the Accept-Encoding header
// values given: "zstd", "gzip", or "" for the body as it is. zstd is preferred, being faster
// to decode and smaller for JSON; a coding with q=0 is refused, "*" stands for gzip, and
// "identity" is always acceptable.
func acceptedEncoding(values []string) string {
	q := map[string]float64{}
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			weight := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // a weight it cannot read does not make a coding acceptable
					}
					weight = f
				}
			}
			if name == "x-gzip" {
				name = "gzip"
			}
			if old, ok := q[name]; !ok || weight < old {
				q[name] = weight // the stricter of two mentions
			}
		}
	}
	accepts := func(name string) bool {
		if w, ok := q[name]; ok {
			return w > 0
		}
		w, ok := q["*"]
		return ok && w > 0 && name == "gzip"
	}
	switch {
	case accepts("zstd"):
		return "zstd"
	case accepts("gzip"):
		return "gzip"
	}
	return ""
}

// serveArtefact answers with a's body, compressed when the client accepts it and a has
// encodings. Each encoding has its own ETag (RFC 9110: a strong validator names one
// representation), so a client revalidates the form it holds; a range request gets the body
// as it is, whose bytes its ranges count.
func serveArtefact(w http.ResponseWriter, r *http.Request, a *artefact, contentType, etag, cacheControl string, mod time.Time) {
	body := a.body
	if a.enc != nil {
		vary := "Accept-Encoding"
		if v := w.Header().Get("Vary"); v != "" {
			vary = v + ", " + vary // one line, as caches that read only the first expect
		}
		w.Header().Set("Vary", vary)
		if r.Header.Get("Range") == "" {
			switch acceptedEncoding(r.Header.Values("Accept-Encoding")) {
			case "zstd":
				body, etag = a.enc.zstd(), strings.TrimSuffix(etag, `"`)+`-zstd"`
				w.Header().Set("Content-Encoding", "zstd")
			case "gzip":
				body, etag = a.enc.gzip(), strings.TrimSuffix(etag, `"`)+`-gzip"`
				w.Header().Set("Content-Encoding", "gzip")
			}
		}
	}
	serveBytes(w, r, contentType, etag, cacheControl, mod, body)
}
