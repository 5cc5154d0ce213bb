package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A blob cut short or grown after its size was checked is answered with the recorded length:
// the short body then shows as short (and is logged), and a longer file's extra bytes are not
// sent; ServeContent would otherwise take the length the file has when it seeks its end, and
// the damage would pass for a whole answer.
func TestLocalFileAnswersTheCheckedSize(t *testing.T) {
	const size = 672
	for _, tc := range []struct {
		name    string
		now     int64 // the file's size once checked
		sent    int
		wantLen string
	}{
		{"cut short after the check", 100, 100, "672"},
		{"grown after the check", 679, size, "672"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "blob")
			if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := os.Truncate(path, tc.now); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			http.ServeContent(rec, httptest.NewRequest("GET", "/blob", nil), "", time.Time{}, &localFile{File: f, size: size})
			if got := rec.Header().Get("Content-Length"); got != tc.wantLen || rec.Body.Len() != tc.sent {
				t.Errorf("Content-Length %s and %d bytes sent, want %s and %d", got, rec.Body.Len(), tc.wantLen, tc.sent)
			}
		})
	}
}
