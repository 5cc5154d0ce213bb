package server_test

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	rd "github.com/wharfhq/wharf/internal/repodata"
)

// A reader who may not see every package of a channel (here anonymous, with one private
// package in the channel) gets every form dated as the owner's are: a Last-Modified that
// If-Modified-Since is answered against, and a created_at in the shard index. Neither they
// nor any ETag move when only the private package changes, though the channel's time does;
// they move forward with what the reader sees, and never back.
func TestFilteredViewsAreDated(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testFilteredViewsAreDated(t, newEnv(t, b)) })
	}
}

func testFilteredViewsAreDated(t *testing.T, e *env) {
	e.users(alice)
	start := time.Now().Truncate(time.Second)
	for _, s := range []condatest.Spec{spec("tool", "1.0", "0", "noarch", condatest.Conda), spec("secret", "1.0", "0", "noarch", condatest.Conda)} {
		if r := e.uploadAs(alice, "alice", s); r.status != 201 {
			t.Fatalf("upload %s: %d %s", s.Filename(), r.status, r.body)
		}
	}
	e.mustDo("PATCH", "/api/v1/channels/alice/packages/secret", alice, map[string]bool{"private": true}, 200)
	if got := e.filenamesAs("", "/conda/alice/noarch/repodata.json"); got != "tool-1.0-0.conda" {
		t.Fatalf("anonymous sees %q, want only the public package", got)
	}
	soon := func() time.Time { return time.Now().Add(time.Duration(e.store.timeShift.Load()) + time.Second) }

	anon := e.dated(t, "", start, soon())
	owner := e.dated(t, alice, start, soon())
	for path, f := range anon {
		if r := e.do("GET", path, "", nil, "If-Modified-Since", f.lastMod); r.status != http.StatusNotModified {
			t.Errorf("%s with If-Modified-Since %s: %d, want 304", path, f.lastMod, r.status)
		}
	}

	// Only the private package changes, twice, and the channel's time moves on by an hour.
	// The owner reads in between, so that the anonymous view is built on entries it never
	// had a view in.
	e.store.timeShift.Store(int64(time.Hour))
	var owner2 map[string]dated
	for _, v := range []string{"2.0", "2.1"} {
		if r := e.uploadAs(alice, "alice", spec("secret", v, "0", "noarch", condatest.Conda)); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		// The owner's view shows the new time: what the anonymous one would give away.
		owner2 = e.dated(t, alice, start, soon())
	}
	idx := "/conda/alice/noarch/repodata_shards.msgpack.zst"
	if a, b := httpTime(t, owner[idx].lastMod), httpTime(t, owner2[idx].lastMod); b.Sub(a) < 59*time.Minute {
		t.Fatalf("the owner's shard index went from %v to %v; the test expects the channel's time an hour on", a, b)
	}
	if got := e.filenamesAs("", "/conda/alice/noarch/repodata.json"); got != "tool-1.0-0.conda" {
		t.Fatalf("anonymous sees %q, want only the public package", got)
	}
	anon2 := e.dated(t, "", start, soon())
	for path, f := range anon {
		g := anon2[path]
		if g.lastMod != f.lastMod || g.etag != f.etag || !bytes.Equal(g.body, f.body) {
			t.Errorf("%s changed with the private package: Last-Modified %s → %s, ETag %s → %s", path, f.lastMod, g.lastMod, f.etag, g.etag)
		}
		if r := e.do("GET", path, "", nil, "If-Modified-Since", f.lastMod); r.status != http.StatusNotModified {
			t.Errorf("%s with If-Modified-Since %s after a private upload: %d, want 304", path, f.lastMod, r.status)
		}
		if r := e.do("GET", path, "", nil, "If-None-Match", f.etag); r.status != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s after a private upload: %d, want 304", path, f.etag, r.status)
		}
	}

	// A public upload is seen: the time moves on with it, and an old If-Modified-Since is
	// answered in full.
	if r := e.uploadAs(alice, "alice", spec("tool", "2.0", "0", "noarch", condatest.Conda)); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	anon3 := e.dated(t, "", start, soon())
	for _, path := range changing {
		f, g := anon2[path], anon3[path]
		if g.etag == f.etag || !httpTime(t, g.lastMod).After(httpTime(t, f.lastMod)) {
			t.Errorf("%s after a public upload: ETag %s → %s, Last-Modified %s → %s; want both to move on", path, f.etag, g.etag, f.lastMod, g.lastMod)
		}
		if r := e.do("GET", path, "", nil, "If-Modified-Since", f.lastMod); r.status != http.StatusOK {
			t.Errorf("%s with the If-Modified-Since of before a public upload: %d, want 200", path, r.status)
		}
	}

	// The channel's time steps back (another replica's slower clock): the content changes, its
	// time does not go back.
	e.store.timeShift.Store(int64(-2 * time.Hour))
	if r := e.uploadAs(alice, "alice", spec("tool", "3.0", "0", "noarch", condatest.Conda)); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	anon4 := e.dated(t, "", start, time.Now().Add(time.Hour+time.Second))
	for _, path := range changing {
		f, g := anon3[path], anon4[path]
		if g.etag == f.etag || httpTime(t, g.lastMod).Before(httpTime(t, f.lastMod)) {
			t.Errorf("%s after the clock stepped back: ETag %s → %s, Last-Modified %s → %s; want a new ETag and no earlier time", path, f.etag, g.etag, f.lastMod, g.lastMod)
		}
	}
}

// changing are the forms a new version of a public package changes.
var changing = []string{
	"/conda/alice/noarch/repodata.json", "/conda/alice/noarch/repodata.json.zst", "/conda/alice/noarch/repodata.json.bz2",
	"/conda/alice/noarch/current_repodata.json", "/conda/alice/noarch/current_repodata.json.zst",
	"/conda/alice/noarch/run_exports.json", "/conda/alice/noarch/run_exports.json.zst",
	"/conda/alice/noarch/repodata_shards.msgpack.zst", "/conda/alice/channeldata.json",
}

type dated struct {
	etag, lastMod string
	body          []byte
}

// dated fetches as auth every form of alice's noarch, the shard of tool and channeldata.json,
// checks that each has a Last-Modified within [from, to] and that the shard index's created_at
// is the same time, and returns them by path.
func (e *env) dated(t *testing.T, auth string, from, to time.Time) map[string]dated {
	t.Helper()
	out := map[string]dated{}
	get := func(path string) dated {
		r := e.do("GET", path, auth, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		d := dated{etag: r.header.Get("ETag"), lastMod: r.header.Get("Last-Modified"), body: r.body}
		if d.lastMod == "" {
			t.Errorf("GET %s as %q: no Last-Modified", path, auth)
		} else if lm := httpTime(t, d.lastMod); lm.Before(from) || lm.After(to) {
			t.Errorf("GET %s as %q: Last-Modified %s, want between %s and %s", path, auth, d.lastMod, from.UTC(), to.UTC())
		}
		out[path] = d
		return d
	}
	for _, path := range changing {
		get(path)
	}
	idxPath := "/conda/alice/noarch/repodata_shards.msgpack.zst"
	idx, err := rd.DecodeShardIndex(out[idxPath].body)
	if err != nil {
		t.Fatalf("shard index: %v", err)
	}
	created, err := time.Parse(time.RFC3339, idx.Info.CreatedAt)
	if err != nil {
		t.Errorf("shard index as %q: created_at %q: %v", auth, idx.Info.CreatedAt, err)
	} else if created.Before(from) || created.After(to) {
		t.Errorf("shard index as %q: created_at %s, want between %s and %s", auth, idx.Info.CreatedAt, from.UTC(), to.UTC())
	} else if lm := out[idxPath].lastMod; lm != "" && !created.Equal(httpTime(t, lm)) {
		t.Errorf("shard index as %q: created_at %s, Last-Modified %s; want the same time", auth, idx.Info.CreatedAt, lm)
	}
	h, ok := idx.Shards["tool"]
	if !ok {
		t.Fatalf("shard index as %q names no shard for tool: %v", auth, idx.Shards)
	}
	get("/conda/alice/noarch/shards/" + hex.EncodeToString(h[:]) + ".msgpack.zst")
	return out
}

func httpTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := http.ParseTime(s)
	if err != nil {
		t.Fatalf("Last-Modified %q: %v", s, err)
	}
	return tm
}
