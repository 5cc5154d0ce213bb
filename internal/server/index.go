package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// indexCache holds what each (channel, label, subdir) serves, built once per revision of that
// (label, subdir): a change rebuilds only what it touched. The revision a request needs comes
// with the channel, from memory while nothing changed (channelMemory).
type indexCache struct {
	store store.Store
	log   *slog.Logger

	// builds counts what was built, for IndexBuilds.
	baseBuilds, viewBuilds atomic.Int64

	subdirs revCache[*subdirIndex]
	chans   revCache[*channelIndex]
	pypi    revCache[*pypiPage]
}

type indexKey struct {
	channelID int64
	label     string
	subdir    string
}

func (k indexKey) String() string {
	return fmt.Sprintf("%d\x00%s\x00%s", k.channelID, k.label, k.subdir)
}

func newIndexCache(st store.Store, log *slog.Logger) *indexCache {
	return &indexCache{store: st, log: log}
}

// artefact is one file the index serves.
type artefact struct {
	body        []byte
	etag        string
	contentType string
	immutable   bool
	enc         *encodings // nil: sent only as it is (compressed formats, small bodies)
}

func newArtefact(body []byte, contentType string) *artefact {
	return &artefact{body: body, contentType: contentType, etag: `"` + etagOf(body) + `"`}
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// startTime is the Last-Modified of what is built into the binary.
var startTime = time.Now().UTC().Truncate(time.Second)

// viewTimes dates the views of one cache entry that are filtered (what a reader gets who may
// not see every package), and is handed from one revision's entry to the next.
//
// The time of the last change to the label's subdir, which dates the unfiltered view, moves
// with every change to it, to private packages too; given to a filtered view, it would tell
// its readers when something they may not see changed (the REST API hides it from them for that reason). So a filtered view keeps
// its time while its content stays the same, whatever else changes; when its content changed,
// it takes the time of the revision it was built from, the change itself when the first
// request after it rebuilds, and never an earlier time than it had. With nothing to go by
// (its first build since the server started, or an entry not kept), it takes the time of the
// build, which says nothing of the channel. The shard index's created_at is the same time, so
// its bytes and ETag, like every other form's, stay the same as long as what the reader sees
// does.
type viewTimes struct {
	mu sync.Mutex
	m  map[string]viewTime // by visibility key
}

// viewTime is when a view's content, named by a hash of it, was first seen.
type viewTime struct {
	content string
	mod     time.Time
}

// maxTimes bounds the views dated per entry; those beyond it are dated afresh at each build.
const maxTimes = 4 * maxViews

// inherit takes the times old had, with those of the views built on it.
func (t *viewTimes) inherit(old *viewTimes) {
	old.mu.Lock()
	defer old.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m = maps.Clone(old.m)
}

// mod returns the time of the filtered view key whose content is named by content, built from
// a snapshot of the channel at revTime, and records it for the next revision's entry.
func (t *viewTimes) mod(key, content string, revTime time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, known := t.m[key]
	var m time.Time
	switch {
	case !known:
		m = time.Now().UTC().Truncate(time.Second)
	case prev.content == content:
		m = prev.mod
	default:
		m = later(prev.mod, revTime.UTC().Truncate(time.Second))
	}
	if t.m == nil {
		t.m = map[string]viewTime{}
	}
	if known || len(t.m) < maxTimes {
		t.m[key] = viewTime{content: content, mod: m}
	}
	return m
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// subdirIndex is one subdir of one label at one revision: every record, and which packages
// are private. What a reader gets is a view of it (subdirView), one per distinct set of
// packages a reader may see, built once and shared by every reader with that set.
type subdirIndex struct {
	key     indexKey
	rev     int64
	mod     time.Time
	records []repodata.Record
	private map[string]bool

	mu    sync.Mutex
	views map[string]*subdirView
	sf    singleflight.Group
	times viewTimes
	// prevShards is what each view served at the revision before, kept so that a client
	// holding the previous shard index can still fetch the shards it names.
	prevShards map[string]*shardSet
}

// maxViews bounds the views kept per subdir; readers beyond it get views built for them and
// not kept. Distinct visible sets come from distinct package grants, so this is generous.
const maxViews = 256

// subdirView is what one visible set of packages sees. repodata.json.zst is built eagerly
// (the form conda, mamba and pixi fetch); the rest on first request.
type subdirView struct {
	mod     time.Time
	shared  bool // the anonymous view of a public channel: shared caches may keep it
	records []repodata.Record

	zst        *artefact
	json, bz2  func() (*artefact, error)
	current    func() ([2]*artefact, error)
	runExp     func() ([2]*artefact, error)
	shards     func() (*shardSet, error)
	built      atomic.Pointer[shardSet]
	prevShards *shardSet
}

type shardSet struct {
	index  *artefact
	shards map[string]*artefact
	cache  *repodata.ShardCache // for the next revision's build: unchanged packages keep their shard
}

// visibility is the set of packages a reader may see in one channel, named by key.
type visibility struct {
	key   string
	allow func(pkg string) bool // nil: everything
}

// visibilityFor works out what p sees of a channel whose private packages are private, as
// access.ReadableIn says. It costs O(p's package grants), never O(channel size).
func visibilityFor(p access.Principal, res access.Resource, private map[string]bool) visibility {
	rd := access.ReadableIn(p, res)
	if rd.All {
		return visibility{key: "all"}
	}
	if !rd.Public {
		// Without read on a private channel, only the packages granted one by one.
		set := make(map[string]bool, len(rd.Granted))
		for _, g := range rd.Granted {
			set[g] = true
		}
		return visibility{key: "only\x00" + strings.Join(rd.Granted, "\x00"), allow: func(n string) bool { return set[n] }}
	}
	if len(private) == 0 {
		return visibility{key: "all"}
	}
	var extra []string
	for _, g := range rd.Granted {
		if private[g] {
			extra = append(extra, g)
		}
	}
	set := make(map[string]bool, len(extra))
	for _, g := range extra {
		set[g] = true
	}
	return visibility{key: "public\x00" + strings.Join(extra, "\x00"), allow: func(n string) bool { return !private[n] || set[n] }}
}

// subdir returns what p sees of one subdir of one label of ch, as of revision rev of that
// (label, subdir) or later.
func (c *indexCache) subdir(ctx context.Context, ch store.Channel, rev int64, label, subdir string, p access.Principal) (*subdirView, error) {
	key := indexKey{ch.ID, label, subdir}
	base, err := c.subdirs.get(ctx, key, rev, func(ctx context.Context, old *subdirIndex) (*subdirIndex, error) {
		return c.buildSubdir(ctx, key, old)
	})
	if err != nil {
		return nil, err
	}
	res := resourceOf(ch)
	return base.view(ctx, c, visibilityFor(p, res, base.private), !res.Private)
}

func (c *indexCache) buildSubdir(ctx context.Context, key indexKey, old *subdirIndex) (*subdirIndex, error) {
	snap, err := c.store.SubdirSnapshot(ctx, key.channelID, key.label, key.subdir)
	if err != nil {
		return nil, err
	}
	c.baseBuilds.Add(1)
	e := &subdirIndex{key: key, rev: snap.Revision, mod: snap.UpdatedAt, records: snap.Records,
		private: privateAmong(snap.Private, len(snap.Records), func(i int) string { return snap.Records[i].Name }),
		views:   map[string]*subdirView{}, prevShards: map[string]*shardSet{}}
	if old != nil {
		e.times.inherit(&old.times)
		old.mu.Lock()
		for k, v := range old.views {
			if set := v.built.Load(); set != nil {
				e.prevShards[k] = set
			}
		}
		old.mu.Unlock()
	}
	return e, nil
}

func (e *subdirIndex) view(ctx context.Context, c *indexCache, vis visibility, publicChannel bool) (*subdirView, error) {
	e.mu.Lock()
	v, ok := e.views[vis.key]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	r, err, _ := e.sf.Do(vis.key, func() (any, error) {
		c.viewBuilds.Add(1)
		v, err := e.buildView(ctx, c.log, vis, publicChannel)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		if len(e.views) < maxViews {
			e.views[vis.key] = v
		}
		e.mu.Unlock()
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	return r.(*subdirView), nil
}

func (e *subdirIndex) buildView(ctx context.Context, log *slog.Logger, vis visibility, publicChannel bool) (*subdirView, error) {
	start := time.Now()
	key := e.key
	records := e.records
	if vis.allow != nil {
		records = make([]repodata.Record, 0, len(e.records))
		for _, r := range e.records {
			if vis.allow(r.Name) {
				records = append(records, r)
			}
		}
	}
	zst, sum, jsonLen, err := repodata.BuildRepodataZstd(key.subdir, records)
	if err != nil {
		return nil, err
	}
	mod := e.mod
	if vis.allow != nil {
		// repodata.json names every file by its sha256, and the other forms are made from the
		// same records: its hash stands for all of them.
		mod = e.times.mod(vis.key, hex.EncodeToString(sum[:]), e.mod)
	}
	v := &subdirView{mod: mod, records: records, prevShards: e.prevShards[vis.key],
		shared: publicChannel && (len(e.private) == 0 || vis.key == "public\x00")}
	etag := hex.EncodeToString(sum[:16])
	v.zst = &artefact{body: zst, contentType: "application/zstd", etag: `"` + etag + `-zst"`}
	// Most clients take the .zst or the shards; the plain JSON, as large as the channel, is
	// built when first asked for.
	v.json = sync.OnceValues(func() (*artefact, error) {
		a := &artefact{body: repodata.BuildRepodata(key.subdir, v.records), contentType: "application/json", etag: `"` + etag + `"`}
		return a.compressible(), nil
	})
	v.bz2 = sync.OnceValues(func() (*artefact, error) {
		j, err := v.json()
		if err != nil {
			return nil, err
		}
		b, err := repodata.CompressBzip2(j.body)
		if err != nil {
			return nil, err
		}
		return &artefact{body: b, contentType: "application/x-bzip2", etag: `"` + etag + `-bz2"`}, nil
	})
	v.current = sync.OnceValues(func() ([2]*artefact, error) {
		return jsonAndZstd(repodata.BuildCurrentRepodata(key.subdir, v.records))
	})
	v.runExp = sync.OnceValues(func() ([2]*artefact, error) {
		return jsonAndZstd(repodata.BuildRunExports(key.subdir, v.records))
	})
	v.shards = sync.OnceValues(func() (*shardSet, error) {
		var prev *repodata.ShardCache
		if v.prevShards != nil {
			prev = v.prevShards.cache
		}
		idx, shards, cache, err := repodata.BuildShardsCached(key.subdir, v.records, v.mod, prev)
		if err != nil {
			return nil, err
		}
		set := &shardSet{index: newArtefact(idx, "application/zstd"), shards: make(map[string]*artefact, len(shards)), cache: cache}
		for h, b := range shards {
			set.shards[h] = &artefact{body: b, contentType: "application/zstd", etag: `"` + h + `"`, immutable: true}
		}
		v.built.Store(set)
		return set, nil
	})
	log.DebugContext(ctx, "repodata built", "channel_id", key.channelID, "label", key.label, "subdir", key.subdir,
		"revision", e.rev, "records", len(records), "json_bytes", jsonLen, "zst_bytes", len(zst), "duration_ms", time.Since(start).Milliseconds())
	return v, nil
}

func jsonAndZstd(body []byte) ([2]*artefact, error) {
	zst, err := repodata.CompressZstd(body)
	if err != nil {
		return [2]*artefact{}, err
	}
	j := newArtefact(body, "application/json").compressible()
	return [2]*artefact{j, {body: zst, contentType: "application/zstd", etag: strings.TrimSuffix(j.etag, `"`) + `-zst"`}}, nil
}

// artefact returns what the subdir serves under file, or nil if it serves nothing there.
func (e *subdirView) artefact(file string) (*artefact, error) {
	pick := func(f func() ([2]*artefact, error), i int) (*artefact, error) {
		a, err := f()
		if err != nil {
			return nil, err
		}
		return a[i], nil
	}
	switch file {
	case "repodata.json":
		return e.json()
	case "repodata.json.zst":
		return e.zst, nil
	case "repodata.json.bz2":
		return e.bz2()
	case "current_repodata.json":
		return pick(e.current, 0)
	case "current_repodata.json.zst":
		return pick(e.current, 1)
	case "run_exports.json":
		return pick(e.runExp, 0)
	case "run_exports.json.zst":
		return pick(e.runExp, 1)
	case "repodata_shards.msgpack.zst":
		set, err := e.shards()
		if err != nil {
			return nil, err
		}
		return set.index, nil
	}
	if h, ok := strings.CutPrefix(file, "shards/"); ok {
		h, ok = strings.CutSuffix(h, ".msgpack.zst")
		if !ok {
			return nil, nil
		}
		set, err := e.shards()
		if err != nil {
			return nil, err
		}
		if a, ok := set.shards[h]; ok {
			return a, nil
		}
		if e.prevShards != nil {
			return e.prevShards.shards[h], nil
		}
	}
	return nil, nil
}

// channelIndex is every file of one label of a channel at one revision, for channeldata.json;
// like subdirs, readers get views of it by what they may see.
type channelIndex struct {
	rev      int64
	mod      time.Time
	keepIt   bool
	packages []repodata.PackageInfo
	private  map[string]bool

	mu    sync.Mutex
	views map[string]channelView
	sf    singleflight.Group
	times viewTimes
}

type channelView struct {
	a   *artefact
	mod time.Time
}

// channeldata returns what p sees of the channeldata.json of one label of ch, as of the
// label's revision rev or later.
func (c *indexCache) channeldata(ctx context.Context, ch store.Channel, rev int64, label string, p access.Principal) (*artefact, time.Time, error) {
	key := indexKey{channelID: ch.ID, label: label}
	e, err := c.chans.get(ctx, key, rev, func(ctx context.Context, old *channelIndex) (*channelIndex, error) {
		snap, err := c.store.ChannelSnapshot(ctx, key.channelID, label)
		if err != nil {
			return nil, err
		}
		e := &channelIndex{rev: snap.Revision, mod: snap.UpdatedAt, keepIt: label == "main" || len(snap.Packages) > 0,
			packages: snap.Packages, views: map[string]channelView{},
			private: privateAmong(snap.Private, len(snap.Packages), func(i int) string { return snap.Packages[i].Name })}
		if old != nil {
			e.times.inherit(&old.times)
		}
		return e, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	vis := visibilityFor(p, resourceOf(ch), e.private)
	e.mu.Lock()
	v, ok := e.views[vis.key]
	e.mu.Unlock()
	if ok {
		return v.a, v.mod, nil
	}
	r, _, _ := e.sf.Do(vis.key, func() (any, error) {
		pkgs := e.packages
		if vis.allow != nil {
			pkgs = make([]repodata.PackageInfo, 0, len(e.packages))
			for _, p := range e.packages {
				if vis.allow(p.Name) {
					pkgs = append(pkgs, p)
				}
			}
		}
		v := channelView{a: newArtefact(repodata.BuildChanneldata(pkgs, conda.CompareVersions), "application/json").compressible(), mod: e.mod}
		if vis.allow != nil {
			v.mod = e.times.mod(vis.key, v.a.etag, e.mod) // see viewTimes
		}
		e.mu.Lock()
		if len(e.views) < maxViews {
			e.views[vis.key] = v
		}
		e.mu.Unlock()
		return v, nil
	})
	v = r.(channelView)
	return v.a, v.mod, nil
}

// privateAmong is the set of the private packages (of the whole channel) that name(i), i < n,
// names: what an entry serves depends on these alone, so that a privacy change of a package
// it does not hold, which does not rebuild it, leaves it as it would be rebuilt.
func privateAmong(private []string, n int, name func(int) string) map[string]bool {
	out := map[string]bool{}
	if len(private) == 0 {
		return out
	}
	all := make(map[string]bool, len(private))
	for _, p := range private {
		all[p] = true
	}
	for i := range n {
		if nm := name(i); all[nm] {
			out[nm] = true
		}
	}
	return out
}

func (e *subdirIndex) revision() int64  { return e.rev }
func (e *channelIndex) revision() int64 { return e.rev }

// keep says whether an entry is worth caching. Empty entries of labels other than main are
// not: anyone may ask for any label name, and each would otherwise stay in memory for good.
func (e *subdirIndex) keep() bool { return e.key.label == "main" || len(e.records) > 0 }

func (e *channelIndex) keep() bool { return e.keepIt }

// revCache keeps one entry per key, each built from the store at some revision. A request
// that needs revision rev or later gets the cached entry if it is recent enough; otherwise one
// goroutine builds while the others wait for it, and requests that arrive during a build join
// the next one, so a burst of changes costs one or two rebuilds.
type revCache[T interface {
	revision() int64
	keep() bool
}] struct {
	mu sync.Mutex
	m  map[indexKey]T
	sf singleflight.Group
}

func (rc *revCache[T]) get(ctx context.Context, key indexKey, rev int64, build func(ctx context.Context, old T) (T, error)) (T, error) {
	var zero T
	for {
		rc.mu.Lock()
		e, ok := rc.m[key]
		rc.mu.Unlock()
		if ok && e.revision() >= rev {
			return e, nil
		}
		v, err, _ := rc.sf.Do(key.String(), func() (any, error) {
			// Detached from the first caller: its disconnect must not fail the others.
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			rc.mu.Lock()
			old := rc.m[key]
			rc.mu.Unlock()
			e, err := build(bctx, old)
			if err != nil {
				return nil, err
			}
			rc.mu.Lock()
			if rc.m == nil {
				rc.m = map[indexKey]T{}
			}
			if cur, ok := rc.m[key]; !ok || cur.revision() < e.revision() {
				if e.keep() {
					rc.m[key] = e
				} else {
					delete(rc.m, key)
				}
			}
			rc.mu.Unlock()
			return e, nil
		})
		if err != nil {
			return zero, err
		}
		// Revisions only grow, so a build that started before rev was read is the only way
		// to get an older one: go round once more and join a build that sees it.
		if e := v.(T); e.revision() >= rev {
			return e, nil
		}
	}
}

// IndexBuilds reports how many subdir indexes were read from the store and how many views
// of them (one per distinct set of visible packages) were built since the server started.
func (s *Server) IndexBuilds() (bases, views int64) {
	return s.index.baseBuilds.Load(), s.index.viewBuilds.Load()
}
