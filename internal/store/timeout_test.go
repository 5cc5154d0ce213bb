package store_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/wharfhq/wharf/internal/fault"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// blackHole listens on a local port, accepts connections and never answers them, as a hung
// database host does.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// within runs fn and fails the test if it has not returned within limit (a bound far above
// what it should take: without it, what is tested hangs for ever).
func within[T any](t *testing.T, limit time.Duration, fn func() T) T {
	t.Helper()
	c := make(chan T, 1)
	go func() { c <- fn() }()
	select {
	case v := <-c:
		return v
	case <-time.After(limit):
		t.Fatalf("still waiting after %s", limit)
		panic("unreachable")
	}
}

// Opening a PostgreSQL store on a host that accepts connections and never answers gives up
// (after the connect_timeout Wharf adds to a DSN without one), as an outage.
func TestOpenGivesUpOnAnUnansweringHost(t *testing.T) {
	addr := blackHole(t)
	err := within(t, time.Minute, func() error {
		st, err := store.Open(context.Background(), "postgres://postgres@"+addr+"/wharf?sslmode=disable")
		if err == nil {
			st.Close()
		}
		return err
	})
	if err == nil || fault.Of(err) != fault.Unavailable {
		t.Errorf("Open on a host that never answers: %v (%v), want an outage", err, fault.Of(err))
	}
}

// A call made under WithCallTimeout that the database does not answer in time (it waits for
// a lock another session holds) fails with a *TimeoutError, an outage; the same call without
// it waits as long as the lock is held, and one whose deadline the wait fits in is not cut.
func TestCallTimeout(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) (store, locker string)
		lock string
	}{
		{"sqlite", func(t *testing.T) (string, string) {
			p := filepath.Join(t.TempDir(), "wharf.db")
			return p, "sqlite"
		}, "BEGIN IMMEDIATE"},
		{"postgres", func(t *testing.T) (string, string) {
			return storetest.Postgres(t), "pgx"
		}, "BEGIN; LOCK TABLE channels IN ACCESS EXCLUSIVE MODE"},
	} {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver := b.dsn(t)
			st, err := store.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if driver == "sqlite" {
				dsn = "file:" + dsn + "?_pragma=busy_timeout(0)"
			}
			other, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			lock := func() (release func()) {
				conn, err := other.Conn(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(t.Context(), b.lock); err != nil {
					t.Fatal(err)
				}
				return func() { conn.ExecContext(context.Background(), "ROLLBACK"); conn.Close() }
			}

			release := lock()
			ctx := store.WithCallTimeout(t.Context(), 300*time.Millisecond)
			err = within(t, time.Minute, func() error { _, err := st.CreateChannel(ctx, store.NewChannel{Name: "cut"}); return err })
			release()
			var te *store.TimeoutError
			if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || fault.Of(err) != fault.Unavailable {
				t.Errorf("a write waiting on a lock past its deadline: %v, want a *store.TimeoutError, an outage", err)
			}

			// Without a deadline (or with one it fits in), the call waits for the lock.
			for _, ctx := range []context.Context{t.Context(), store.WithCallTimeout(t.Context(), time.Minute)} {
				release := lock()
				time.AfterFunc(time.Second, release)
				if err := within(t, time.Minute, func() error {
					_, err := st.CreateChannel(ctx, store.NewChannel{Name: "waited" + time.Now().Format("150405.000000")})
					return err
				}); err != nil {
					t.Errorf("a write that waits a second for a lock: %v", err)
				}
			}
		})
	}
}
