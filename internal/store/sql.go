package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/repodata"
)

// sqlStore implements Store on database/sql. w takes writes (on SQLite a single connection
// that begins IMMEDIATE transactions), r takes reads; on PostgreSQL both are the same pool.
type sqlStore struct {
	w, r *sql.DB
	d    dialect
	feed changeFeed
	// What was asked of the database, for Stats.
	statements, transactions atomic.Int64
}

var _ Store = (*sqlStore)(nil)

type dialect interface {
	rebind(q string) string
	isUnique(err error) bool
	readTx() *sql.TxOptions
	// lockTables is the statement that keeps other writers off tables until the transaction
	// ends, or "" where a write transaction does that already (SQLite's BEGIN IMMEDIATE).
	lockTables(tables string) string
	// forShare ends a SELECT in a write transaction that must keep what it read from
	// changing until the commit: row locks on PostgreSQL; SQLite has one writer at a time.
	forShare() string
}

type sqliteDialect struct{}

func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code()
		return c == 2067 || c == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}
func (sqliteDialect) readTx() *sql.TxOptions   { return &sql.TxOptions{ReadOnly: true} }
func (sqliteDialect) lockTables(string) string { return "" }
func (sqliteDialect) forShare() string         { return "" }

type postgresDialect struct{}

func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
func (postgresDialect) isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
func (postgresDialect) readTx() *sql.TxOptions {
	return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
}
func (postgresDialect) lockTables(tables string) string {
	return `LOCK TABLE ` + tables + ` IN SHARE ROW EXCLUSIVE MODE`
}
func (postgresDialect) forShare() string { return " FOR SHARE" }

func (s *sqlStore) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Stats counts what the store has asked of its database since it was opened.
func (s *sqlStore) Stats() Stats {
	st := Stats{Statements: s.statements.Load(), Transactions: s.transactions.Load()}
	for _, db := range []*sql.DB{s.w, s.r} {
		ds := db.Stats()
		st.OpenConnections += int64(ds.OpenConnections)
		st.Connections += int64(ds.OpenConnections) + ds.MaxIdleClosed + ds.MaxIdleTimeClosed + ds.MaxLifetimeClosed
		st.WaitCount += ds.WaitCount
		st.ClosedIdle += ds.MaxIdleClosed
		if s.r == s.w {
			break
		}
	}
	return st
}

func now() int64                    { return time.Now().UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *sqlStore) exec(ctx context.Context, db queryer, q string, args ...any) (sql.Result, error) {
	s.statements.Add(1)
	cctx, cancel := callContext(ctx)
	defer cancel()
	res, err := db.ExecContext(cctx, s.d.rebind(q), args...)
	return res, timedOut(ctx, cctx, err)
}

// row runs a query of one row, read by the Scan of what it returns.
func (s *sqlStore) row(ctx context.Context, db queryer, q string, args ...any) *row {
	s.statements.Add(1)
	cctx, cancel := callContext(ctx)
	return &row{Row: db.QueryRowContext(cctx, s.d.rebind(q), args...), ctx: ctx, cctx: cctx, cancel: cancel}
}

// row is a *sql.Row whose Scan ends the call's deadline (callContext), which must last until
// the row is read.
type row struct {
	*sql.Row
	ctx, cctx context.Context
	cancel    context.CancelFunc
}

func (r *row) Scan(dest ...any) error {
	defer r.cancel()
	return timedOut(r.ctx, r.cctx, r.Row.Scan(dest...))
}

// eachRow runs a query and calls fn on each row; it closes the rows and reports an error met
// while reading them, which a bare rows.Next loop would take for the end of the rows.
func (s *sqlStore) eachRow(ctx context.Context, db queryer, fn func(*sql.Rows) error, q string, args ...any) error {
	s.statements.Add(1)
	cctx, cancel := callContext(ctx)
	defer cancel()
	return timedOut(ctx, cctx, func() error {
		rows, err := db.QueryContext(cctx, s.d.rebind(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}())
}

// scanner is what *sql.Row and *sql.Rows offer: an alias, so that scanUser and the like,
// written against the interface, fit queryRows' scan.
type scanner = interface{ Scan(...any) error }

// queryRows runs a query and scans each row with scan; the slice is never nil.
func queryRows[T any](ctx context.Context, s *sqlStore, db queryer, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	out := []T{}
	err := s.eachRow(ctx, db, func(rows *sql.Rows) error {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, q, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanValue scans a row of one column.
func scanValue[T any](sc scanner) (T, error) {
	var v T
	err := sc.Scan(&v)
	return v, err
}

// updateRow sets the columns of set on the row of table with that id, in one statement, and
// reads the row back as cols; with nothing set it only reads it. A missing row is
// sql.ErrNoRows from the Scan.
func (s *sqlStore) updateRow(ctx context.Context, db queryer, table string, id int64, set *assignments, cols string) *row {
	if len(set.cols) == 0 {
		return s.row(ctx, db, `SELECT `+cols+` FROM `+table+` WHERE id = ?`, id)
	}
	return s.row(ctx, db, `UPDATE `+table+` SET `+strings.Join(set.cols, ", ")+` WHERE id = ? RETURNING `+cols, append(set.args, id)...)
}

// assignments are the "column = ?" of an UPDATE with their values, in order.
type assignments struct {
	cols []string
	args []any
}

func (a *assignments) set(col string, v any) {
	a.cols = append(a.cols, col+` = ?`)
	a.args = append(a.args, v)
}

// write runs fn in a write transaction. Under a call deadline (WithCallTimeout) the whole
// transaction, from waiting for a connection (SQLite's one writer) to its commit, is one call.
func (s *sqlStore) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.transactions.Add(1)
	cctx, cancel := callContext(ctx)
	defer cancel()
	tx, err := s.w.BeginTx(cctx, nil)
	if err != nil {
		return timedOut(ctx, cctx, fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		s.feed.done(tx, false)
		return timedOut(ctx, cctx, err)
	}
	if err := tx.Commit(); err != nil {
		s.feed.done(tx, false)
		return timedOut(ctx, cctx, fmt.Errorf("commit: %w", err))
	}
	s.feed.done(tx, true)
	return nil
}

// read runs fn in a read-only transaction that sees one snapshot; one call, as for write.
func (s *sqlStore) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.transactions.Add(1)
	cctx, cancel := callContext(ctx)
	defer cancel()
	tx, err := s.r.BeginTx(cctx, s.d.readTx())
	if err != nil {
		return timedOut(ctx, cctx, fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback()
	return timedOut(ctx, cctx, fn(tx))
}

// bump takes the channel's row lock (PostgreSQL) and moves its revision on; every write that
// changes what a channel serves calls it first, so writes to one channel are serialized. The
// write then moves the revisions of the indexes it touches to this one (touch, touchFiles,
// touchAll). A revision that a Wharf from before revisions per index moved (not the one the
// last bump left) becomes the floor: that change may have touched anything.
func (s *sqlStore) bump(ctx context.Context, tx *sql.Tx, channelID int64) error {
	res, err := s.exec(ctx, tx, `UPDATE channels SET
		index_floor = CASE WHEN revision = indexed_revision THEN index_floor ELSE revision END,
		index_floor_at = CASE WHEN revision = indexed_revision THEN index_floor_at ELSE updated_at END,
		revision = revision + 1, indexed_revision = revision + 1, updated_at = ? WHERE id = ?`, now(), channelID)
	if err != nil {
		return fmt.Errorf("bump revision: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{Kind: "channel", Name: strconv.FormatInt(channelID, 10)}
	}
	s.feed.changed(tx, channelID)
	return nil
}

// record adds an event to a history: table is events (key channel_id) or org_events (key
// org_id).
func (s *sqlStore) record(ctx context.Context, tx *sql.Tx, table, key string, id, actorID int64, action string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `INSERT INTO `+table+` (`+key+`, actor_id, action, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, nullID(actorID), action, string(b), now())
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}

// event records an event in a channel's history.
func (s *sqlStore) event(ctx context.Context, tx *sql.Tx, channelID, actorID int64, action string, detail any) error {
	return s.record(ctx, tx, "events", "channel_id", channelID, actorID, action, detail)
}

// history lists the newest events of one channel or org (table and key as for record),
// newest first; limit <= 0 means 100.
func (s *sqlStore) history(ctx context.Context, table, key string, id int64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 100
	}
	return queryRows(ctx, s, s.r, func(sc scanner) (Event, error) {
		var e Event
		var detail string
		var created int64
		err := sc.Scan(&e.ID, &e.Actor, &e.Action, &detail, &created)
		e.Detail, e.CreatedAt = json.RawMessage(detail), fromMicros(created)
		return e, err
	}, `SELECT e.id, COALESCE(u.name, ''), e.action, e.detail, e.created_at
		FROM `+table+` e LEFT JOIN users u ON u.id = e.actor_id WHERE e.`+key+` = ? ORDER BY e.id DESC LIMIT ?`, id, limit)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// ---- users

const userCols = `id, name, email, email_verified, password_hash, is_admin, disabled, created_at`

func scanUser(sc scanner) (User, error) {
	var u User
	var created int64
	err := sc.Scan(&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Admin, &u.Disabled, &created)
	u.CreatedAt = fromMicros(created)
	return u, err
}

func (s *sqlStore) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	var u User
	err := s.writeName(ctx, func(tx *sql.Tx) error {
		if err := s.nameFree(ctx, tx, nu.Name); err != nil {
			return err
		}
		var err error
		u, err = scanUser(s.row(ctx, tx, `INSERT INTO users (name, email, email_verified, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING `+userCols,
			nu.Name, nu.Email, nu.EmailVerified, nu.PasswordHash, nu.Admin, now()))
		if s.d.isUnique(err) {
			if _, e := s.userByEmail(ctx, tx, nu.Email); e == nil {
				return &ConflictError{Kind: "email", Name: nu.Email, Reason: "another account has this address"}
			}
			return &ConflictError{Kind: "user", Name: nu.Name, Reason: "the name is taken"}
		}
		if err != nil {
			return err
		}
		_, err = s.insertChannel(ctx, tx, NewChannel{Name: nu.Name, OwnerUserID: u.ID, ActorID: u.ID}, nil)
		return err
	})
	return u, err
}

// writeName is write for a transaction that creates a name. The unique index on name keys
// (migration 00011) is what makes two look-alikes created at once fail on PostgreSQL, where
// the check before the insert cannot see a transaction that has not committed: the loser
// runs once more, and its check then names the winner.
func (s *sqlStore) writeName(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.write(ctx, fn)
	if errors.Is(err, errNameRace) {
		err = s.write(ctx, fn)
	}
	if errors.Is(err, errNameRace) {
		var ce *ConflictError
		errors.As(err, &ce)
		return &ConflictError{Kind: ce.Kind, Name: ce.Name, Reason: "the name, or another spelling of it, is taken"}
	}
	return err
}

// errNameRace marks an insert refused by a unique index on names.
var errNameRace = errors.New("a name was taken at the same time")

// channelKey is the key of a channel name's last segment, the one its row keeps.
func channelKey(name string) string {
	return names.Key(name[strings.LastIndexByte(name, '/')+1:])
}

// nameFree checks that a new user or org name is not a user, an org or a channel already,
// in any spelling (names.Key). Every user and org has a channel of its name, made with it, so
// the top-level channels' keys cover users and orgs too.
func (s *sqlStore) nameFree(ctx context.Context, tx *sql.Tx, name string) error {
	var n int64
	err := s.row(ctx, tx, `SELECT (SELECT COUNT(*) FROM users WHERE name = ?) + (SELECT COUNT(*) FROM orgs WHERE name = ?) + (SELECT COUNT(*) FROM channels WHERE name = ?)`,
		name, name, name).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return &ConflictError{Kind: "name", Name: name, Reason: "a user, an organization or a channel has it"}
	}
	return s.noLookAlike(ctx, tx, "name", name, 0)
}

func (s *sqlStore) NameFree(ctx context.Context, name string) error {
	return s.read(ctx, func(tx *sql.Tx) error { return s.nameFree(ctx, tx, name) })
}

// noLookAlike refuses name when a channel among parentID's subchannels (0: the top-level
// channels, with the users and orgs) has another spelling of it, naming that one: the
// holder of the key, which every group of look-alikes has (DeleteChannel hands it on), and
// which the index on name keys finds without reading every channel.
func (s *sqlStore) noLookAlike(ctx context.Context, tx *sql.Tx, kind, name string, parentID int64) error {
	var other string
	var user, org bool
	err := s.row(ctx, tx, `SELECT c.name, EXISTS (SELECT 1 FROM users u WHERE u.name = c.name), EXISTS (SELECT 1 FROM orgs o WHERE o.name = c.name)
		FROM channels c WHERE COALESCE(c.parent_id, 0) = ? AND c.name_key = ? AND NOT c.name_shadowed`,
		parentID, channelKey(name)).Scan(&other, &user, &org)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	what := "the channel"
	switch {
	case parentID != 0:
		what = "the subchannel"
	case user:
		what = "the user"
	case org:
		what = "the organization"
	}
	return &ConflictError{Kind: kind, Name: name, Reason: fmt.Sprintf("it is the same name as %s %s (names that differ only in case, '-', '_' or '.', or by a separator at the end, are one name): choose another name", what, other)}
}

func (s *sqlStore) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.row(ctx, s.r, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) && !strings.Contains(name, "/") {
		// Another spelling: the account whose channel holds the name's key.
		u, err = scanUser(s.row(ctx, s.r, `SELECT `+userCols+` FROM users WHERE name = (`+topLevelHolder+`)`, names.Key(name)))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return u, &NotFoundError{Kind: "user", Name: name}
	}
	return u, err
}

// topLevelHolder selects the name of the top-level channel that holds a key: the one
// name a user, an org or a channel has in any spelling of it.
const topLevelHolder = `SELECT name FROM channels WHERE COALESCE(parent_id, 0) = 0 AND name_key = ? AND NOT name_shadowed`

func (s *sqlStore) UserByID(ctx context.Context, id int64) (User, error) {
	return s.userByID(ctx, s.r, id, "")
}

func (s *sqlStore) userByID(ctx context.Context, db queryer, id int64, lock string) (User, error) {
	u, err := scanUser(s.row(ctx, db, `SELECT `+userCols+` FROM users WHERE id = ?`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, &NotFoundError{Kind: "user", Name: strconv.FormatInt(id, 10)}
	}
	return u, err
}

// ---- channels

// selectChannel reads a channel with its parent's privacy, which a subchannel inherits, and
// whether its owner account has confirmed its address.
const selectChannel = `SELECT c.id, c.name, c.parent_id, c.owner_user_id, c.owner_org_id, c.private, c.revision, c.created_at, c.updated_at,
	COALESCE(p.private, FALSE), COALESCE(ou.email_verified, TRUE)
	FROM channels c LEFT JOIN channels p ON p.id = c.parent_id LEFT JOIN users ou ON ou.id = c.owner_user_id`

func scanChannel(sc scanner) (Channel, error) {
	var c Channel
	var parent, owner, org sql.NullInt64
	var created, updated int64
	var ownerConfirmed bool
	err := sc.Scan(&c.ID, &c.Name, &parent, &owner, &org, &c.Private, &c.Revision, &created, &updated, &c.ParentPrivate, &ownerConfirmed)
	c.OwnerUnconfirmed = !ownerConfirmed
	c.ParentID, c.OwnerUserID, c.OwnerOrgID = parent.Int64, owner.Int64, org.Int64
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, err
}

func (s *sqlStore) CreateChannel(ctx context.Context, nc NewChannel) (Channel, error) {
	var c Channel
	err := s.writeName(ctx, func(tx *sql.Tx) error {
		var parentID any
		if i := strings.IndexByte(nc.Name, '/'); i >= 0 {
			parent, err := scanChannel(s.row(ctx, tx, selectChannel+` WHERE c.name = ?`, nc.Name[:i]))
			if errors.Is(err, sql.ErrNoRows) {
				return &NotFoundError{Kind: "channel", Name: nc.Name[:i]}
			}
			if err != nil {
				return err
			}
			parentID = parent.ID
			if err := s.noLookAlike(ctx, tx, "channel", nc.Name, parent.ID); err != nil {
				return err
			}
		} else {
			// A top-level channel may not take the name of a user or org (whose own channel
			// has it, or will have it).
			var n int64
			if err := s.row(ctx, tx, `SELECT (SELECT COUNT(*) FROM users WHERE name = ?) + (SELECT COUNT(*) FROM orgs WHERE name = ?)`, nc.Name, nc.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return &ConflictError{Kind: "channel", Name: nc.Name, Reason: "the name is taken"}
			}
			if err := s.noLookAlike(ctx, tx, "channel", nc.Name, 0); err != nil {
				return err
			}
		}
		var err error
		c, err = s.insertChannel(ctx, tx, nc, parentID)
		return err
	})
	return c, err
}

func (s *sqlStore) insertChannel(ctx context.Context, tx *sql.Tx, nc NewChannel, parentID any) (Channel, error) {
	t := now()
	var id int64
	err := s.row(ctx, tx, `INSERT INTO channels (name, name_key, parent_id, owner_user_id, owner_org_id, private, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nc.Name, channelKey(nc.Name), parentID, nullID(nc.OwnerUserID), nullID(nc.OwnerOrgID), nc.Private, t, t).Scan(&id)
	if s.d.isUnique(err) {
		// The exact name or another spelling of it, committed since the check before the
		// insert: writeName runs the transaction again, and the check then says which.
		return Channel{}, fmt.Errorf("%w: %w", errNameRace, &ConflictError{Kind: "channel", Name: nc.Name, Reason: "the name is taken"})
	}
	if err != nil {
		return Channel{}, err
	}
	c, err := scanChannel(s.row(ctx, tx, selectChannel+` WHERE c.id = ?`, id))
	if err != nil {
		return Channel{}, err
	}
	return c, s.event(ctx, tx, c.ID, nc.ActorID, "channel.create", map[string]any{"name": nc.Name, "private": nc.Private})
}

// ChannelByName finds a channel by its name or, failing that, by another spelling of it
// (names.Key): the channel that holds the key, never one of the look-alikes made before the
// rule (name_shadowed), which answer only to their exact names.
func (s *sqlStore) ChannelByName(ctx context.Context, name string) (Channel, error) {
	c, err := s.channelNamed(ctx, s.r, name)
	if errors.Is(err, sql.ErrNoRows) {
		return c, &NotFoundError{Kind: "channel", Name: name}
	}
	return c, err
}

// channelNamed is ChannelByName with sql.ErrNoRows for a channel that is not there. A
// subchannel's parent is found the same way, then the child among the parent's subchannels.
func (s *sqlStore) channelNamed(ctx context.Context, db queryer, name string) (Channel, error) {
	c, err := scanChannel(s.row(ctx, db, selectChannel+` WHERE c.name = ?`, name))
	if !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	parentName, child, sub := strings.Cut(name, "/")
	if !sub {
		return scanChannel(s.row(ctx, db, selectChannel+` WHERE COALESCE(c.parent_id, 0) = 0 AND c.name_key = ? AND NOT c.name_shadowed`, names.Key(name)))
	}
	parent, err := s.channelNamed(ctx, db, parentName)
	if err != nil {
		return parent, err
	}
	if parent.ParentID != 0 || strings.Contains(child, "/") {
		return Channel{}, sql.ErrNoRows
	}
	if parent.Name != parentName {
		if c, err := scanChannel(s.row(ctx, db, selectChannel+` WHERE c.name = ?`, parent.Name+"/"+child)); !errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
	}
	// Spelt as the index on name keys is (migration 11), so that it answers.
	return scanChannel(s.row(ctx, db, selectChannel+` WHERE COALESCE(c.parent_id, 0) = ? AND c.name_key = ? AND NOT c.name_shadowed`, parent.ID, names.Key(child)))
}

func (s *sqlStore) ChannelByID(ctx context.Context, id int64) (Channel, error) {
	return s.channelByID(ctx, s.r, id)
}

func (s *sqlStore) channelByID(ctx context.Context, db queryer, id int64) (Channel, error) {
	c, err := scanChannel(s.row(ctx, db, selectChannel+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, &NotFoundError{Kind: "channel", Name: strconv.FormatInt(id, 10)}
	}
	return c, err
}

func (s *sqlStore) DeleteChannel(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var parent int64
		var key string
		err := s.row(ctx, tx, `SELECT COALESCE(parent_id, 0), name_key FROM channels WHERE id = ?`, id).Scan(&parent, &key)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "channel", Name: strconv.FormatInt(id, 10)}
		}
		if err != nil {
			return err
		}
		// Subchannels first: their rows name the parent.
		subs, err := queryRows(ctx, s, tx, scanValue[int64], `DELETE FROM channels WHERE parent_id = ? RETURNING id`, id)
		if err != nil {
			return err
		}
		for _, sub := range append(subs, id) {
			s.feed.changed(tx, sub)
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM channels WHERE id = ?`, id); err != nil {
			return err
		}
		// A look-alike from before the rule takes over the key it shared with this channel,
		// so that each key keeps a holder that other spellings find, and that the unique
		// index guards.
		_, err = s.exec(ctx, tx, `UPDATE channels SET name_shadowed = FALSE WHERE id = (
			SELECT MIN(id) FROM channels WHERE COALESCE(parent_id, 0) = ? AND name_key = ?)
			AND NOT EXISTS (SELECT 1 FROM channels h WHERE COALESCE(h.parent_id, 0) = ? AND h.name_key = ? AND NOT h.name_shadowed)`,
			parent, key, parent, key)
		return err
	})
}

// LookAlikes lists the names that share a key with another (names.Key), made before the rule
// that refuses them: each group the holder first (the name other spellings find), then the
// others by name.
func (s *sqlStore) LookAlikes(ctx context.Context) ([][]string, error) {
	var out [][]string
	err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
		var holder, other string
		if err := rows.Scan(&holder, &other); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1][0] != holder {
			out = append(out, []string{holder})
		}
		out[len(out)-1] = append(out[len(out)-1], other)
		return nil
	}, `SELECT h.name, o.name FROM channels o JOIN channels h
		ON COALESCE(h.parent_id, 0) = COALESCE(o.parent_id, 0) AND h.name_key = o.name_key AND NOT h.name_shadowed
		WHERE o.name_shadowed ORDER BY h.name, o.name`)
	return out, err
}

func (s *sqlStore) ListChannels(ctx context.Context) ([]Channel, error) {
	return queryRows(ctx, s, s.r, scanChannel, selectChannel+` ORDER BY c.name`)
}

// ---- files

const fileCols = `f.id, f.channel_id, p.kind, p.name, p.private, f.subdir, f.filename, f.sha256, f.md5, f.size, f.version, f.build, f.build_number, f.timestamp, f.uploader_id, f.created_at, f.yanked, f.yanked_reason`

// scanFile reads fileCols, then extra.
func scanFile(sc scanner, extra ...any) (File, error) {
	var f File
	var uploader sql.NullInt64
	var created int64
	err := sc.Scan(append([]any{&f.ID, &f.ChannelID, &f.Kind, &f.Package, &f.PackagePrivate, &f.Subdir, &f.Filename, &f.SHA256, &f.MD5, &f.Size,
		&f.Version, &f.Build, &f.BuildNumber, &f.Timestamp, &uploader, &created, &f.Yanked, &f.YankedReason}, extra...)...)
	f.UploaderID = uploader.Int64
	f.CreatedAt = fromMicros(created)
	return f, err
}

func (s *sqlStore) packageID(ctx context.Context, tx *sql.Tx, channelID int64, kind, name string) (int64, error) {
	// Privacy is per name: a wheel of a private conda package's name is private from its
	// first upload, as the owner was told.
	if _, err := s.exec(ctx, tx, `INSERT INTO packages (channel_id, kind, name, private, created_at)
		VALUES (?, ?, ?, EXISTS (SELECT 1 FROM packages WHERE channel_id = ? AND name = ? AND private), ?) ON CONFLICT (channel_id, kind, name) DO NOTHING`,
		channelID, kind, name, channelID, name, now()); err != nil {
		return 0, fmt.Errorf("add package: %w", err)
	}
	var id int64
	err := s.row(ctx, tx, `SELECT id FROM packages WHERE channel_id = ? AND kind = ? AND name = ?`, channelID, kind, name).Scan(&id)
	return id, err
}

func (s *sqlStore) setLabels(ctx context.Context, tx *sql.Tx, fileID int64, labels []string) error {
	for _, l := range labels {
		if _, err := s.exec(ctx, tx, `INSERT INTO file_labels (file_id, label) VALUES (?, ?) ON CONFLICT (file_id, label) DO NOTHING`, fileID, l); err != nil {
			return fmt.Errorf("add label: %w", err)
		}
	}
	return nil
}

func flagBits(f repodata.Flags) int64 {
	var b int64
	for i, v := range []bool{f.ActivateD, f.DeactivateD, f.PreLink, f.PostLink, f.PreUnlink, f.BinaryPrefix, f.TextPrefix} {
		if v {
			b |= 1 << i
		}
	}
	return b
}

func bitFlags(b int64) repodata.Flags {
	on := func(i int) bool { return b&(1<<i) != 0 }
	return repodata.Flags{ActivateD: on(0), DeactivateD: on(1), PreLink: on(2), PostLink: on(3), PreUnlink: on(4), BinaryPrefix: on(5), TextPrefix: on(6)}
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

func (s *sqlStore) AddFile(ctx context.Context, nf NewFile) (File, bool, error) {
	explicitLabels := len(nf.Labels) > 0
	if len(nf.Labels) == 0 {
		nf.Labels = []string{"main"}
	}
	// A Python distribution is stored under its canonical filename, one file per
	// distribution (dist_key) whatever the spelling it was uploaded under.
	dist, err := distNameOf(nf.Subdir, nf.Filename)
	if err != nil {
		return File{}, false, err
	}
	nf.Filename = dist.canonical
	ref := FileRef{Subdir: nf.Subdir, Filename: nf.Filename}
	var inserted bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := s.bump(ctx, tx, nf.ChannelID); err != nil {
			return err
		}
		if err := s.recheck(ctx, tx, nf); err != nil {
			return err
		}
		pkgID, err := s.packageID(ctx, tx, nf.ChannelID, nf.Kind, nf.Package)
		if err != nil {
			return err
		}
		if err := s.refuseRemoved(ctx, tx, nf.ChannelID, dist, nf.SHA256); err != nil {
			return err
		}
		if dist.key != nil {
			// The distribution is there under some spelling (a look-alike kept from before
			// the rule too): the answer is that file.
			if _, _, _, err := s.distHolder(ctx, tx, nf.ChannelID, dist.key, nf.SHA256); err == nil {
				return errExists
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		// ON CONFLICT without a target: the filename's index and the distribution's alike.
		var id int64
		err = s.row(ctx, tx, `INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, record_msgpack, run_exports, about, flags, uploader_id, created_at,
				core_metadata, core_metadata_sha256, requires_python, dist_key, recipe_source)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`,
			nf.ChannelID, pkgID, nf.Subdir, nf.Filename, nf.SHA256, nf.MD5, nf.Size, nf.Version, nf.Build, nf.BuildNumber, nf.Timestamp,
			[]byte(nf.Record), nullBytes(nf.RecordMsgpack), nullBytes(nf.RunExports), nullBytes(nf.About), flagBits(nf.Flags), nullID(nf.UploaderID), now(),
			nullBytes(nf.CoreMetadata), metadataSum(nf.CoreMetadata), nf.RequiresPython, dist.key, nullBytes(nf.RecipeSource)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errExists // roll back the revision bump: nothing changed
		}
		if err != nil {
			return fmt.Errorf("add file: %w", err)
		}
		if err := s.setLabels(ctx, tx, id, nf.Labels); err != nil {
			return err
		}
		if err := s.touch(ctx, tx, nf.ChannelID, nf.Subdir, nf.Labels...); err != nil {
			return err
		}
		inserted = true
		return s.event(ctx, tx, nf.ChannelID, nf.UploaderID, "file.upload",
			map[string]any{"file": ref.String(), "sha256": nf.SHA256, "size": nf.Size, "labels": nf.Labels})
	})
	if err != nil && !errors.Is(err, errExists) {
		return File{}, false, err
	}
	var stored File
	if !inserted && dist.key != nil {
		stored, err = s.fileBy(ctx, `f.channel_id = ? AND f.dist_key = ? ORDER BY `+sameBytesFirst("f."), nf.ChannelID, dist.key, nf.SHA256)
	} else {
		stored, err = s.File(ctx, nf.ChannelID, ref, "")
	}
	if err != nil {
		return File{}, false, err
	}
	if !inserted && stored.SHA256 != nf.SHA256 {
		return stored, false, fileConflict(nf.Subdir, dist.uploaded, stored.Filename)
	}
	ref = FileRef{Subdir: stored.Subdir, Filename: stored.Filename}
	if !inserted && explicitLabels {
		// The same bytes again with labels the file lacks: the uploader asked for those
		// labels, so they are added rather than silently dropped.
		var missing []string
		for _, l := range nf.Labels {
			if !slices.Contains(stored.Labels, l) && !slices.Contains(missing, l) {
				missing = append(missing, l)
			}
		}
		if len(missing) > 0 {
			err := s.write(ctx, func(tx *sql.Tx) error {
				if err := s.bump(ctx, tx, nf.ChannelID); err != nil {
					return err
				}
				if err := s.recheck(ctx, tx, nf); err != nil {
					return err
				}
				if err := s.setLabels(ctx, tx, stored.ID, missing); err != nil {
					return err
				}
				if err := s.touch(ctx, tx, nf.ChannelID, stored.Subdir, missing...); err != nil {
					return err
				}
				return s.event(ctx, tx, nf.ChannelID, nf.UploaderID, "file.label",
					map[string]any{"file": ref.String(), "added": missing})
			})
			if err != nil {
				return File{}, false, err
			}
			if stored, err = s.File(ctx, nf.ChannelID, ref, ""); err != nil {
				return File{}, false, err
			}
		}
	}
	return stored, inserted, nil
}

var errExists = errors.New("exists")

// File reads the file with its labels in one statement, a row per label: every download
// asks for it.
func (s *sqlStore) File(ctx context.Context, channelID int64, ref FileRef, label string) (File, error) {
	q := `SELECT ` + fileCols + `, l.label FROM files f JOIN packages p ON p.id = f.package_id LEFT JOIN file_labels l ON l.file_id = f.id
		WHERE f.channel_id = ? AND f.subdir = ? AND f.filename = ?`
	args := []any{channelID, ref.Subdir, ref.Filename}
	if label != "" {
		q += ` AND EXISTS (SELECT 1 FROM file_labels fl WHERE fl.file_id = f.id AND fl.label = ?)`
		args = append(args, label)
	}
	q += ` ORDER BY l.label`
	var f File
	found := false
	err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
		var l sql.NullString
		g, err := scanFile(rows, &l)
		if err != nil {
			return err
		}
		if !found {
			f, f.Labels, found = g, []string{}, true
		}
		if l.Valid {
			f.Labels = append(f.Labels, l.String)
		}
		return nil
	}, q, args...)
	if err != nil {
		return File{}, err
	}
	if !found {
		return File{}, &NotFoundError{Kind: "file", Name: ref.String()}
	}
	return f, nil
}

// fileBy reads the file a condition on files f (and packages p) picks, with its labels; it
// returns sql.ErrNoRows when there is none.
func (s *sqlStore) fileBy(ctx context.Context, where string, args ...any) (File, error) {
	f, err := scanFile(s.row(ctx, s.r, `SELECT `+fileCols+` FROM files f JOIN packages p ON p.id = f.package_id WHERE `+where, args...))
	if err != nil {
		return f, err
	}
	f.Labels, err = s.fileLabels(ctx, s.r, f.ID)
	return f, err
}

func (s *sqlStore) fileLabels(ctx context.Context, db queryer, fileID int64) ([]string, error) {
	return queryRows(ctx, s, db, scanValue[string], `SELECT label FROM file_labels WHERE file_id = ? ORDER BY label`, fileID)
}

func (s *sqlStore) ListFiles(ctx context.Context, channelID int64, label string) ([]File, error) {
	q := `SELECT ` + fileCols + `, l.label FROM files f JOIN packages p ON p.id = f.package_id JOIN file_labels l ON l.file_id = f.id WHERE f.channel_id = ?`
	args := []any{channelID}
	if label != "" {
		q += ` AND f.id IN (SELECT file_id FROM file_labels WHERE label = ?)`
		args = append(args, label)
	}
	q += ` ORDER BY f.subdir, f.filename, l.label`
	// A row per label: the labels of one file fold into the row before.
	out := []File{}
	if err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
		var l string
		f, err := scanFile(rows, &l)
		if err != nil {
			return err
		}
		if n := len(out); n > 0 && out[n-1].ID == f.ID {
			out[n-1].Labels = append(out[n-1].Labels, l)
			return nil
		}
		f.Labels = []string{l}
		out = append(out, f)
		return nil
	}, q, args...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *sqlStore) RemoveFile(ctx context.Context, channelID int64, ref FileRef, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.bump(ctx, tx, channelID); err != nil {
			return err
		}
		// Every label the file is served under, before it goes.
		if err := s.touchFiles(ctx, tx, false, `f.channel_id = ? AND f.subdir = ? AND f.filename = ?`, channelID, ref.Subdir, ref.Filename); err != nil {
			return err
		}
		var sha string
		var key sql.NullString
		err := s.row(ctx, tx, `DELETE FROM files WHERE channel_id = ? AND subdir = ? AND filename = ? RETURNING sha256, dist_key`, channelID, ref.Subdir, ref.Filename).Scan(&sha, &key)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "file", Name: ref.String()}
		}
		if err != nil {
			return fmt.Errorf("remove file: %w", err)
		}
		if ref.Subdir == PyPISubdir {
			if _, err := s.exec(ctx, tx, `INSERT INTO removed_files (channel_id, subdir, filename, sha256, removed_at, dist_key) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (channel_id, subdir, filename) DO NOTHING`, channelID, ref.Subdir, ref.Filename, sha, now(), key); err != nil {
				return err
			}
		}
		return s.event(ctx, tx, channelID, actorID, "file.remove", map[string]any{"file": ref.String(), "sha256": sha})
	})
}

func (s *sqlStore) CopyFiles(ctx context.Context, req CopyRequest) ([]File, error) {
	if len(req.ToLabels) == 0 {
		req.ToLabels = []string{"main"}
	}
	same := req.FromChannelID == req.ToChannelID
	if req.Move && same && req.FromLabel == "" {
		return nil, errors.New("a move inside one channel needs the label to move from")
	}
	var targets []int64 // the copies, which may be files the target held under another spelling
	err := s.write(ctx, func(tx *sql.Tx) error {
		// Lock both channels in id order so two opposite copies cannot deadlock.
		ids := []int64{req.FromChannelID, req.ToChannelID}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for i, id := range ids {
			if i == 1 && id == ids[0] {
				break
			}
			if err := s.bump(ctx, tx, id); err != nil {
				return err
			}
		}
		srcs, err := s.copySources(ctx, tx, req)
		if err != nil {
			return err
		}
		subdirs := map[string]bool{} // touched once each, after the files
		for _, src := range srcs {
			ref := FileRef{Subdir: src.subdir, Filename: src.filename}
			targetID := src.id
			if !same {
				targetID, err = s.copyRow(ctx, tx, src, req.ToChannelID)
				if err != nil {
					return err
				}
			}
			subdirs[src.subdir] = true
			if req.Move && req.FromLabel == "" {
				// What the move takes from the source: all it is served under.
				if err := s.touchFiles(ctx, tx, false, `f.id = ?`, src.id); err != nil {
					return err
				}
			}
			if err := s.setLabels(ctx, tx, targetID, req.ToLabels); err != nil {
				return err
			}
			if req.Move {
				if err := s.takeFrom(ctx, tx, src.id, req.FromLabel, same, req.ToLabels); err != nil {
					return err
				}
			}
			targets = append(targets, targetID)
			detail := map[string]any{"file": ref.String(), "from_label": req.FromLabel, "to_labels": req.ToLabels, "to_channel": req.ToChannelID, "from_channel": req.FromChannelID}
			action := "file.copy"
			if req.Move {
				action = "file.move"
			}
			if err := s.event(ctx, tx, req.FromChannelID, req.ActorID, action, detail); err != nil {
				return err
			}
			if !same {
				if err := s.event(ctx, tx, req.ToChannelID, req.ActorID, action, detail); err != nil {
					return err
				}
			}
		}
		for _, sd := range slices.Sorted(maps.Keys(subdirs)) {
			if err := s.touch(ctx, tx, req.ToChannelID, sd, req.ToLabels...); err != nil {
				return err
			}
			// A move from a label takes that label's files away.
			if req.Move && req.FromLabel != "" {
				if err := s.touch(ctx, tx, req.FromChannelID, sd, req.FromLabel); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]File, 0, len(targets))
	for _, id := range targets {
		f, err := s.fileBy(ctx, `f.id = ?`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &NotFoundError{Kind: "file", Name: strconv.FormatInt(id, 10)} // removed since
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

type srcFile struct {
	id               int64
	packageKind      string
	packageName      string
	subdir, filename string
	sha256           string
	distKey          sql.NullString
}

func (s *sqlStore) copySources(ctx context.Context, tx *sql.Tx, req CopyRequest) ([]srcFile, error) {
	base := `SELECT f.id, p.kind, p.name, f.subdir, f.filename, f.sha256, f.dist_key FROM files f JOIN packages p ON p.id = f.package_id WHERE f.channel_id = ?`
	labelCond := ` AND EXISTS (SELECT 1 FROM file_labels l WHERE l.file_id = f.id AND l.label = ?)`
	scan := func(sc scanner) (srcFile, error) {
		var f srcFile
		err := sc.Scan(&f.id, &f.packageKind, &f.packageName, &f.subdir, &f.filename, &f.sha256, &f.distKey)
		return f, err
	}
	if len(req.Files) == 0 {
		if req.FromLabel == "" {
			return nil, errors.New("name the files to copy, or the label whose files to copy")
		}
		return queryRows(ctx, s, tx, scan, base+labelCond+` ORDER BY f.subdir, f.filename`, req.FromChannelID, req.FromLabel)
	}
	var out []srcFile
	for _, ref := range req.Files {
		q, args := base+` AND f.subdir = ? AND f.filename = ?`, []any{req.FromChannelID, ref.Subdir, ref.Filename}
		if req.FromLabel != "" {
			q += labelCond
			args = append(args, req.FromLabel)
		}
		got, err := queryRows(ctx, s, tx, scan, q, args...)
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			name := ref.String()
			if req.FromLabel != "" {
				name += " (label " + req.FromLabel + ")"
			}
			return nil, &NotFoundError{Kind: "file", Name: name}
		}
		out = append(out, got...)
	}
	return out, nil
}

// copiedFileCols are the columns a copy of a file takes from its source: all but its channel,
// package, id and time.
const copiedFileCols = `subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, record_msgpack, run_exports, about, flags, uploader_id,
	core_metadata, core_metadata_sha256, requires_python, yanked, yanked_reason, dist_key, recipe_source`

// copyRow puts a copy of the file row src into channel to, or finds the same file already
// there; it refuses a same-named file with other content.
func (s *sqlStore) copyRow(ctx context.Context, tx *sql.Tx, src srcFile, to int64) (int64, error) {
	pkgID, err := s.packageID(ctx, tx, to, src.packageKind, src.packageName)
	if err != nil {
		return 0, err
	}
	// A private package stays private where it is copied to, unless the target already has
	// files of that package under its own setting.
	res, err := s.exec(ctx, tx, `UPDATE packages SET private = TRUE WHERE id = ?
		AND NOT private
		AND NOT EXISTS (SELECT 1 FROM files WHERE package_id = ?)
		AND EXISTS (SELECT 1 FROM files f JOIN packages sp ON sp.id = f.package_id WHERE f.id = ? AND sp.private)`, pkgID, pkgID, src.id)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		// Privacy is per name: the target's files of another kind under that name (a conda
		// package beside the wheel copied) are now private too, so their indexes change.
		if err := s.touchFiles(ctx, tx, false, `f.channel_id = ? AND p.name = ?`, to, src.packageName); err != nil {
			return 0, err
		}
	}
	dist := distName{uploaded: src.filename, canonical: src.filename}
	if src.distKey.Valid {
		dist.key = src.distKey.String
	}
	if err := s.refuseRemoved(ctx, tx, to, dist, src.sha256); err != nil {
		return 0, err
	}
	// The target's file of the same distribution, under any spelling, or of the same name.
	held := func() (int64, string, string, error) {
		if dist.key != nil {
			return s.distHolder(ctx, tx, to, dist.key, src.sha256)
		}
		var id int64
		var sha string
		err := s.row(ctx, tx, `SELECT id, sha256 FROM files WHERE channel_id = ? AND subdir = ? AND filename = ?`, to, src.subdir, src.filename).Scan(&id, &sha)
		return id, src.filename, sha, err
	}
	id, name, sha, err := held()
	if errors.Is(err, sql.ErrNoRows) {
		// The copy holds the distribution in the target (dist_dup 0), even if the source is a
		// look-alike kept from before the rule.
		err = s.row(ctx, tx, `INSERT INTO files (channel_id, package_id, created_at, dist_dup, `+copiedFileCols+`)
			SELECT ?, ?, ?, 0, `+copiedFileCols+` FROM files WHERE id = ?
			ON CONFLICT DO NOTHING RETURNING id`, to, pkgID, now(), src.id).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("copy file: %w", err)
		}
		id, name, sha, err = held()
	}
	if err != nil {
		return 0, err
	}
	if sha != src.sha256 {
		if dist.key != nil {
			return 0, fileConflict(src.subdir, src.filename, name)
		}
		return 0, &ConflictError{Kind: "file", Name: src.subdir + "/" + src.filename, Reason: "the target channel holds other content under that filename"}
	}
	return id, nil
}

// takeFrom removes what a move leaves behind: the source label, or the whole source file.
func (s *sqlStore) takeFrom(ctx context.Context, tx *sql.Tx, fileID int64, fromLabel string, same bool, toLabels []string) error {
	if fromLabel == "" {
		_, err := s.exec(ctx, tx, `DELETE FROM files WHERE id = ?`, fileID)
		return err
	}
	if same {
		for _, l := range toLabels {
			if l == fromLabel {
				return nil // moving onto itself
			}
		}
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM file_labels WHERE file_id = ? AND label = ?`, fileID, fromLabel); err != nil {
		return err
	}
	// A file with no label is served nowhere; drop it rather than keep an invisible row.
	_, err := s.exec(ctx, tx, `DELETE FROM files WHERE id = ? AND NOT EXISTS (SELECT 1 FROM file_labels WHERE file_id = ?)`, fileID, fileID)
	return err
}

func (s *sqlStore) Labels(ctx context.Context, channelID int64) ([]LabelCount, error) {
	return queryRows(ctx, s, s.r, func(sc scanner) (LabelCount, error) {
		var lc LabelCount
		err := sc.Scan(&lc.Label, &lc.Files)
		return lc, err
	}, `SELECT l.label, COUNT(*) FROM file_labels l JOIN files f ON f.id = l.file_id WHERE f.channel_id = ? GROUP BY l.label ORDER BY l.label`, channelID)
}

func (s *sqlStore) FilesWithoutRecipe(ctx context.Context, afterID int64, limit int) ([]UnreadRecipe, error) {
	return queryRows(ctx, s, s.r, func(sc scanner) (UnreadRecipe, error) {
		var f UnreadRecipe
		err := sc.Scan(&f.ID, &f.Subdir, &f.Filename, &f.SHA256, &f.Size)
		return f, err
	}, `SELECT f.id, f.subdir, f.filename, f.sha256, f.size FROM files f JOIN packages p ON p.id = f.package_id
		WHERE f.recipe_source IS NULL AND f.id > ? AND p.kind = 'conda' ORDER BY f.id LIMIT ?`, afterID, limit)
}

func (s *sqlStore) SetRecipeSources(ctx context.Context, sources map[int64]json.RawMessage) (int, error) {
	set := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		set = 0
		ids := slices.Sorted(maps.Keys(sources))
		// The channels first, as every write that changes what a channel serves takes them
		// (bump): taking a file's row and then its channel would deadlock, on PostgreSQL, with
		// a removal that holds the channel and waits for the file.
		changed := map[int64]bool{}
		for _, id := range ids {
			var channelID int64
			err := s.row(ctx, tx, `SELECT channel_id FROM files WHERE id = ? AND recipe_source IS NULL`, id).Scan(&channelID)
			if errors.Is(err, sql.ErrNoRows) {
				continue // gone, or set meanwhile (by another replica)
			}
			if err != nil {
				return fmt.Errorf("set recipe: %w", err)
			}
			changed[channelID] = true
		}
		for _, ch := range slices.Sorted(maps.Keys(changed)) {
			var nf *NotFoundError
			if err := s.bump(ctx, tx, ch); errors.As(err, &nf) {
				continue // removed meanwhile, with its files
			} else if err != nil {
				return err
			}
		}
		for _, id := range ids {
			res, err := s.exec(ctx, tx, `UPDATE files SET recipe_source = ? WHERE id = ? AND recipe_source IS NULL`, []byte(sources[id]), id)
			if err != nil {
				return fmt.Errorf("set recipe: %w", err)
			}
			n, _ := res.RowsAffected()
			if n == 0 {
				continue // gone, or set meanwhile: nothing served changed
			}
			set++
			// A recipe changes the channeldata.json of the file's labels, not their repodata.
			if err := s.touchFiles(ctx, tx, true, `f.id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	return set, err
}

func (s *sqlStore) BlobInUse(ctx context.Context, sha256 string) (bool, error) {
	var n int64
	err := s.row(ctx, s.r, `SELECT COUNT(*) FROM files WHERE sha256 = ?`, sha256).Scan(&n)
	return n > 0, err
}

func (s *sqlStore) Blobs(ctx context.Context, after string, limit int) ([]BlobRef, error) {
	out := []BlobRef{}
	err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
		var sha, channel, subdir, filename string
		var size int64
		if err := rows.Scan(&sha, &size, &channel, &subdir, &filename); err != nil {
			return err
		}
		// Files with one sha256 but different sizes (a damaged record) are told apart.
		if n := len(out); n == 0 || out[n-1].SHA256 != sha || out[n-1].Size != size {
			out = append(out, BlobRef{SHA256: sha, Size: size})
		}
		last := &out[len(out)-1]
		last.Files = append(last.Files, channel+"/"+subdir+"/"+filename)
		return nil
	}, `SELECT f.sha256, f.size, c.name, f.subdir, f.filename FROM files f JOIN channels c ON c.id = f.channel_id
		WHERE f.sha256 IN (SELECT DISTINCT sha256 FROM files WHERE sha256 > ? ORDER BY sha256 LIMIT ?)
		ORDER BY f.sha256, f.size`, after, limit)
	if err != nil {
		return nil, err
	}
	for i := range out {
		sort.Strings(out[i].Files)
	}
	return out, nil
}

// ---- index snapshots

func (s *sqlStore) channelState(ctx context.Context, tx *sql.Tx, channelID int64) (int64, time.Time, error) {
	var rev, updated int64
	err := s.row(ctx, tx, `SELECT revision, updated_at FROM channels WHERE id = ?`, channelID).Scan(&rev, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, &NotFoundError{Kind: "channel", Name: strconv.FormatInt(channelID, 10)}
	}
	return rev, fromMicros(updated), err
}

func (s *sqlStore) SubdirSnapshot(ctx context.Context, channelID int64, label, subdir string) (Snapshot, error) {
	var snap Snapshot
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if snap.Revision, snap.UpdatedAt, err = s.indexRevision(ctx, tx, channelID, label, subdir, false); err != nil {
			return err
		}
		if snap.Private, err = s.privatePackages(ctx, tx, channelID); err != nil {
			return err
		}
		snap.Records, err = queryRows(ctx, s, tx, func(sc scanner) (repodata.Record, error) {
			var r repodata.Record
			var rec, mp, rx []byte
			if err := sc.Scan(&r.Filename, &r.Name, &r.Version, &r.Build, &r.BuildNumber, &r.Timestamp, &rec, &mp, &rx); err != nil {
				return r, err
			}
			r.JSON, r.RunExports = rec, nilIfEmpty(rx)
			if len(mp) > 0 {
				r.Msgpack = mp
			}
			return r, nil
		}, `SELECT f.filename, p.name, f.version, f.build, f.build_number, f.timestamp, f.record, f.record_msgpack, f.run_exports
			FROM files f JOIN packages p ON p.id = f.package_id JOIN file_labels l ON l.file_id = f.id
			WHERE f.channel_id = ? AND f.subdir = ? AND l.label = ? ORDER BY f.filename`, channelID, subdir, label)
		return err
	})
	return snap, err
}

func nilIfEmpty(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (s *sqlStore) ChannelSnapshot(ctx context.Context, channelID int64, label string) (ChannelSnapshot, error) {
	var snap ChannelSnapshot
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if snap.Revision, snap.UpdatedAt, err = s.indexRevision(ctx, tx, channelID, label, "", true); err != nil {
			return err
		}
		if snap.Private, err = s.privatePackages(ctx, tx, channelID); err != nil {
			return err
		}
		snap.Packages, err = queryRows(ctx, s, tx, func(sc scanner) (repodata.PackageInfo, error) {
			var p repodata.PackageInfo
			var rec, rx, about, recipe []byte
			var flags int64
			err := sc.Scan(&p.Filename, &p.Name, &p.Version, &p.Build, &p.BuildNumber, &p.Timestamp, &rec, &rx, &p.Subdir, &about, &flags, &recipe)
			p.JSON, p.RunExports, p.About, p.Flags, p.RecipeSource = rec, nilIfEmpty(rx), nilIfEmpty(about), bitFlags(flags), nilIfEmpty(recipe)
			return p, err
		}, `SELECT f.filename, p.name, f.version, f.build, f.build_number, f.timestamp, f.record, f.run_exports, f.subdir, f.about, f.flags, f.recipe_source
			FROM files f JOIN packages p ON p.id = f.package_id JOIN file_labels l ON l.file_id = f.id
			WHERE f.channel_id = ? AND l.label = ? ORDER BY f.subdir, f.filename`, channelID, label)
		return err
	})
	return snap, err
}

// ---- history

func (s *sqlStore) Events(ctx context.Context, channelID int64, limit int) ([]Event, error) {
	evs, err := s.history(ctx, "events", "channel_id", channelID, limit)
	for i := range evs {
		evs[i].ChannelID = channelID
	}
	return evs, err
}
