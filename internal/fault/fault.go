// Package fault tells failures of what the server stands on (the database, the blob store, the
// disk) from other errors, once for every caller: the HTTP error path answers them 503 or 507
// instead of 500, and the command line can say the same. It reads the error chains the drivers
// return (pgx, modernc SQLite, the AWS SDK through gocloud, the os package); nothing needs to
// wrap its errors for it.
package fault

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// Kind is what an error says of the server's dependencies.
type Kind int

const (
	// None: not a failure of a dependency (a bug, bad data, a refusal): the caller decides.
	None Kind = iota
	// Unavailable: the database or the blob store cannot be reached, is shutting down, is busy
	// or locked beyond what the store waits, or its disk refuses writes (read-only, I/O error).
	// Retrying later may work, and the server recovers by itself when it is back.
	Unavailable
	// Full: no space left (ENOSPC, EDQUOT, SQLite's SQLITE_FULL, PostgreSQL's disk_full).
	// Retrying helps only once an administrator frees space.
	Full
)

func (k Kind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case Full:
		return "full"
	}
	return "none"
}

// SQLite's primary result codes (the low byte of an extended code).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteProtocol = 15
)

// Of classifies err. A cancelled context is None (the client left: not the server's fault);
// a context deadline on a store or blob call is Unavailable (it did not answer in time).
func Of(err error) Kind {
	if err == nil || errors.Is(err, context.Canceled) {
		return None
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return Full
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteFull:
			return Full
		case sqliteBusy, sqliteLocked, sqliteReadOnly, sqliteIOErr, sqliteCantOpen, sqliteProtocol:
			return Unavailable
		}
		return None
	}
	// An error met while connecting is an outage whatever the server answered: the database
	// is missing (renamed or dropped: 3D000), refuses the credentials (28P01), is starting up
	// (57P03) or has no connection left (53300). Read first, since the PgError it wraps would
	// make 3D000 or 28P01 look like a query's own error.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return Unavailable
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return postgresState(pe.Code)
	}
	// pgconn marks its connection-level failures (a write or read on a broken connection) so.
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) {
		return Unavailable
	}
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &op), errors.As(err, &dns),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unavailable
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EIO):
		return Unavailable
	case errors.Is(err, io.ErrUnexpectedEOF):
		// A connection to the database cut mid-answer: pgx returns the bare error. (What a
		// client sends is read, and its errors answered, before anything reaches this.)
		return Unavailable
	case errors.Is(err, context.DeadlineExceeded):
		return Unavailable
	}
	// An object store's answer of 500, 502, 503 or 504 (the AWS SDK's errors say their status).
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return Unavailable
	}
	return None
}

// postgresState classifies a PostgreSQL SQLSTATE.
func postgresState(code string) Kind {
	switch {
	case code == "53100": // disk_full
		return Full
	case len(code) == 5 && code[:2] == "08", // connection exception
		code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now
		code == "53300", // too_many_connections
		code == "53200", // out_of_memory
		code == "58030", // io_error
		code == "25006": // read_only_sql_transaction: a standby, as after a failover
		return Unavailable
	}
	return None
}

// Cause says in a few words what is wrong with the database for an error that Of finds
// Unavailable, for the log line beside the error's own text; "" when it has nothing to add.
func Cause(err error) string {
	var ce *pgconn.ConnectError
	connecting := errors.As(err, &ce)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "3D000":
			return "the database does not exist (renamed or dropped?): check the name in --database"
		case "28P01", "28000":
			return "the database refused the user or password of --database"
		case "57P03":
			return "the database is starting up, shutting down or recovering"
		case "53300":
			return "the database has no connection left for another client (max_connections)"
		case "57P01", "57P02":
			return "the database server ended the session: it is shutting down or restarting"
		}
	}
	if connecting {
		return "cannot connect to the database"
	}
	return ""
}
