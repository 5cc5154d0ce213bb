package fault_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/wharfhq/wharf/internal/fault"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

func want(t *testing.T, what string, err error, k fault.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if got := fault.Of(err); got != k {
		t.Errorf("%s: Of(%v) = %v, want %v", what, err, got, k)
	}
	// Wrapped the way the store and blob packages wrap, it is the same.
	if got := fault.Of(fmt.Errorf("put sha256/ab/cd/x: %w", err)); got != k {
		t.Errorf("%s, wrapped: %v, want %v", what, got, k)
	}
}

// closedPort is a local TCP port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestNetworkFailuresAreUnavailable(t *testing.T) {
	_, err := net.DialTimeout("tcp", closedPort(t), time.Second)
	want(t, "connection refused", err, fault.Unavailable)

	db, err := sql.Open("pgx", "postgres://postgres@"+closedPort(t)+"/x?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	err = db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one)
	want(t, "PostgreSQL not listening", err, fault.Unavailable)

	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	want(t, "a store call past its deadline", ctx.Err(), fault.Unavailable)
}

// A PostgreSQL session ended by the server (as a restart or failover does) is Unavailable.
func TestTerminatedPostgresSessionIsUnavailable(t *testing.T) {
	dsn := storetest.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	var one int
	err = conn.QueryRowContext(t.Context(), "SELECT 1").Scan(&one)
	want(t, "terminated session", err, fault.Unavailable)
}

func TestPostgresStates(t *testing.T) {
	for code, k := range map[string]fault.Kind{
		"57P01": fault.Unavailable, // admin_shutdown
		"08006": fault.Unavailable, // connection_failure
		"53300": fault.Unavailable, // too_many_connections
		"25006": fault.Unavailable, // read_only_sql_transaction
		"53100": fault.Full,        // disk_full
		"23505": fault.None,        // unique_violation: the store's own business
		"22021": fault.None,        // invalid byte sequence: bad input
	} {
		want(t, "SQLSTATE "+code, &pgconn.PgError{Code: code}, k)
	}
}

// SQLite's own errors, made by a real database: locked by another connection, a file that is
// not a database.
func TestSQLiteErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	if _, err := a.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	conn, err := a.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	_, err = b.Exec("INSERT INTO t VALUES (1)")
	want(t, "database locked by another connection", err, fault.Unavailable)
	conn.ExecContext(t.Context(), "ROLLBACK")

	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("this is not an SQLite database, not at all; it is longer than a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+junk)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec("SELECT * FROM sqlite_master")
	want(t, "not a database (damage, not an outage)", err, fault.None)
}

// pgx returns a bare io.ErrUnexpectedEOF when the server's side of a connection closes
// mid-answer (TestDatabaseOutageAnswers503 in internal/server meets it through a real proxy).
func TestConnectionCutMidAnswer(t *testing.T) {
	want(t, "connection cut mid-answer", io.ErrUnexpectedEOF, fault.Unavailable)
}

func TestDiskFull(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer f.Close()
	_, err = f.Write([]byte("x"))
	want(t, "write to a full device", err, fault.Full)
}

func TestOtherErrorsAreNone(t *testing.T) {
	for what, err := range map[string]error{
		"plain":           errors.New("something broke"),
		"missing file":    &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist},
		"client left":     context.Canceled,
		"client left, pg": fmt.Errorf("query: %w", context.Canceled),
	} {
		want(t, what, err, fault.None)
	}
}

// A PostgreSQL server that answers but refuses the connection is an outage, each refusal with
// a cause that says what is wrong: a database that is not there (renamed or dropped, 3D000),
// a user it does not know (28000), a user with no connection left (53300). All made by a real
// server.
func TestRefusedConnectionsAreUnavailable(t *testing.T) {
	dsn := storetest.Postgres(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	role := fmt.Sprintf("wharf_nolimit_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(t.Context(), `CREATE ROLE `+role+` LOGIN CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(`DROP ROLE IF EXISTS ` + role) })
	for _, tc := range []struct{ what, user, db, cause string }{
		{"a database that is not there", "", "wharf_no_such_database", "database does not exist"},
		{"a user the server does not know", "wharf_no_such_user", "", "refused the user or password"},
		{"a user with no connection left", role, "", "no connection left"},
	} {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if tc.user != "" {
			u.User = url.User(tc.user)
		}
		if tc.db != "" {
			u.Path = "/" + tc.db
		}
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
		var one int
		err = db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one)
		db.Close()
		want(t, tc.what, err, fault.Unavailable)
		if c := fault.Cause(err); !strings.Contains(c, tc.cause) {
			t.Errorf("%s: Cause(%v) = %q, want it to say %q", tc.what, err, c, tc.cause)
		}
	}
	if c := fault.Cause(errors.New("something broke")); c != "" {
		t.Errorf("Cause of another error = %q, want none", c)
	}
}
