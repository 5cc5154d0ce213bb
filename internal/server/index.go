package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// indexCache holds what each (channel, label, subdir) serves, built once per channel revision.
// A request costs one revision look-up, done already when the channel was resolved.
type indexCache struct {
	store store.Store
	log   *slog.Logger

	subdirs revCache[*subdirIndex]
	chans   revCache[*channelIndex]
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
}

func newArtefact(body []byte, contentType string) *artefact {
	sum := sha256.Sum256(body)
	return &artefact{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// subdirIndex is one subdir of one label at one revision. repodata.json.zst is built eagerly
// (the form conda, mamba and pixi fetch); the rest on first request.
type subdirIndex struct {
	key     indexKey
	rev     int64
	mod     time.Time
	records []repodata.Record

	zst       *artefact
	json, bz2 func() (*artefact, error)
	current   func() ([2]*artefact, error)
	runExp    func() ([2]*artefact, error)
	shards    func() (*shardSet, error)
	// built is shards once built; prevShards is what the revision before served, kept so a
	// client holding the previous shard index can still fetch the shards it names.
	built      atomic.Pointer[shardSet]
	prevShards *shardSet
}

type shardSet struct {
	index  *artefact
	shards map[string]*artefact
}

func (c *indexCache) subdir(ctx context.Context, ch store.Channel, label, subdir string) (*subdirIndex, error) {
	key := indexKey{ch.ID, label, subdir}
	return c.subdirs.get(ctx, key, ch.Revision, func(ctx context.Context, old *subdirIndex) (*subdirIndex, error) {
		return c.buildSubdir(ctx, key, old)
	})
}

func (c *indexCache) buildSubdir(ctx context.Context, key indexKey, old *subdirIndex) (*subdirIndex, error) {
	start := time.Now()
	snap, err := c.store.SubdirSnapshot(ctx, key.channelID, key.label, key.subdir)
	if err != nil {
		return nil, err
	}
	zst, sum, jsonLen, err := repodata.BuildRepodataZstd(key.subdir, snap.Records)
	if err != nil {
		return nil, err
	}
	e := &subdirIndex{key: key, rev: snap.Revision, mod: snap.UpdatedAt, records: snap.Records}
	if old != nil {
		e.prevShards = old.built.Load()
	}
	etag := hex.EncodeToString(sum[:16])
	e.zst = &artefact{body: zst, contentType: "application/zstd", etag: `"` + etag + `-zst"`}
	// Most clients take the .zst or the shards; the plain JSON, as large as the channel, is
	// built when first asked for.
	e.json = sync.OnceValues(func() (*artefact, error) {
		return &artefact{body: repodata.BuildRepodata(key.subdir, e.records), contentType: "application/json", etag: `"` + etag + `"`}, nil
	})
	e.bz2 = sync.OnceValues(func() (*artefact, error) {
		j, err := e.json()
		if err != nil {
			return nil, err
		}
		b, err := repodata.CompressBzip2(j.body)
		if err != nil {
			return nil, err
		}
		return &artefact{body: b, contentType: "application/x-bzip2", etag: `"` + etag + `-bz2"`}, nil
	})
	e.current = sync.OnceValues(func() ([2]*artefact, error) {
		return jsonAndZstd(repodata.BuildCurrentRepodata(key.subdir, e.records, conda.CompareVersions))
	})
	e.runExp = sync.OnceValues(func() ([2]*artefact, error) {
		return jsonAndZstd(repodata.BuildRunExports(key.subdir, e.records))
	})
	e.shards = sync.OnceValues(func() (*shardSet, error) {
		idx, shards, err := repodata.BuildShards(key.subdir, e.records, e.mod)
		if err != nil {
			return nil, err
		}
		set := &shardSet{index: newArtefact(idx, "application/zstd"), shards: make(map[string]*artefact, len(shards))}
		for h, b := range shards {
			set.shards[h] = &artefact{body: b, contentType: "application/zstd", etag: `"` + h + `"`, immutable: true}
		}
		e.built.Store(set)
		return set, nil
	})

	c.log.DebugContext(ctx, "repodata built", "channel_id", key.channelID, "label", key.label, "subdir", key.subdir,
		"revision", snap.Revision, "records", len(snap.Records), "json_bytes", jsonLen, "zst_bytes", len(zst), "duration_ms", time.Since(start).Milliseconds())
	return e, nil
}

func jsonAndZstd(body []byte) ([2]*artefact, error) {
	zst, err := repodata.CompressZstd(body)
	if err != nil {
		return [2]*artefact{}, err
	}
	j := newArtefact(body, "application/json")
	return [2]*artefact{j, {body: zst, contentType: "application/zstd", etag: strings.TrimSuffix(j.etag, `"`) + `-zst"`}}, nil
}

// artefact returns what the subdir serves under file, or nil if it serves nothing there.
func (e *subdirIndex) artefact(file string) (*artefact, error) {
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

// channelIndex is channeldata.json of one label of a channel at one revision.
type channelIndex struct {
	rev    int64
	mod    time.Time
	keepIt bool
	*artefact
}

func (c *indexCache) channeldata(ctx context.Context, ch store.Channel, label string) (*channelIndex, error) {
	key := indexKey{channelID: ch.ID, label: label}
	return c.chans.get(ctx, key, ch.Revision, func(ctx context.Context, _ *channelIndex) (*channelIndex, error) {
		snap, err := c.store.ChannelSnapshot(ctx, key.channelID, label)
		if err != nil {
			return nil, err
		}
		return &channelIndex{rev: snap.Revision, mod: snap.UpdatedAt, keepIt: label == "main" || len(snap.Packages) > 0,
			artefact: newArtefact(repodata.BuildChanneldata(snap.Packages, conda.CompareVersions), "application/json")}, nil
	})
}

func (e *subdirIndex) revision() int64  { return e.rev }
func (e *channelIndex) revision() int64 { return e.rev }

// keep says whether an entry is worth caching. Empty entries of labels other than main are
// not: anyone may ask for any label name, and each would otherwise stay in memory for good.
func (e *subdirIndex) keep() bool  { return e.key.label == "main" || len(e.records) > 0 }
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
