package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// sendfileRecorder is a ResponseRecorder with net/http's ReadFrom: it counts the bytes handed
// to it by a reader that net/http would send by sendfile (a syscall.Conn, alone or under an
// io.LimitedReader, as net.sendFile takes it).
type sendfileRecorder struct {
	*httptest.ResponseRecorder
	bySendfile int64
}

func (r *sendfileRecorder) ReadFrom(src io.Reader) (int64, error) {
	inner := src
	if lr, ok := src.(*io.LimitedReader); ok {
		inner = lr.R
	}
	n, err := io.Copy(struct{ io.Writer }{r.ResponseRecorder}, src)
	if _, ok := inner.(syscall.Conn); ok {
		r.bySendfile += n
	}
	return n, err
}

// TestDownloadsFromFilesystemBySendfile: a stored file's bytes, whole or a range, from conda,
// PyPI and the web pages, reach the connection as the file itself, which net/http sends by
// sendfile; a copy through the process (a reader that is no file, a ResponseWriter without
// ReadFrom on the way) would hand it nothing.
func TestDownloadsFromFilesystemBySendfile(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	pkg := e.mustUpload("acme", spec("tool", "1.0", "0", "noarch", condatest.Conda))
	whlSpec := pypitest.Spec{Name: "wheely"}
	whl := pypitest.Build(t, whlSpec)
	if r := e.uploadDist(admin, "acme", whlSpec); r.status != http.StatusCreated {
		t.Fatalf("upload wheel: %d %s", r.status, r.body)
	}
	sum := sha256.Sum256(whl)
	condaFile := spec("tool", "1.0", "0", "noarch", condatest.Conda).Filename()
	for _, tc := range []struct {
		name, path, rng string
		want            []byte
		status          int
	}{
		{"conda", "/conda/acme/noarch/" + condaFile, "", pkg, 200},
		{"conda range", "/conda/acme/noarch/" + condaFile, "bytes=10-41", pkg[10:42], 206},
		{"conda open range", "/conda/acme/noarch/" + condaFile, "bytes=10-", pkg[10:], 206},
		{"pypi", "/pypi/acme/files/" + hex.EncodeToString(sum[:]) + "/" + whlSpec.Filename(), "", whl, 200},
		{"web", "/channels/acme/files/noarch/" + condaFile, "", pkg, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			rec := &sendfileRecorder{ResponseRecorder: httptest.NewRecorder()}
			e.server.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.status || string(rec.Body.Bytes()) != string(tc.want) {
				t.Fatalf("GET %s: %d, %d bytes; want %d, %d bytes", tc.path, rec.Code, rec.Body.Len(), tc.status, len(tc.want))
			}
			if rec.bySendfile != int64(len(tc.want)) {
				t.Errorf("%d of %d bytes handed on as a file (sendfile)", rec.bySendfile, len(tc.want))
			}
		})
	}
}
