package store_test

import (
	"context"
	"database/sql"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// A database made before the access model (migration 3) upgrades: accounts that shared an
// address keep it marked rather than failing the new unique index, and users get the
// channel of their name where it is free.
func TestUpgradeFromBeforeAccounts(t *testing.T) {
	for _, b := range []struct {
		name, driver string
		dialect      goose.Dialect
		dsn          func(t *testing.T) (driverDSN, storeDSN string)
	}{
		{"sqlite", "sqlite", goose.DialectSQLite3, func(t *testing.T) (string, string) {
			p := filepath.Join(t.TempDir(), "old.db")
			return "file:" + p, p
		}},
		{"postgres", "pgx", goose.DialectPostgres, func(t *testing.T) (string, string) {
			d := storetest.Postgres(t)
			return d, d
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			driverDSN, storeDSN := b.dsn(t)
			db, err := sql.Open(b.driver, driverDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			p, err := goose.NewProvider(b.dialect, db, store.Migrations(b.driver == "pgx"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 3); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('ops', 'ops@example.com', 'h', 1)`,
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('ops2', 'OPS@example.com', 'h', 2)`,
				`INSERT INTO users (name, email, password_hash, created_at) VALUES ('taken', 't@example.com', 'h', 3)`,
				`INSERT INTO channels (name, created_at, updated_at) VALUES ('taken', 1, 1)`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			st, err := store.Open(ctx, storeDSN)
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			defer st.Close()
			ops, _ := st.UserByName(ctx, "ops")
			ops2, _ := st.UserByName(ctx, "ops2")
			if ops.Email != "ops@example.com" || ops2.Email == "OPS@example.com" || ops2.Email == "" || !ops.EmailVerified {
				t.Errorf("after upgrade: ops %q (verified %v), ops2 %q", ops.Email, ops.EmailVerified, ops2.Email)
			}
			if ch, err := st.ChannelByName(ctx, "ops"); err != nil || ch.OwnerUserID != ops.ID {
				t.Errorf("ops's channel = %+v, %v", ch, err)
			}
			if ch, err := st.ChannelByName(ctx, "taken"); err != nil || ch.OwnerUserID != 0 {
				t.Errorf("a channel that had the name kept it: %+v, %v", ch, err)
			}
		})
	}
}
