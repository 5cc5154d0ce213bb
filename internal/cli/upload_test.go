package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/api"
)

// fakeUploadServer is a fake of the upload, listing and removal routes of one channel,
// acme: it stores bytes by filename (conda packages in noarch, Python files in pypi), answers
// 201, 200 or 409 as the real server does, keeps removed Python filenames to their bytes, and
// counts how many uploads are in flight at once.
type fakeUploadServer struct {
	*httptest.Server
	delay time.Duration

	mu          sync.Mutex
	files       map[string][]byte // filename → bytes
	removedPy   map[string][]byte // removed Python filename → its bytes
	queries     []string          // raw query of each upload
	deletes     []string
	lists       int // listings of the channel's files
	inflight    int
	maxInflight int
}

func newFakeUploadServer(t *testing.T) *fakeUploadServer {
	f := &fakeUploadServer{files: map[string][]byte{}, removedPy: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/v1/channels/acme/files/{filename}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fn := r.PathValue("filename")
		f.mu.Lock()
		f.inflight++
		f.maxInflight = max(f.maxInflight, f.inflight)
		f.queries = append(f.queries, r.URL.RawQuery)
		f.mu.Unlock()
		time.Sleep(f.delay)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.inflight--
		stored, ok := f.files[fn]
		if old, removed := f.removedPy[fn]; !ok && removed {
			stored, ok = old, !bytes.Equal(old, b)
		}
		switch {
		case ok && !bytes.Equal(stored, b):
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, `{"error":{"code":"conflict","message":"file %q already exists: other content"}}`, fn)
			return
		case ok:
			w.WriteHeader(http.StatusOK)
		default:
			f.files[fn] = b
			w.WriteHeader(http.StatusCreated)
		}
		json.NewEncoder(w).Encode(f.info(fn, r.URL.Query().Get("private") == "true"))
	})
	mux.HandleFunc("GET /api/v1/channels/acme/files", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lists++
		out := []api.FileInfo{}
		for fn := range f.files {
			out = append(out, f.info(fn, false))
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("DELETE /api/v1/channels/acme/files/{subdir}/{filename}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		fn := r.PathValue("filename")
		f.deletes = append(f.deletes, r.PathValue("subdir")+"/"+fn)
		if r.PathValue("subdir") == "pypi" {
			f.removedPy[fn] = f.files[fn]
		}
		delete(f.files, fn)
		w.WriteHeader(http.StatusNoContent)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUploadServer) info(fn string, private bool) api.FileInfo {
	kind, subdir := "conda", "noarch"
	if strings.HasSuffix(fn, ".whl") || strings.HasSuffix(fn, ".tar.gz") {
		kind, subdir = "pypi", "pypi"
	}
	return api.FileInfo{Channel: "acme", Package: strings.Split(fn, "-")[0], Kind: kind, Subdir: subdir, Filename: fn, Labels: []string{"main"}, PackagePrivate: private}
}

// writeFiles writes name → content files in a new directory and returns their paths in the
// order of names.
func writeFiles(t *testing.T, names []string, content func(name string) string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(content(n)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// uploadJSON runs wharf upload --json and returns its results and error.
func uploadJSON(t *testing.T, server string, args ...string) ([]uploadResult, error) {
	t.Helper()
	out, err := runCmd(t, uploadCmd(), server, append(args, "-c", "acme", "--json")...)
	var res []uploadResult
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("upload --json printed %q: %v", out, jerr)
	}
	return res, err
}

func statuses(res []uploadResult) string {
	var s []string
	for _, r := range res {
		s = append(s, r.Status)
	}
	return strings.Join(s, " ")
}

func TestUploadRunsAtMostParallelFilesAtOnce(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			fake := newFakeUploadServer(t)
			fake.delay = 40 * time.Millisecond
			var names []string
			for i := range 8 {
				names = append(names, fmt.Sprintf("p%d-1.0-0.conda", i))
			}
			paths := writeFiles(t, names, func(n string) string { return n })
			res, err := uploadJSON(t, fake.URL, append(paths, "--parallel", fmt.Sprint(parallel))...)
			if err != nil {
				t.Fatal(err)
			}
			if fake.maxInflight != parallel {
				t.Errorf("at most %d uploads at once, want %d", fake.maxInflight, parallel)
			}
			for i, r := range res {
				if r.Path != paths[i] || r.Status != uploadCreated {
					t.Errorf("result %d = %+v; want %s created, in the order given", i, r, paths[i])
				}
			}
		})
	}
	fake := newFakeUploadServer(t)
	if _, err := runCmd(t, uploadCmd(), fake.URL, "x-1.0-0.conda", "-c", "acme", "--parallel", "0"); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("--parallel 0: %v", err)
	}
}

func TestUploadOtherBytesUnderAStoredName(t *testing.T) {
	names := []string{"demo-1.0-0.conda", "demo_lib-1.0.tar.gz"}
	first := writeFiles(t, names, func(string) string { return "first" })
	other := writeFiles(t, names, func(string) string { return "other" })
	cases := []struct {
		name     string
		flags    []string
		want     string // statuses of the conda file and the Python file
		fails    bool
		errParts []string // in the Python file's error
		deletes  string
	}{
		{"refused without a flag", nil, "failed failed", true, []string{"409", "--skip-existing"}, ""},
		{"--skip-existing skips them and succeeds", []string{"--skip-existing"}, "skipped skipped", false, nil, ""},
		{"--force replaces a conda package, not a Python file", []string{"--force"}, "replaced failed", true,
			[]string{"409", "cannot replace a Python distribution", "only with the same bytes", "left as it is"}, "noarch/demo-1.0-0.conda"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := newFakeUploadServer(t)
			if res, err := uploadJSON(t, fake.URL, first...); err != nil || statuses(res) != "created created" {
				t.Fatalf("first upload: %s, %v", statuses(res), err)
			}
			if res, err := uploadJSON(t, fake.URL, first...); err != nil || statuses(res) != "exists exists" {
				t.Fatalf("same bytes again: %s, %v", statuses(res), err)
			}
			res, err := uploadJSON(t, fake.URL, append(other, c.flags...)...)
			if got := statuses(res); got != c.want || (err != nil) != c.fails {
				t.Fatalf("statuses %q, error %v; want %q, failure %v", got, err, c.want, c.fails)
			}
			for _, part := range c.errParts {
				if !strings.Contains(res[1].Error, part) {
					t.Errorf("error %q lacks %q", res[1].Error, part)
				}
			}
			if got := strings.Join(fake.deletes, " "); got != c.deletes {
				t.Errorf("removed %q, want %q", got, c.deletes)
			}
			if want := map[bool]string{true: "other", false: "first"}[c.deletes != ""]; string(fake.files["demo-1.0-0.conda"]) != want {
				t.Errorf("stored conda bytes %q, want %q", fake.files["demo-1.0-0.conda"], want)
			}
			if string(fake.files["demo_lib-1.0.tar.gz"]) != "first" {
				t.Errorf("the Python file is %q now; it must be left as it was", fake.files["demo_lib-1.0.tar.gz"])
			}
		})
	}
	fake := newFakeUploadServer(t)
	if _, err := runCmd(t, uploadCmd(), fake.URL, first[0], "-c", "acme", "--force", "--skip-existing"); err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("--force --skip-existing: %v", err)
	}
}

func TestUploadForceListsTheChannelOnce(t *testing.T) {
	names := []string{"a-1.0-0.conda", "b-1.0-0.conda", "c-1.0-0.conda"}
	fake := newFakeUploadServer(t)
	if _, err := uploadJSON(t, fake.URL, writeFiles(t, names, func(string) string { return "first" })...); err != nil {
		t.Fatal(err)
	}
	res, err := uploadJSON(t, fake.URL, append(writeFiles(t, names, func(string) string { return "other" }), "--force")...)
	if err != nil || statuses(res) != "replaced replaced replaced" {
		t.Fatalf("statuses %q, %v", statuses(res), err)
	}
	if fake.lists != 1 {
		t.Errorf("--force listed the channel %d times for 3 files; want once", fake.lists)
	}
}

func TestUploadPrivateAsksThePackageBePrivate(t *testing.T) {
	fake := newFakeUploadServer(t)
	paths := writeFiles(t, []string{"demo-1.0-0.conda"}, func(string) string { return "x" })
	out, err := runCmd(t, uploadCmd(), fake.URL, paths[0], "-c", "acme", "-l", "dev", "--private")
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.queries) != 1 || fake.queries[0] != "label=dev&private=true" {
		t.Errorf("queries %q, want label=dev&private=true", fake.queries)
	}
	if !strings.Contains(out, "uploaded") || !strings.Contains(out, "(package private)") {
		t.Errorf("printed %q", out)
	}
	if _, err := runCmd(t, uploadCmd(), fake.URL, paths[0], "-c", "acme"); err != nil || fake.queries[1] != "" {
		t.Errorf("without --private: query %q, %v", fake.queries[1], err)
	}
}

func TestProgressBarsFitOneLine(t *testing.T) {
	for _, n := range []int{1, 2, 4, 9} {
		var bars []*progressBar
		for i := range n {
			bars = append(bars, &progressBar{name: fmt.Sprintf("a-rather-long-package-name-%d-1.0-0.conda", i), sent: int64(i * 10), total: 100})
		}
		line := renderBars(bars, lineWidth)
		if len(line) > lineWidth {
			t.Errorf("%d bars: %d columns: %q", n, len(line), line)
		}
		if !strings.Contains(line, "  0%") {
			t.Errorf("%d bars: %q shows no percentage", n, line)
		}
	}
	var w bytes.Buffer
	p := &progressBars{w: &w}
	update, done := p.track("big-1.0-0.conda", 4<<20)
	update(2<<20, 4<<20)
	update(4<<20, 4<<20)
	p.above(func() { w.WriteString("big-1.0-0.conda: uploaded\n") })
	done()
	got := w.String()
	for _, part := range []string{"\rbig-1.0-0.conda [", "100%", "\r" + strings.Repeat(" ", len(renderBars([]*progressBar{{name: "big-1.0-0.conda", sent: 1, total: 1}}, lineWidth))) + "\rbig-1.0-0.conda: uploaded\n"} {
		if !strings.Contains(got, part) {
			t.Errorf("drew %q, want %q in it", got, part)
		}
	}
}
