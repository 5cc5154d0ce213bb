package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// schema describes a database's tables as lines that read the same on SQLite and PostgreSQL:
// each column with its type family, NOT NULL and whether it has a default; each foreign key;
// each index other than a primary key by its columns (an expression as "expr"), unique or
// not and partial or not, with its name where a migration named it; and each trigger.
func schema(t *testing.T, old storetest.OldDatabase) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	rows := func(q string, args ...any) [][]sql.NullString {
		t.Helper()
		r, err := old.DB.QueryContext(ctx, old.Rebind(q), args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer r.Close()
		cols, _ := r.Columns()
		var all [][]sql.NullString
		for r.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			all = append(all, vals)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return all
	}
	family := func(typ string) string {
		switch typ = strings.ToLower(typ); {
		case strings.Contains(typ, "int"), typ == "boolean": // SQLite keeps booleans as integers
			return "int"
		case typ == "text":
			return "text"
		case typ == "blob", typ == "bytea":
			return "blob"
		}
		return typ
	}
	if old.Backend == "sqlite" {
		for _, tb := range rows(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'goose_db_version' ORDER BY name`) {
			table := tb[0].String
			for _, c := range rows(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, table) {
				notNull := c[2].String == "1" || c[4].String != "0"
				out = append(out, fmt.Sprintf("%s column %s %s notnull=%v default=%v", table, c[0].String, family(c[1].String), notNull, c[3].Valid))
			}
			for _, fk := range rows(`SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)`, table) {
				out = append(out, fmt.Sprintf("%s fk %s -> %s(%s) on delete %s", table, fk[0].String, fk[1].String, fk[2].String, fk[3].String))
			}
			for _, ix := range rows(`SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, table) {
				if ix[2].String == "pk" {
					continue
				}
				var cols []string
				for _, c := range rows(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix[0].String) {
					cols = append(cols, pick(c[0].Valid, c[0].String, "expr"))
				}
				name := pick(ix[2].String == "c", ix[0].String, "")
				out = append(out, fmt.Sprintf("%s index %s (%s) unique=%v partial=%v", table, name, strings.Join(cols, ", "), ix[1].String == "1", ix[3].String == "1"))
			}
		}
		for _, tr := range rows(`SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'`) {
			out = append(out, fmt.Sprintf("%s trigger %s", tr[0].String, tr[1].String))
		}
	} else {
		for _, tb := range rows(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name != 'goose_db_version'`) {
			table := tb[0].String
			for _, c := range rows(`SELECT column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?`, table) {
				out = append(out, fmt.Sprintf("%s column %s %s notnull=%v default=%v", table, c[0].String, family(c[1].String), c[2].String == "NO", c[3].Valid && c[4].String != "YES"))
			}
			for _, fk := range rows(`SELECT a.attname, cf.relname, af.attname, c.confdeltype
				FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class cf ON cf.oid = c.confrelid
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
				JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
				WHERE c.contype = 'f' AND t.relname = ?`, table) {
				onDelete := map[string]string{"a": "NO ACTION", "c": "CASCADE", "n": "SET NULL", "r": "RESTRICT", "d": "SET DEFAULT"}[fk[3].String]
				out = append(out, fmt.Sprintf("%s fk %s -> %s(%s) on delete %s", table, fk[0].String, fk[1].String, fk[2].String, onDelete))
			}
			for _, ix := range rows(`SELECT i.relname, x.indisunique, x.indpred IS NOT NULL, x.indnatts,
				EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid), x.indexrelid
				FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
				WHERE t.relname = ? AND NOT x.indisprimary`, table) {
				var cols []string
				for k := 1; k <= atoi(t, ix[3].String); k++ {
					var col string
					if err := old.DB.QueryRowContext(ctx, `SELECT pg_get_indexdef($1::oid, $2, true)`, ix[5].String, k).Scan(&col); err != nil {
						t.Fatal(err)
					}
					cols = append(cols, pick(strings.ContainsAny(col, "( "), "expr", strings.Trim(col, `"`)))
				}
				name := pick(ix[4].String == "true", "", ix[0].String)
				out = append(out, fmt.Sprintf("%s index %s (%s) unique=%v partial=%v", table, name, strings.Join(cols, ", "), ix[1].String == "true", ix[2].String == "true"))
			}
		}
		for _, tr := range rows(`SELECT DISTINCT event_object_table, trigger_name FROM information_schema.triggers WHERE trigger_schema = 'public'`) {
			out = append(out, fmt.Sprintf("%s trigger %s", tr[0].String, tr[1].String))
		}
	}
	slices.Sort(out)
	return out
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// diffLines lists the lines only in a and only in b.
func diffLines(a, b []string) (onlyA, onlyB []string) {
	for _, l := range a {
		if !slices.Contains(b, l) {
			onlyA = append(onlyA, l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			onlyB = append(onlyB, l)
		}
	}
	return onlyA, onlyB
}

// The SQLite and PostgreSQL migrations make one schema: the same tables, columns (by type
// family, NOT NULL and default), foreign keys, indexes (unique, partial, their columns, the
// names the migrations give them) and triggers, at every version.
func TestSchemasAgree(t *testing.T) {
	ctx := context.Background()
	sqlite := storetest.OldSQLite(t, 1)
	pg := storetest.OldPostgres(t, 1)
	versions := migrationVersions(t)
	for _, v := range versions {
		for _, old := range []storetest.OldDatabase{sqlite, pg} {
			p, err := goose.NewProvider(dialectOf(old), old.DB, store.Migrations(old.Backend == "postgres"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, v); err != nil {
				t.Fatalf("%s up to %d: %v", old.Backend, v, err)
			}
		}
		onlySQLite, onlyPostgres := diffLines(schema(t, sqlite), schema(t, pg))
		if len(onlySQLite)+len(onlyPostgres) > 0 {
			t.Errorf("at version %d the schemas differ:\nonly SQLite:\n  %s\nonly PostgreSQL:\n  %s", v,
				strings.Join(onlySQLite, "\n  "), strings.Join(onlyPostgres, "\n  "))
		}
	}
}

// Each migration's down undoes its up: going down one version at a time from the newest, over
// a database that holds data, gives the schema a fresh database has at that version, and the
// way up again works.
func TestMigrationsGoDown(t *testing.T) {
	ctx := context.Background()
	versions := migrationVersions(t)
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			old := b.Make(t, 1)
			st := old.Open(t)
			fillForDown(t, st)
			st.Close()
			p, err := goose.NewProvider(dialectOf(old), old.DB, store.Migrations(old.Backend == "postgres"))
			if err != nil {
				t.Fatal(err)
			}
			for i := len(versions) - 1; i > 0; i-- {
				if _, err := p.Down(ctx); err != nil {
					t.Fatalf("down from %d: %v", versions[i], err)
				}
				fresh := b.Make(t, versions[i-1])
				if onlyDown, onlyFresh := diffLines(schema(t, old), schema(t, fresh)); len(onlyDown)+len(onlyFresh) > 0 {
					t.Errorf("down from %d to %d leaves another schema than up to %d:\nonly after the down:\n  %s\nonly fresh:\n  %s", versions[i], versions[i-1], versions[i-1],
						strings.Join(onlyDown, "\n  "), strings.Join(onlyFresh, "\n  "))
				}
			}
			st, err = store.Open(ctx, old.DSN)
			if err != nil {
				t.Fatalf("up again: %v", err)
			}
			st.Close()
		})
	}
}

// fillForDown stores a little of everything the recent migrations touch: look-alike-free
// names, a subchannel, Python and conda files, a removal.
func fillForDown(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.NewUser{Name: "alice", Email: "alice@example.com", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := st.ChannelByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateChannel(ctx, store.NewChannel{Name: "alice/dev", OwnerUserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.NewFile{
		{ChannelID: ch.ID, Kind: "pypi", Package: "demo", Subdir: store.PyPISubdir, Filename: "Demo-1.0-py3-none-any.whl", Version: "1.0"},
		{ChannelID: ch.ID, Kind: "pypi", Package: "demo", Subdir: store.PyPISubdir, Filename: "demo-2.0.tar.gz", Version: "2.0"},
		{ChannelID: ch.ID, Kind: "conda", Package: "tool", Subdir: "noarch", Filename: "tool-1.0-0.conda", Version: "1.0", RecipeSource: []byte(`{}`)},
	} {
		f.SHA256, f.MD5, f.Size, f.Record = strings.Repeat("a", 64), strings.Repeat("b", 32), 1, []byte(`{}`)
		if _, _, err := st.AddFile(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RemoveFile(ctx, ch.ID, store.FileRef{Subdir: store.PyPISubdir, Filename: "demo-2.0.tar.gz"}, u.ID); err != nil {
		t.Fatal(err)
	}
}

// migrationVersions lists the migrations' versions, in order, which both dialects must have.
func migrationVersions(t *testing.T) []int64 {
	t.Helper()
	var lists [2][]int64
	for i, postgres := range []bool{false, true} {
		names, err := fs.Glob(store.Migrations(postgres), "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			v, err := strconv.ParseInt(n[:strings.IndexByte(n, '_')], 10, 64)
			if err != nil {
				t.Fatalf("migration %s: %v", n, err)
			}
			lists[i] = append(lists[i], v)
		}
	}
	if !slices.Equal(lists[0], lists[1]) {
		t.Fatalf("the SQLite migrations are %v, the PostgreSQL ones %v", lists[0], lists[1])
	}
	return lists[0]
}

func dialectOf(old storetest.OldDatabase) goose.Dialect {
	if old.Backend == "postgres" {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}

// A migration is never numbered into a gap below the newest (12 to 14 and 16 were left unused
// when branches were merged): goose refuses to open a database already past such a number
// ("missing (out-of-order) migration"), so every database upgraded before it would stop
// starting. New migrations take numbers above the newest; add them to known.
func TestMigrationNumbersOnlyGrow(t *testing.T) {
	known := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 17}
	for _, v := range migrationVersions(t) {
		if v <= known[len(known)-1] && !slices.Contains(known, v) {
			t.Errorf("migration %05d is numbered into a gap below %05d: take a number above the newest", v, known[len(known)-1])
		}
	}
}
