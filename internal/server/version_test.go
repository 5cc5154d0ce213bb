package server_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/version"
)

// GET /api/v1/version answers anyone with what wharf version says, and every page's footer
// shows it.
func TestVersionInTheAPIAndTheFooter(t *testing.T) {
	hs := httptest.NewServer(openapiServer(t).Handler())
	defer hs.Close()
	res, err := http.Get(hs.URL + "/api/v1/version")
	if err != nil {
		t.Fatal(err)
	}
	var got api.VersionInfo
	err = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil || got != version.Get() || got.Version == "" || !strings.HasPrefix(got.Go, "go") {
		t.Errorf("GET /api/v1/version: %d %+v, %v; want %+v", res.StatusCode, got, err, version.Get())
	}
	for _, page := range []string{"/", "/login", "/no-such-page"} {
		res, err := http.Get(hs.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		footer := string(b)
		if i := strings.Index(footer, "<footer>"); i >= 0 {
			footer = footer[i:]
		}
		if !strings.Contains(footer, html.EscapeString(version.String())) {
			t.Errorf("GET %s: the footer lacks the version %q:\n%.300s", page, version.String(), footer)
		}
	}
}
