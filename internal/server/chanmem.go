package server

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// channelMemory keeps the channels that conda and PyPI readers ask for, with the revisions
// of their indexes, so that a read of a cached index asks the database nothing.
//
// It follows the rule of the identity cache. A change made through this process's store
// reaches it before the store call that made it returns (store.WatchChanges): the channel is
// forgotten. A change made elsewhere (another replica, wharf admin) is found by the poll of
// the channels kept, every second (pollChannels): one whose revision moved, or that is gone,
// is forgotten. And an entry is served only while the last look at the database that found
// it current (its load, or a poll) started less than staleAfter ago; past that (the poll
// failed, or is late) the channel is read again. So every request that starts more than
// staleAfter after a change was committed, anywhere, sees it.
type channelMemory struct {
	st         store.Store
	staleAfter time.Duration

	mu    sync.Mutex
	names map[string]*knownChannel // by the channel's own name
	// gen moves with every forget; forgotAt is the gen of each channel's last one (emptied
	// when large: a load that started before clearedAt is not kept).
	gen       uint64
	forgotAt  map[int64]uint64
	clearedAt uint64
}

type knownChannel struct {
	ch   store.Channel
	revs store.IndexRevisions
	// checked is when the last look at the database that found the entry current started,
	// in Unix nanoseconds.
	checked atomic.Int64
}

// channelStaleAfter bounds how long a change made elsewhere can go unseen: the poll runs
// every second, so one missed poll is allowed for.
const channelStaleAfter = 2 * time.Second

// maxKnownChannels bounds the channels kept (one entry each, under its own name); past it
// they are all dropped.
const maxKnownChannels = 10_000

func newChannelMemory(st store.Store, staleAfter time.Duration) *channelMemory {
	return &channelMemory{st: st, staleAfter: staleAfter, names: map[string]*knownChannel{}, forgotAt: map[int64]uint64{}}
}

// lookup returns the channel name names, as load finds it, with its index revisions: from
// memory while that is current, else from the store.
func (m *channelMemory) lookup(ctx context.Context, name string, load func(context.Context, string) (store.Channel, error)) (*knownChannel, error) {
	start := time.Now()
	m.mu.Lock()
	k := m.names[name]
	gen := m.gen
	m.mu.Unlock()
	if k != nil && start.Sub(time.Unix(0, k.checked.Load())) < m.staleAfter {
		return k, nil
	}
	ch, err := load(ctx, name)
	if err != nil {
		return nil, err
	}
	revs, err := m.st.IndexRevisions(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	k = &knownChannel{ch: ch, revs: revs}
	k.checked.Store(start.UnixNano())
	// Kept only if no change was heard of since the load began, and if the channel and its
	// revisions are of one revision (a change between the two reads: served once, not kept).
	m.mu.Lock()
	// Only the channel's own spelling is kept: a look-alike spelling (case, separators) is
	// read from the store each time, so that made-up spellings of one channel cannot fill
	// the memory with copies of its revisions.
	if ch.Name == name && m.forgotAt[ch.ID] <= gen && m.clearedAt <= gen && revs.Channel == ch.Revision {
		if len(m.names) >= maxKnownChannels {
			clear(m.names)
		}
		m.names[name] = k
	}
	m.mu.Unlock()
	return k, nil
}

// forget drops what is kept of these channels: a change to them was committed.
func (m *channelMemory) forget(ids []int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	if len(m.forgotAt) >= maxKnownChannels {
		clear(m.forgotAt)
		m.clearedAt = m.gen
	}
	for _, id := range ids {
		m.forgotAt[id] = m.gen
	}
	for n, k := range m.names {
		if slices.Contains(ids, k.ch.ID) {
			delete(m.names, n)
		}
	}
}

// poll asks the store for the revisions of the channels kept: those that moved, or are gone,
// are forgotten; the others are current as of the poll's start.
func (m *channelMemory) poll(ctx context.Context) error {
	start := time.Now()
	m.mu.Lock()
	kept := make([]*knownChannel, 0, len(m.names))
	seen := make(map[int64]bool, len(m.names))
	ids := make([]int64, 0, len(m.names))
	for _, k := range m.names {
		kept = append(kept, k)
		if !seen[k.ch.ID] {
			seen[k.ch.ID] = true
			ids = append(ids, k.ch.ID)
		}
	}
	m.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	revs, err := m.st.ChannelRevisions(ctx, ids)
	if err != nil {
		return err
	}
	var moved []int64
	for _, k := range kept {
		if rev, ok := revs[k.ch.ID]; !ok || rev != k.ch.Revision {
			moved = append(moved, k.ch.ID)
			continue
		}
		for {
			old := k.checked.Load()
			if old >= start.UnixNano() || k.checked.CompareAndSwap(old, start.UnixNano()) {
				break
			}
		}
	}
	if len(moved) > 0 {
		m.forget(moved)
	}
	return nil
}
