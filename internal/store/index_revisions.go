package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IndexKey names what one index serves: a subdir of a label, or with Subdir "" the label's
// channeldata.json alone.
type IndexKey struct {
	Label  string
	Subdir string
}

// IndexRevision is the revision of the last change to what one index serves, and its time.
type IndexRevision struct {
	Revision  int64
	UpdatedAt time.Time
}

// IndexRevisions are the revisions of a channel's indexes, as one transaction saw them. Every
// change to what a channel serves moves the channel's revision and, in the same transaction,
// the revision of each (label, subdir) it touched to it: an index cached at a revision is up to
// date while its key's revision is not above that.
type IndexRevisions struct {
	Channel int64 // the channel's revision
	// Floor is the revision every key is at least at, with its time: the last change to all of
	// them (a privacy change of the channel, one made by a Wharf from before revisions per key).
	Floor IndexRevision
	Keys  map[IndexKey]IndexRevision
	// Labels is, per label, the highest revision of its keys: its channeldata.json's.
	Labels map[string]int64
}

// Subdir is the revision of one subdir of one label.
func (r *IndexRevisions) Subdir(label, subdir string) int64 {
	return max(r.Floor.Revision, r.Keys[IndexKey{label, subdir}].Revision)
}

// Label is the revision of one label's channeldata.json.
func (r *IndexRevisions) Label(label string) int64 {
	return max(r.Floor.Revision, r.Labels[label])
}

// floorCols reads a channel's floor (see IndexRevisions): a revision other than the one the
// last writer that knew of revisions per key left counts as a change to everything.
const floorCols = `c.revision, CASE WHEN c.revision = c.indexed_revision THEN c.index_floor ELSE c.revision END,
	CASE WHEN c.revision = c.indexed_revision THEN c.index_floor_at ELSE c.updated_at END`

func (s *sqlStore) IndexRevisions(ctx context.Context, channelID int64) (IndexRevisions, error) {
	r := IndexRevisions{Keys: map[IndexKey]IndexRevision{}, Labels: map[string]int64{}}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var floorAt int64
		err := s.row(ctx, tx, `SELECT `+floorCols+` FROM channels c WHERE c.id = ?`, channelID).Scan(&r.Channel, &r.Floor.Revision, &floorAt)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "channel", Name: strconv.FormatInt(channelID, 10)}
		}
		if err != nil {
			return err
		}
		r.Floor.UpdatedAt = fromMicros(floorAt)
		return s.eachRow(ctx, tx, func(rows *sql.Rows) error {
			var k IndexKey
			var rev, at int64
			if err := rows.Scan(&k.Label, &k.Subdir, &rev, &at); err != nil {
				return err
			}
			r.Keys[k] = IndexRevision{Revision: rev, UpdatedAt: fromMicros(at)}
			r.Labels[k.Label] = max(r.Labels[k.Label], rev)
			return nil
		}, `SELECT label, subdir, revision, updated_at FROM index_revisions WHERE channel_id = ?`, channelID)
	})
	return r, err
}

func (s *sqlStore) ChannelRevisions(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
			var id, rev int64
			if err := rows.Scan(&id, &rev); err != nil {
				return err
			}
			out[id] = rev
			return nil
		}, `SELECT id, revision FROM channels WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// indexRevision reads, in a snapshot's transaction and one statement, the revision of one key
// (with wholeLabel, subdir "": the highest of the label's keys, its channeldata's).
func (s *sqlStore) indexRevision(ctx context.Context, tx *sql.Tx, channelID int64, label, subdir string, wholeLabel bool) (int64, time.Time, error) {
	key, args := `r.subdir = ?`, []any{label, subdir, channelID}
	if wholeLabel {
		key, args = `TRUE`, []any{label, channelID}
	}
	var chRev, floor, floorAt int64
	var rev, at sql.NullInt64
	err := s.row(ctx, tx, `SELECT `+floorCols+`, r.revision, r.updated_at
		FROM channels c LEFT JOIN index_revisions r ON r.channel_id = c.id AND r.label = ? AND `+key+`
		WHERE c.id = ? ORDER BY r.revision DESC LIMIT 1`, args...).Scan(&chRev, &floor, &floorAt, &rev, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, &NotFoundError{Kind: "channel", Name: strconv.FormatInt(channelID, 10)}
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	if rev.Int64 > floor {
		return rev.Int64, fromMicros(at.Int64), nil
	}
	return floor, fromMicros(floorAt), nil
}

// touch sets the revisions of (channelID, label, subdir) for each label to the channel's, which
// bump moved on in the same transaction: one statement, whatever the number of labels.
func (s *sqlStore) touch(ctx context.Context, tx *sql.Tx, channelID int64, subdir string, labels ...string) error {
	// A label twice would make PostgreSQL's ON CONFLICT update one row twice, which it refuses.
	labels = slices.Compact(slices.Sorted(slices.Values(labels)))
	if len(labels) == 0 {
		return nil
	}
	args := make([]any, 0, len(labels)+2)
	args = append(args, subdir)
	for _, l := range labels {
		args = append(args, l)
	}
	args = append(args, channelID)
	_, err := s.exec(ctx, tx, `INSERT INTO index_revisions (channel_id, label, subdir, revision, updated_at)
		SELECT c.id, l.column1, ?, c.revision, c.updated_at FROM channels c CROSS JOIN (VALUES (?)`+strings.Repeat(", (?)", len(labels)-1)+`) AS l
		WHERE c.id = ?
		ON CONFLICT (channel_id, label, subdir) DO UPDATE SET revision = excluded.revision, updated_at = excluded.updated_at`, args...)
	return err
}

// touchFiles is touch for every (label, subdir) that the files f picked by cond (on files f and
// packages p) are served under, as they are now; channeldata names the label's
// channeldata.json alone (subdir "").
func (s *sqlStore) touchFiles(ctx context.Context, tx *sql.Tx, channeldata bool, cond string, args ...any) error {
	subdir := "f.subdir"
	if channeldata {
		subdir = "''"
	}
	_, err := s.exec(ctx, tx, `INSERT INTO index_revisions (channel_id, label, subdir, revision, updated_at)
		SELECT DISTINCT f.channel_id, l.label, `+subdir+`, c.revision, c.updated_at
		FROM files f JOIN packages p ON p.id = f.package_id JOIN file_labels l ON l.file_id = f.id JOIN channels c ON c.id = f.channel_id
		WHERE `+cond+`
		ON CONFLICT (channel_id, label, subdir) DO UPDATE SET revision = excluded.revision, updated_at = excluded.updated_at`, args...)
	return err
}

// touchAll raises the floor of the channel's revisions to its own: a change to every index.
func (s *sqlStore) touchAll(ctx context.Context, tx *sql.Tx, channelID int64) error {
	_, err := s.exec(ctx, tx, `UPDATE channels SET index_floor = revision, index_floor_at = updated_at WHERE id = ?`, channelID)
	return err
}

// changeFeed tells the watchers of a store (WatchChanges) which channels each committed
// transaction changed.
type changeFeed struct {
	mu       sync.Mutex
	pending  map[*sql.Tx][]int64
	watchers map[int]func([]int64)
	next     int
}

// changed notes that tx changes what channelID serves.
func (f *changeFeed) changed(tx *sql.Tx, channelID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		f.pending = map[*sql.Tx][]int64{}
	}
	f.pending[tx] = append(f.pending[tx], channelID)
}

// done ends tx: if it committed, its watchers learn what it changed.
func (f *changeFeed) done(tx *sql.Tx, committed bool) {
	f.mu.Lock()
	ids, ok := f.pending[tx]
	delete(f.pending, tx)
	var fns []func([]int64)
	if ok && committed {
		for _, fn := range f.watchers {
			fns = append(fns, fn)
		}
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(ids)
	}
}

func (s *sqlStore) WatchChanges(fn func(channelIDs []int64)) (stop func()) {
	f := &s.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watchers == nil {
		f.watchers = map[int]func([]int64){}
	}
	id := f.next
	f.next++
	f.watchers[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.watchers, id)
	}
}
