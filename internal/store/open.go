package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers "sqlite"
)

//go:embed migrations
var migrations embed.FS

// Open opens the store named by dsn and applies pending migrations. A dsn starting with
// postgres:// or postgresql:// is PostgreSQL; anything else is a SQLite file path (or
// sqlite:PATH).
func Open(ctx context.Context, dsn string) (Store, error) {
	return open(ctx, dsn, true)
}

// OpenExisting opens the store named by dsn as it is, for tools that change nothing (wharf
// admin fsck): no migration is applied, and no file or directory made. A database without a
// Wharf store is ErrNoStore; one whose schema is not this version's, a *SchemaError.
func OpenExisting(ctx context.Context, dsn string) (Store, error) {
	return open(ctx, dsn, false)
}

func open(ctx context.Context, dsn string, migrate bool) (Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn, migrate)
	}
	return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), migrate)
}

// ErrNoStore says a database holds no Wharf store: no migration was ever applied to it.
var ErrNoStore = errors.New("the database holds no Wharf store")

// SchemaError says a database's schema is not the one this version of Wharf reads: older
// (it needs the migrations Open applies) or newer (a later version migrated it).
type SchemaError struct {
	Version, Want int64  // the database's schema version, and this version's
	What          string // what else is left to do, when the versions are equal
}

func (e *SchemaError) Error() string {
	if e.Version > e.Want {
		return fmt.Sprintf("the database was migrated by a newer version of Wharf (schema version %d; this one reads %d)", e.Version, e.Want)
	}
	msg := fmt.Sprintf("the database needs migrating (schema version %d; this version of Wharf reads %d)", e.Version, e.Want)
	if e.What != "" {
		msg += ": " + e.What
	}
	return msg
}

// NeedsMigration reports whether the database is older than this version of Wharf.
func (e *SchemaError) NeedsMigration() bool { return e.Version <= e.Want }

func openSQLite(ctx context.Context, path string, migrate bool) (Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "" && migrate {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	q := url.Values{}
	if !migrate {
		q.Set("mode", "rw") // not rwc: a file that is not there is an error, not made
	}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_time_format", "sqlite")
	// One writer connection with BEGIN IMMEDIATE: writers queue in Go instead of failing
	// with SQLITE_BUSY, and a second process (the admin CLI) waits on busy_timeout.
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	// Every connection the pool may open it keeps: database/sql keeps 2 idle by default, so
	// under more concurrent readers than that each request would open (and set up) its own.
	r.SetMaxIdleConns(sqliteReaders)
	s := &sqlStore{w: w, r: r, d: sqliteDialect{}}
	if !migrate {
		if err := s.checkSchema(ctx, goose.DialectSQLite3, "migrations/sqlite"); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	if err := s.migrate(ctx, goose.DialectSQLite3, "migrations/sqlite"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// The pools' sizes: SQLite's readers (its writer is one connection) and PostgreSQL's one pool.
const (
	sqliteReaders = 8
	postgresConns = 32
)

// connectTimeout is how long connecting to PostgreSQL may take, in seconds, when neither the
// DSN nor PGCONNECT_TIMEOUT says: with none (pgx's default), a host that accepts connections
// and never answers holds an attempt to connect for ever (the server's start, its background
// work; a request's store calls have their own deadline, WithCallTimeout).
const connectTimeout = "10"

// withConnectTimeout is dsn with connect_timeout=connectTimeout added, unless it names one.
func withConnectTimeout(dsn string) string {
	if os.Getenv("PGCONNECT_TIMEOUT") != "" {
		return dsn
	}
	base, query, found := strings.Cut(dsn, "?")
	if !found {
		return base + "?connect_timeout=" + connectTimeout
	}
	if q, err := url.ParseQuery(query); err != nil || q.Has("connect_timeout") {
		return dsn // pgx says what is wrong with a query it cannot read
	}
	return dsn + "&connect_timeout=" + connectTimeout
}

func openPostgres(ctx context.Context, dsn string, migrate bool) (Store, error) {
	db, err := sql.Open("pgx", withConnectTimeout(dsn))
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// Idle connections are kept up to the pool's size: with database/sql's default of 2, each
	// request beyond the second at once dialled PostgreSQL (a new backend process, its
	// authentication) and closed the connection after (590 new sessions in 5 s at 32
	// clients). Idle ones are let go after a while, so a quiet replica holds no sessions, and
	// every one is renewed now and then (a server-side memory that grows per session, a
	// PgBouncer or load balancer that moved).
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &sqlStore{w: db, r: db, d: postgresDialect{}}
	if !migrate {
		if err := s.checkSchema(ctx, goose.DialectPostgres, "migrations/postgres"); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	// Replicas starting together take turns at the migrations.
	// The replicas waiting look again each second (goose's default is every 5 s), for up to
	// 15 minutes (default 5): a large database's migration may take that long.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 900))
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx, goose.DialectPostgres, "migrations/postgres", goose.WithSessionLocker(locker)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *sqlStore) migrate(ctx context.Context, dialect goose.Dialect, dir string, opts ...goose.ProviderOption) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.w, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Goose takes no lock on SQLite: two processes opening one database at once (wharf
	// serve, and wharf admin beside it) may both start a migration, and the second then fails
	// on what the first made ("duplicate column name"). Each failure after which the version
	// has moved on is such a race: go on from the version the other reached. An error at a
	// version that does not move is the migration's own.
	for {
		before, err := p.GetDBVersion(ctx)
		if err != nil {
			before = -1 // no version table yet
		}
		_, err = p.Up(ctx)
		if err == nil {
			break
		}
		if after, verr := p.GetDBVersion(ctx); verr != nil || after == before {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	// What the SQL of migration 10 cannot compute: the keys of Python files stored before it.
	return s.fillDistKeys(ctx)
}

// checkSchema is migrate's check alone: nil when the database is at this version's schema,
// with nothing left for migrate to do; it changes nothing (goose would make its version
// table in a database without one, so that is looked for first).
func (s *sqlStore) checkSchema(ctx context.Context, dialect goose.Dialect, dir string) error {
	q := `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version')`
	if dialect == goose.DialectPostgres {
		q = `SELECT to_regclass('goose_db_version') IS NOT NULL`
	}
	var found bool
	if err := s.row(ctx, s.r, q).Scan(&found); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if !found {
		return ErrNoStore
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.r, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if current != target {
		return &SchemaError{Version: current, Want: target}
	}
	if pending, err := p.HasPending(ctx); err != nil || pending {
		if err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		return &SchemaError{Version: current, Want: target, What: "migrations below its version were never applied"}
	}
	if pending, err := s.distKeysPending(ctx); err != nil || pending {
		if err != nil {
			return err
		}
		return &SchemaError{Version: current, Want: target, What: "Python files stored before schema version 10 lack their distribution keys"}
	}
	return nil
}

// Migrations is the schema's migrations for PostgreSQL or SQLite, for tools and upgrade tests.
func Migrations(postgres bool) fs.FS {
	dir := "migrations/sqlite"
	if postgres {
		dir = "migrations/postgres"
	}
	sub, _ := fs.Sub(migrations, dir)
	return sub
}
