package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// listing reads the filenames a path's repodata.json lists, as auth, and how many subdir
// indexes the server built for the request.
func (e *env) listing(auth, path string) (string, int64) {
	e.t.Helper()
	before, _ := e.server.IndexBuilds()
	got := e.filenamesAs(auth, path)
	after, _ := e.server.IndexBuilds()
	return got, after - before
}

// A change rebuilds the indexes it touched and no other: after an upload to linux-64 the
// noarch index (and its .zst, ETag, shards) is served as it was, without a build; a removal,
// a label move and a package's privacy change each rebuild exactly the (label, subdir)s whose
// list they changed, and every reader sees the new list at once.
func TestChangesRebuildOnlyWhatTheyTouch(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testChangesRebuildOnlyWhatTheyTouch(t, newEnv(t, b)) })
	}
}

func testChangesRebuildOnlyWhatTheyTouch(t *testing.T, e *env) {
	e.users(alice)
	for _, c := range []struct {
		s      condatest.Spec
		labels []string
	}{
		{spec("nop", "1.0", "0", "noarch", condatest.Conda), nil},
		{spec("lin", "1.0", "0", "linux-64", condatest.Conda), []string{"main", "dev"}},
		{spec("mac", "1.0", "0", "osx-64", condatest.Conda), nil},
		{spec("dlin", "1.0", "0", "linux-64", condatest.Conda), []string{"dev"}}, // dev/linux-64 never empty: kept
	} {
		q := ""
		if len(c.labels) > 0 {
			q = "?label=" + strings.Join(c.labels, "&label=")
		}
		if r := e.do("PUT", "/api/v1/channels/alice/files/"+c.s.Filename()+q, alice, condatest.Build(t, c.s)); r.status != 201 {
			t.Fatalf("upload %s: %d %s", c.s.Filename(), r.status, r.body)
		}
	}
	paths := map[string]string{
		"main/noarch":   "/conda/alice/noarch/repodata.json",
		"main/linux-64": "/conda/alice/linux-64/repodata.json",
		"main/osx-64":   "/conda/alice/osx-64/repodata.json",
		"dev/linux-64":  "/conda/alice/label/dev/linux-64/repodata.json",
	}
	// check reads every index, as anonymous: those in want must list that (and were rebuilt,
	// once), the others must not have been rebuilt.
	check := func(step string, want map[string]string) {
		t.Helper()
		for key, path := range paths {
			got, builds := e.listing("", path)
			if w, changed := want[key]; changed {
				if got != w || builds != 1 {
					t.Errorf("%s: %s lists %q after %d builds; want %q, rebuilt once", step, key, got, builds, w)
				}
			} else if builds != 0 {
				t.Errorf("%s: %s, which it did not touch, was rebuilt (%d builds)", step, key, builds)
			}
		}
	}
	check("first read", map[string]string{"main/noarch": "nop-1.0-0.conda", "main/linux-64": "lin-1.0-0.conda", "main/osx-64": "mac-1.0-0.conda", "dev/linux-64": "dlin-1.0-0.conda lin-1.0-0.conda"})
	zst := "/conda/alice/noarch/repodata.json.zst"
	before := e.do("GET", zst, "", nil)

	e.mustUpload("alice", spec("lin2", "1.0", "0", "linux-64", condatest.Conda))
	check("an upload to linux-64", map[string]string{"main/linux-64": "lin-1.0-0.conda lin2-1.0-0.conda"})
	if after := e.do("GET", zst, "", nil); after.status != 200 || after.header.Get("ETag") != before.header.Get("ETag") || string(after.body) != string(before.body) {
		t.Errorf("noarch's .zst after a linux-64 upload: %d, ETag %s -> %s", after.status, before.header.Get("ETag"), after.header.Get("ETag"))
	}
	if r := e.do("GET", zst, "", nil, "If-None-Match", before.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("noarch's .zst with the ETag from before the upload: %d, want 304", r.status)
	}

	e.mustDo("DELETE", "/api/v1/channels/alice/files/linux-64/lin-1.0-0.conda", alice, nil, 204)
	check("a removal", map[string]string{"main/linux-64": "lin2-1.0-0.conda", "dev/linux-64": "dlin-1.0-0.conda"})

	e.mustDo("POST", "/api/v1/channels/alice/copy", alice, map[string]any{"from_label": "main", "to_labels": []string{"dev"}, "move": true,
		"files": []store.FileRef{{Subdir: "osx-64", Filename: "mac-1.0-0.conda"}}}, 200)
	check("a label move", map[string]string{"main/osx-64": ""})
	if got := e.filenamesAs("", "/conda/alice/label/dev/osx-64/repodata.json"); got != "mac-1.0-0.conda" {
		t.Errorf("dev/osx-64 after the move lists %q", got)
	}

	e.mustDo("PATCH", "/api/v1/channels/alice/packages/nop", alice, map[string]bool{"private": true}, 200)
	check("a package made private", map[string]string{"main/noarch": ""})
	if got := e.filenamesAs(alice, "/conda/alice/noarch/repodata.json"); got != "nop-1.0-0.conda" {
		t.Errorf("the owner sees %q in noarch, want the private package", got)
	}

	e.mustDo("PATCH", "/api/v1/channels/alice", alice, map[string]bool{"private": true}, 200)
	for key, path := range paths {
		if r := e.do("GET", path, "", nil); r.status != http.StatusNotFound {
			t.Errorf("%s of a channel made private, anonymous: %d, want 404", key, r.status)
		}
	}
	if got := e.filenamesAs(alice, "/conda/alice/linux-64/repodata.json"); got != "lin2-1.0-0.conda" {
		t.Errorf("the owner of the private channel sees %q", got)
	}
}

// Another replica (a second server on the same database, through a store of its own, so that
// only the database tells it) sees an upload, a removal and a privacy change within the bound
// the memory of channels keeps (a poll every second, two at most: 10 s allows for a slow
// machine).
func TestReplicaSeesChanges(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testReplicaSeesChanges(t, newEnv(t, b)) })
	}
}

func testReplicaSeesChanges(t *testing.T, e *env) {
	e.users(alice)
	e.mustUpload("alice", spec("one", "1.0", "0", "noarch", condatest.Conda))
	e.mustUpload("alice", spec("lin", "1.0", "0", "linux-64", condatest.Conda))
	st, err := store.Open(t.Context(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	replica, err := server.New(st, e.blobs, server.Options{TempDir: t.TempDir(), Logger: slog.New(slog.NewJSONHandler(suiteLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	get := func(path string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		w := httptest.NewRecorder()
		replica.Handler().ServeHTTP(w, r)
		if w.Code != 200 {
			return w.Code, ""
		}
		var rd repodata
		if err := json.Unmarshal(w.Body.Bytes(), &rd); err != nil {
			t.Fatal(err)
		}
		return w.Code, strings.Join(rd.filenames(), " ")
	}
	noarch := "/conda/alice/noarch/repodata.json"
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("the replica does not see %s after 10 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, got := get(noarch); code != 200 || got != "one-1.0-0.conda" {
		t.Fatalf("the replica first: %d %q", code, got)
	}
	get("/conda/alice/linux-64/repodata.json")
	e.mustUpload("alice", spec("two", "1.0", "0", "noarch", condatest.Conda))
	waitFor("an upload", func() bool { _, got := get(noarch); return got == "one-1.0-0.conda two-1.0-0.conda" })
	if _, got := get("/conda/alice/linux-64/repodata.json"); got != "lin-1.0-0.conda" {
		t.Errorf("the replica's linux-64: %q", got)
	}
	e.mustDo("DELETE", "/api/v1/channels/alice/files/noarch/one-1.0-0.conda", alice, nil, 204)
	waitFor("a removal", func() bool { _, got := get(noarch); return got == "two-1.0-0.conda" })
	e.mustDo("PATCH", "/api/v1/channels/alice/packages/two", alice, map[string]bool{"private": true}, 200)
	waitFor("a package made private", func() bool { code, got := get(noarch); return code == 200 && got == "" })
	e.mustDo("PATCH", "/api/v1/channels/alice", alice, map[string]bool{"private": true}, 200)
	waitFor("the channel made private", func() bool {
		code, _ := get("/conda/alice/linux-64/repodata.json")
		return code == http.StatusNotFound
	})
}

// Copying a private project's wheel into a channel makes the name private there, and with it
// the target's public conda package of that name: its indexes change too, so that this process
// hides it at once, as a fresh one does.
func TestCopyThatMakesANamePrivateRebuildsItsIndexes(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("src", false)
	e.createChannel("dst", false)
	e.mustUpload("dst", spec("foo", "1.0", "0", "noarch", condatest.Conda))
	w := pypitest.Spec{Name: "foo", Version: "1.0"}
	if r := e.upload("src", w.Filename(), pypitest.Build(t, w)); r.status != http.StatusCreated {
		t.Fatalf("wheel: %d %s", r.status, r.body)
	}
	e.mustDo("PATCH", "/api/v1/channels/src/packages/foo", admin, map[string]bool{"private": true}, 200)
	path := "/conda/dst/noarch/repodata.json"
	if got := e.filenamesAs("", path); got != "foo-1.0-0.conda" {
		t.Fatalf("anonymous before the copy: %q", got)
	}
	e.mustDo("POST", "/api/v1/channels/src/copy", admin, map[string]any{"to_channel": "dst",
		"files": []store.FileRef{{Subdir: "pypi", Filename: w.Filename()}}}, 200)
	if got := e.filenamesAs("", path); got != "" {
		t.Errorf("anonymous after the copy made foo private in dst: %q, want nothing", got)
	}
}
