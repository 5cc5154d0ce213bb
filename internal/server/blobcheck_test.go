package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
)

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// logLines decodes the JSON log lines of buf.
func logLines(t *testing.T, buf *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// errorLogged reports whether an ERROR line was logged since mark (a count of lines) that
// names filename.
func errorLogged(t *testing.T, buf *syncBuffer, mark int, filename string) bool {
	t.Helper()
	for _, m := range logLines(t, buf)[mark:] {
		if m["level"] != "ERROR" {
			continue
		}
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), filename) {
			return true
		}
	}
	return false
}

// A stored file whose blob is gone, shorter or longer than its record is never answered with
// a 200 that the body then belies: 404 for a blob that is gone, 500 for one of the wrong size,
// decided before the status line, with an ERROR log line naming the file. Every route that
// serves a blob is checked: conda packages, PyPI files, the web download, HEAD and Range.
func TestBrokenBlobsAreNotServedAsOK(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			logs := &syncBuffer{}
			e := newEnv(t, b, func(o *server.Options) { o.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
			e.createChannel("acme", false)
			cs := spec("demo", "1.0", "0", "noarch", condatest.Conda)
			conda := e.mustUpload("acme", cs)
			ws := pypitest.Spec{Name: "demo-lib", Version: "1.0"}
			wheel := pypitest.Build(t, ws)
			if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
				t.Fatalf("upload wheel: %d %s", r.status, r.body)
			}
			type route struct {
				name, method, path string
				header             []string
				data               []byte // what a good blob answers
			}
			condaURL := "/conda/acme/noarch/" + cs.Filename()
			pypiURL := "/pypi/acme/files/" + sha256hex(wheel) + "/" + ws.Filename()
			routes := []route{
				{"conda GET", "GET", condaURL, nil, conda},
				{"conda HEAD", "HEAD", condaURL, nil, nil},
				{"conda Range", "GET", condaURL, []string{"Range", "bytes=10-19"}, conda[10:20]},
				{"conda open-ended Range", "GET", condaURL, []string{"Range", "bytes=100-"}, conda[100:]},
				{"conda several ranges (the whole file)", "GET", condaURL, []string{"Range", "bytes=0-9,20-29"}, conda},
				{"web download", "GET", "/channels/acme/files/noarch/" + cs.Filename(), nil, conda},
				{"PyPI GET", "GET", pypiURL, nil, wheel},
				{"PyPI Range", "GET", pypiURL, []string{"Range", "bytes=0-99"}, wheel[:100]},
			}
			blobOf := func(rt route) ([]byte, string) {
				if strings.HasPrefix(rt.path, "/pypi/") {
					return wheel, ws.Filename()
				}
				return conda, cs.Filename()
			}
			for _, damage := range []struct {
				name   string
				do     func(key string, good []byte) error
				status int
			}{
				{"gone", func(key string, _ []byte) error { return e.blobs.Delete(t.Context(), key) }, http.StatusNotFound},
				{"truncated", func(key string, good []byte) error {
					return e.blobs.Put(t.Context(), key, bytes.NewReader(good[:len(good)/2]), int64(len(good)/2))
				}, http.StatusInternalServerError},
				{"longer", func(key string, good []byte) error {
					long := append(append([]byte{}, good...), "trailing"...)
					return e.blobs.Put(t.Context(), key, bytes.NewReader(long), int64(len(long)))
				}, http.StatusInternalServerError},
			} {
				for _, rt := range routes {
					t.Run(damage.name+"/"+rt.name, func(t *testing.T) {
						good, filename := blobOf(rt)
						key := blob.Key(sha256hex(good))
						if err := damage.do(key, good); err != nil {
							t.Fatal(err)
						}
						mark := len(logLines(t, logs))
						r := e.do(rt.method, rt.path, "", nil, rt.header...)
						if r.status != damage.status {
							t.Errorf("%s %s with the blob %s: %d (%d bytes), want %d", rt.method, rt.path, damage.name, r.status, len(r.body), damage.status)
						}
						if rt.method != "HEAD" && bytes.Contains(r.body, good[:16]) {
							t.Errorf("the answer holds the file's bytes")
						}
						if !errorLogged(t, logs, mark, filename) {
							t.Errorf("no ERROR log line names %s", filename)
						}
						// Put back, the file is served again, ranges included.
						if err := e.blobs.Put(t.Context(), key, bytes.NewReader(good), int64(len(good))); err != nil {
							t.Fatal(err)
						}
						r = e.do(rt.method, rt.path, "", nil, rt.header...)
						if r.status != http.StatusOK && r.status != http.StatusPartialContent || !bytes.Equal(r.body, rt.data) {
							t.Errorf("after repair: %d, %d bytes; want the %d bytes asked for", r.status, len(r.body), len(rt.data))
						}
					})
				}
			}
			// The core metadata is kept in the database: it is served while the wheel's blob is gone.
			key := blob.Key(sha256hex(wheel))
			if err := e.blobs.Delete(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			if r := e.do("GET", pypiURL+".metadata", "", nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte("Name: demo-lib")) {
				t.Errorf(".metadata without the wheel's blob: %d %s", r.status, r.body)
			}
		})
	}
}

// A blob that fails while it is being sent (the disk file cut short under the server, the
// object store gone mid-way) ends the answer short, so the client sees the transfer fail, and
// is logged as an ERROR naming the file, not as an ordinary 200.
func TestBlobCutMidStreamIsLoggedAsError(t *testing.T) {
	// A stored (uncompressed) wheel of 32 MiB: more than the socket buffers between the server
	// and a client that has stopped reading, so that the server is still reading the blob when
	// the test breaks it.
	payload := make([]byte, 32<<20)
	rand.Read(payload)
	ws := pypitest.Spec{Name: "big", Version: "1.0", ZipStore: true, Files: map[string][]byte{"big/data.bin": payload}}
	wheel := pypitest.Build(t, ws)
	key := blob.Key(sha256hex(wheel))
	for _, tc := range []struct {
		name  string
		blobs func(t testing.TB) (url string, cut func())
	}{
		{"filesystem file truncated", func(t testing.TB) (string, func()) {
			dir := t.TempDir()
			return dir, func() {
				if err := os.Truncate(filepath.Join(dir, filepath.FromSlash(key)), 0); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"S3 stopped", func(t testing.TB) (string, func()) {
			s3 := blobtest.NewFakeS3(t)
			return s3.URL, s3.Stop
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			var cut func()
			b := backend{"cut", func(t testing.TB) string { return filepath.Join(t.TempDir(), "wharf.db") }, func(t testing.TB) string {
				u, c := tc.blobs(t)
				cut = c
				return u
			}}
			e := newEnv(t, b, func(o *server.Options) { o.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
			e.createChannel("acme", false)
			if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			res, err := e.srv.Client().Get(e.srv.URL + "/pypi/acme/files/" + sha256hex(wheel) + "/" + ws.Filename())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(wheel)) {
				t.Fatalf("download: %d, Content-Length %d", res.StatusCode, res.ContentLength)
			}
			if _, err := io.ReadFull(res.Body, make([]byte, 64<<10)); err != nil {
				t.Fatal(err)
			}
			cut()
			n, err := io.Copy(io.Discard, res.Body)
			if err == nil {
				t.Errorf("the download ended without an error after %d more bytes: the client cannot tell it is short", n)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !errorLogged(t, logs, 0, ws.Filename()) {
				if time.Now().After(deadline) {
					t.Fatalf("no ERROR log line names %s:\n%s", ws.Filename(), logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// openLog is a named fake around a real blob store that records what each Open asked for.
type openLog struct {
	blob.Store
	mu    sync.Mutex
	opens [][2]int64 // offset, length
}

func (o *openLog) Open(ctx context.Context, key string, offset, length int64) (blob.Reader, error) {
	o.mu.Lock()
	o.opens = append(o.opens, [2]int64{offset, length})
	o.mu.Unlock()
	return o.Store.Open(ctx, key, offset, length)
}

func (o *openLog) take() [][2]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.opens
	o.opens = nil
	return out
}

// A closed range is read from the blob store as just that range (S3 would otherwise send the
// rest of the object); a whole download is one read of the whole blob.
func TestRangesReadOnlyWhatIsSent(t *testing.T) {
	log := &openLog{}
	e := newEnvWrapped(t, backends[0], func(b blob.Store) blob.Store { log.Store = b; return log })
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := e.mustUpload("acme", s)
	url := "/conda/acme/noarch/" + s.Filename()
	log.take()
	for _, tc := range []struct {
		rng   string
		want  []byte
		opens [][2]int64
	}{
		{"", data, [][2]int64{{0, -1}}},
		{"bytes=10-19", data[10:20], [][2]int64{{10, 10}}},
		{"bytes=100-", data[100:], [][2]int64{{100, -1}}},
		{fmt.Sprintf("bytes=%d-", len(data)-5), data[len(data)-5:], [][2]int64{{int64(len(data) - 5), -1}}},
	} {
		var h []string
		if tc.rng != "" {
			h = []string{"Range", tc.rng}
		}
		r := e.do("GET", url, "", nil, h...)
		if !bytes.Equal(r.body, tc.want) {
			t.Errorf("Range %q: %d, %d bytes; want %d", tc.rng, r.status, len(r.body), len(tc.want))
		}
		if got := log.take(); fmt.Sprint(got) != fmt.Sprint(tc.opens) {
			t.Errorf("Range %q: the store was opened at %v; want %v", tc.rng, got, tc.opens)
		}
	}
}

// An upload whose bytes are stored already under a blob that is damaged (another byte, cut
// short, longer) or gone leaves the blob whole: the upload has the verified bytes in hand, so
// that uploading a file again repairs what wharf admin fsck found, whether it is the same file
// again (200) or another file of the same bytes (201); every file of those bytes is then
// served right.
func TestUploadRepairsDamagedBlob(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.createChannel("acme", false)
			e.createChannel("other", false)
			for i, damage := range []struct {
				name string
				bad  func(good []byte) []byte // nil: the blob is deleted
			}{
				{"a flipped byte", func(good []byte) []byte {
					bad := bytes.Clone(good)
					bad[len(bad)/2] ^= 0x01
					return bad
				}},
				{"truncated", func(good []byte) []byte { return good[:len(good)/2] }},
				{"longer", func(good []byte) []byte { return append(bytes.Clone(good), "trailing"...) }},
				{"gone", nil},
			} {
				t.Run(damage.name, func(t *testing.T) {
					ws := pypitest.Spec{Name: fmt.Sprintf("repair%d", i), Version: "1.0"}
					wheel := pypitest.Build(t, ws)
					key := blob.Key(sha256hex(wheel))
					spoil := func() {
						t.Helper()
						if damage.bad == nil {
							if err := e.blobs.Delete(t.Context(), key); err != nil {
								t.Fatal(err)
							}
							return
						}
						bad := damage.bad(wheel)
						if err := e.blobs.Put(t.Context(), key, bytes.NewReader(bad), int64(len(bad))); err != nil {
							t.Fatal(err)
						}
					}
					served := func(channel string) {
						t.Helper()
						r := e.do("GET", "/pypi/"+channel+"/files/"+sha256hex(wheel)+"/"+ws.Filename(), "", nil)
						if r.status != http.StatusOK || !bytes.Equal(r.body, wheel) {
							t.Errorf("download from %s: %d, %d bytes (the right ones: %v); want 200 with the %d bytes uploaded",
								channel, r.status, len(r.body), bytes.Equal(r.body, wheel), len(wheel))
						}
						if d, err := blob.Check(t.Context(), e.blobs, sha256hex(wheel), int64(len(wheel))); err != nil || !d.OK() {
							t.Errorf("the blob after the upload: %+v, %v; want it whole", d, err)
						}
					}
					if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
						t.Fatalf("upload: %d %s", r.status, r.body)
					}
					spoil()
					if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusOK {
						t.Errorf("the same file again: %d %s, want 200", r.status, r.body)
					}
					served("acme")
					spoil()
					if r := e.upload("other", ws.Filename(), wheel); r.status != http.StatusCreated {
						t.Errorf("the same bytes to another channel: %d %s, want 201", r.status, r.body)
					}
					served("other")
					served("acme")
				})
			}
		})
	}
}
