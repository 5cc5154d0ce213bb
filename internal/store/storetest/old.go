package storetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/wharfhq/wharf/internal/store"
)

// OldDatabase is a database migrated only up to some version, as an older Wharf left it, for
// upgrade tests: fill it with Exec, then store.Open(DSN) migrates it the rest of the way.
type OldDatabase struct {
	Backend string // "sqlite" or "postgres"
	DB      *sql.DB
	DSN     string // for store.Open
}

// Open opens the store on the database, which migrates it the rest of the way, and closes it
// at the end of the test (Close before that is fine).
func (o OldDatabase) Open(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), o.DSN)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// OldBackend makes an OldDatabase at a version on one backend.
type OldBackend struct {
	Name string
	Make func(t testing.TB, version int64) OldDatabase
}

// OldBackends are SQLite and PostgreSQL, for upgrade tests to run on each in a subtest (the
// PostgreSQL one is skipped where PostgreSQL is not reachable: see Postgres).
var OldBackends = []OldBackend{{"sqlite", OldSQLite}, {"postgres", OldPostgres}}

// OldSQLite makes a SQLite OldDatabase at version, in a temporary directory.
func OldSQLite(t testing.TB, version int64) OldDatabase {
	t.Helper()
	p := filepath.Join(t.TempDir(), "old.db")
	// The busy timeout lets the test's own connection wait for store.Open's writer.
	return oldDatabase(t, "sqlite", "sqlite", goose.DialectSQLite3, "file:"+p+"?_pragma=busy_timeout(15000)", p, version)
}

// OldPostgres makes a PostgreSQL OldDatabase at version, in a database of its own.
func OldPostgres(t testing.TB, version int64) OldDatabase {
	t.Helper()
	dsn := Postgres(t)
	return oldDatabase(t, "postgres", "pgx", goose.DialectPostgres, dsn, dsn, version)
}

func oldDatabase(t testing.TB, backend, driver string, dialect goose.Dialect, driverDSN, storeDSN string, version int64) OldDatabase {
	t.Helper()
	db, err := sql.Open(driver, driverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(dialect, db, store.Migrations(backend == "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatalf("migrate a %s database up to %d: %v", backend, version, err)
	}
	return OldDatabase{Backend: backend, DB: db, DSN: storeDSN}
}

// Exec runs q, with '?' placeholders on either backend, and fails the test on an error.
func (o OldDatabase) Exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := o.DB.ExecContext(context.Background(), o.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// Rebind writes q's '?' placeholders as the backend's ($n on PostgreSQL).
func (o OldDatabase) Rebind(q string) string {
	if o.Backend != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
