package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func TestFileKind(t *testing.T) {
	for fn, want := range map[string]string{
		"demo-1.0-h123_0.conda":         KindConda,
		"demo-1.0-0.tar.bz2":            KindConda,
		"demo_lib-1.0-py3-none-any.whl": KindPyPI,
		"demo_lib-1.0.tar.gz":           KindPyPI,
		"demo_lib-1.0.zip":              KindPyPI,
		"demo-1.0.tar":                  "",
		"demo-1.0.egg":                  "",
		"README.md":                     "",
	} {
		if got := FileKind(fn); got != want {
			t.Errorf("FileKind(%q) = %q, want %q", fn, got, want)
		}
	}
}

// TestRequestsOfYanking checks the method, path and body each yank call sends.
func TestRequestsOfYanking(t *testing.T) {
	type sent struct{ method, uri, contentType, body string }
	var got sent
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = sent{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer hs.Close()
	c := New(hs.URL, "alice", "pw")
	const ctJSON = "application/json"
	cases := []struct {
		name string
		call func(ctx context.Context) error
		want sent
	}{
		{"yank a release", func(ctx context.Context) error {
			_, err := c.YankRelease(ctx, "acme", "demo-lib", "1.0", true, "broken build")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0", ctJSON, `{"yanked":true,"reason":"broken build"}`}},
		{"yank a release without a reason", func(ctx context.Context) error {
			_, err := c.YankRelease(ctx, "acme", "demo-lib", "2.0rc1", true, "")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/2.0rc1", ctJSON, `{"yanked":true}`}},
		{"the project in its normal form, the channel as one segment", func(ctx context.Context) error {
			_, err := c.YankRelease(ctx, "acme/dev", "Demo__Lib.Extra", "1.0+local.1", true, "")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme%2Fdev/packages/demo-lib-extra/releases/1.0+local.1", ctJSON, `{"yanked":true}`}},
		{"unyank a release sends no reason", func(ctx context.Context) error {
			_, err := c.YankRelease(ctx, "acme", "demo-lib", "1.0", false, "ignored")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0", ctJSON, `{"yanked":false}`}},
		{"yank a file", func(ctx context.Context) error {
			_, err := c.YankFile(ctx, "acme", "demo_lib-1.0-py3-none-any.whl", true, "wrong tags")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme/files/pypi/demo_lib-1.0-py3-none-any.whl", ctJSON, `{"yanked":true,"reason":"wrong tags"}`}},
		{"a file as wharf file list shows it", func(ctx context.Context) error {
			_, err := c.YankFile(ctx, "acme", "pypi/demo_lib-1.0.tar.gz", true, "")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme/files/pypi/demo_lib-1.0.tar.gz", ctJSON, `{"yanked":true}`}},
		{"unyank a file", func(ctx context.Context) error {
			_, err := c.YankFile(ctx, "acme", "demo_lib-1.0.zip", false, "")
			return err
		}, sent{"PATCH", "/api/v1/channels/acme/files/pypi/demo_lib-1.0.zip", ctJSON, `{"yanked":false}`}},
		{"remove a Python file", func(ctx context.Context) error {
			return c.RemoveFile(ctx, "acme", store.FileRef{Subdir: "pypi", Filename: "demo_lib-1.0-py3-none-any.whl"})
		}, sent{"DELETE", "/api/v1/channels/acme/files/pypi/demo_lib-1.0-py3-none-any.whl", "", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = sent{}
			if err := tc.call(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got.method != tc.want.method || got.uri != tc.want.uri || got.contentType != tc.want.contentType || !sameJSON(got.body, tc.want.body) {
				t.Errorf("sent %s %s (%s) %s\nwant %s %s (%s) %s", got.method, got.uri, got.contentType, got.body,
					tc.want.method, tc.want.uri, tc.want.contentType, tc.want.body)
			}
		})
	}
}

func TestUploadSendsPythonDistributionsAndRefusesOtherFiles(t *testing.T) {
	var uris []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		uris = append(uris, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"kind":"pypi","subdir":"pypi","labels":["main","dev"]}`))
	}))
	defer hs.Close()
	c := New(hs.URL, "alice", "pw")
	dir := t.TempDir()
	for _, fn := range []string{"demo_lib-1.0-py3-none-any.whl", "demo_lib-1.0.tar.gz", "demo_lib-1.0.zip", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, fn), []byte("bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
		info, created, err := c.Upload(t.Context(), "acme", filepath.Join(dir, fn), UploadOptions{Labels: []string{"main", "dev"}})
		if fn == "notes.txt" {
			if err == nil || !strings.Contains(err.Error(), ".whl") {
				t.Errorf("upload of %s: %v; want a refusal that names what is taken", fn, err)
			}
			continue
		}
		if err != nil || !created || info.Kind != "pypi" {
			t.Errorf("upload of %s: %+v, %v, %v", fn, info, created, err)
		}
	}
	want := []string{
		"PUT /api/v1/channels/acme/files/demo_lib-1.0-py3-none-any.whl?label=main&label=dev",
		"PUT /api/v1/channels/acme/files/demo_lib-1.0.tar.gz?label=main&label=dev",
		"PUT /api/v1/channels/acme/files/demo_lib-1.0.zip?label=main&label=dev",
	}
	if strings.Join(uris, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(uris, "\n"), strings.Join(want, "\n"))
	}
}
