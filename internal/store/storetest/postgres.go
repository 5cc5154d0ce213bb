package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// DefaultPostgres is where tests find PostgreSQL unless WHARF_TEST_POSTGRES says otherwise.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Postgres creates a fresh database for one test and returns its URL; the database is dropped
// when the test ends. Without a reachable server the test is skipped, unless
// WHARF_REQUIRE_POSTGRES=1 (as in CI), when it fails.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("WHARF_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultPostgres
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("WHARF_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL at %s is required (WHARF_REQUIRE_POSTGRES=1) but unreachable: %v", admin, err)
		}
		t.Skipf("PostgreSQL unreachable at %s (set WHARF_TEST_POSTGRES): %v", admin, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "wharf_test_" + hex.EncodeToString(b)
	// A linguistic collation, as many production databases have, so that code relying on the
	// database's sort order fails here; plain defaults where the server has no ICU.
	if _, err := db.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`); err != nil {
		t.Logf("create test database with an ICU collation: %v; using the server default", err)
		if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
			db.Close()
			t.Fatalf("create test database: %v", err)
		}
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}
