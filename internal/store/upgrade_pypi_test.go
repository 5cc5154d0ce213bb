package store_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// A database that holds look-alike Python filenames from before they were refused (two
// spellings of one distribution with other bytes) upgrades: every file stays listed and
// downloadable, the first uploaded holds the distribution, the channel's history names the
// look-alike, and from then on any other spelling is refused, by the database too.
func TestUpgradeKeepsPyPILookalikes(t *testing.T) {
	sha := func(c byte) string { return strings.Repeat(string(c), 64) }
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 9)
			for _, q := range []string{
				`INSERT INTO channels (name, created_at, updated_at) VALUES ('acme', 1, 1)`,
				`INSERT INTO packages (channel_id, kind, name, created_at) VALUES (1, 'pypi', 'col-lide', 1)`,
				`INSERT INTO packages (channel_id, kind, name, created_at) VALUES (1, 'conda', 'tool', 1)`,
			} {
				old.Exec(t, q)
			}
			for i, f := range []struct{ pkg, subdir, name, sha string }{
				{"1", "pypi", "Col_Lide-1.0-py3-none-any.whl", sha('a')},
				{"1", "pypi", "col.lide-1.0-py3-none-any.whl", sha('b')},
				{"1", "pypi", "col_lide-1.0.tar.gz", sha('c')},
				{"2", "noarch", "tool-1.0-0.conda", sha('d')},
			} {
				id := int64(i + 1)
				old.Exec(t, `INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, created_at)
					VALUES (1, ?, ?, ?, ?, '', 1, '1.0', '', 0, 0, ?, ?)`, f.pkg, f.subdir, f.name, f.sha, []byte("{}"), id)
				old.Exec(t, `INSERT INTO file_labels (file_id, label) VALUES (?, 'main')`, id)
			}
			old.Exec(t, `INSERT INTO removed_files (channel_id, subdir, filename, sha256, removed_at) VALUES (1, 'pypi', 'COL.LIDE-2.0-py3-none-any.whl', ?, 1)`, sha('e'))

			st := old.Open(t)
			ch, err := st.ChannelByName(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			snap, err := st.PyPIProjectFiles(ctx, ch.ID, "col-lide")
			if err != nil || len(snap.Files) != 3 {
				t.Fatalf("after the upgrade the project lists %+v, %v; want the 3 files", snap.Files, err)
			}
			events, err := st.Events(ctx, ch.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			reported := slices.ContainsFunc(events, func(e store.Event) bool {
				return e.Action == "file.lookalike" && strings.Contains(string(e.Detail), `"file":"pypi/col.lide-1.0-py3-none-any.whl"`) &&
					strings.Contains(string(e.Detail), `"same_as":"pypi/Col_Lide-1.0-py3-none-any.whl"`)
			})
			if !reported || len(events) != 1 {
				t.Errorf("history after the upgrade: %+v; want one file.lookalike event naming both", events)
			}

			add := func(fn, sum string) (store.File, bool, error) {
				return st.AddFile(ctx, store.NewFile{ChannelID: ch.ID, Kind: "pypi", Package: "col-lide", Subdir: store.PyPISubdir, Filename: fn,
					SHA256: sum, MD5: sum[:32], Size: 1, Version: "1.0", Record: []byte(`{}`)})
			}
			// Another spelling: refused, naming the first upload; the bytes of either
			// look-alike are that file.
			if _, _, err := add("COL__lide-1.0-py3-none-any.whl", sha('f')); !store.IsConflict(err) || !strings.Contains(err.Error(), "Col_Lide-1.0-py3-none-any.whl") {
				t.Errorf("a third spelling: %v; want a conflict naming Col_Lide-1.0-py3-none-any.whl", err)
			}
			if f, created, err := add("col_lide-1.0-py3-none-any.whl", sha('b')); err != nil || created || f.Filename != "col.lide-1.0-py3-none-any.whl" {
				t.Errorf("the look-alike's bytes again = %q, %v, %v; want that file", f.Filename, created, err)
			}
			// With the first upload removed, the look-alike left still holds the distribution:
			// even the removed file's own bytes do not come back beside it.
			if err := st.RemoveFile(ctx, ch.ID, store.FileRef{Subdir: store.PyPISubdir, Filename: "Col_Lide-1.0-py3-none-any.whl"}, 0); err != nil {
				t.Fatal(err)
			}
			if _, _, err := add("col_lide-1.0-py3-none-any.whl", sha('a')); !store.IsConflict(err) || !strings.Contains(err.Error(), "holds col.lide-1.0-py3-none-any.whl") {
				t.Errorf("after removing the first: %v; want a conflict naming the look-alike", err)
			}
			if _, _, err := add("col_lide-1.0-py3-none-any.whl", sha('g')); !store.IsConflict(err) || !strings.Contains(err.Error(), "Col_Lide-1.0-py3-none-any.whl") {
				t.Errorf("other bytes after removing the first: %v; want a conflict naming the removed file", err)
			}
			// A removal from before the upgrade counts for every spelling.
			if _, _, err := add("col_lide-2.0-py3-none-any.whl", sha('h')); !store.IsConflict(err) || !strings.Contains(err.Error(), "COL.LIDE-2.0-py3-none-any.whl") {
				t.Errorf("a removed distribution with other bytes: %v; want a conflict naming the removed file", err)
			}
			if f, created, err := add("col_lide-2.0-py3-none-any.whl", sha('e')); err != nil || !created || f.Filename != "col_lide-2.0-py3-none-any.whl" {
				t.Errorf("a removed distribution with its bytes = %q, %v, %v", f.Filename, created, err)
			}
			// The database itself refuses a second file for a distribution.
			var key string
			if err := old.DB.QueryRowContext(ctx, `SELECT dist_key FROM files WHERE filename = 'col_lide-1.0.tar.gz'`).Scan(&key); err != nil || key == "" {
				t.Fatalf("the sdist's key = %q, %v", key, err)
			}
			if _, err := old.DB.ExecContext(ctx, old.Rebind(`INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, created_at, dist_key)
				VALUES (1, 1, 'pypi', 'Col.Lide-1.0.zip', ?, '', 1, '1.0', '', 0, 0, ?, 9, ?)`), sha('i'), []byte("{}"), key); err == nil {
				t.Error("the database took a second file for one distribution")
			}
			var conda sql.NullString
			if err := old.DB.QueryRowContext(ctx, `SELECT dist_key FROM files WHERE filename = 'tool-1.0-0.conda'`).Scan(&conda); err != nil || conda.Valid {
				t.Errorf("a conda package's key = %+v, %v; want NULL", conda, err)
			}
		})
	}
}

// Python files an older Wharf stores in a migrated database (a replica not yet upgraded) have
// no distribution key; the next opening keys them: a look-alike of a file the newer Wharf
// stored is reported beside it, the others hold their distributions.
func TestUpgradeKeysFilesOfOlderWriters(t *testing.T) {
	sha := func(c byte) string { return strings.Repeat(string(c), 64) }
	for _, b := range storetest.OldBackends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			old := b.Make(t, 9)
			st := old.Open(t)
			ch, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			nf := func(fn, sum string) store.NewFile {
				return store.NewFile{ChannelID: ch.ID, Kind: "pypi", Package: "col-lide", Subdir: store.PyPISubdir, Filename: fn,
					SHA256: sum, MD5: sum[:32], Size: 1, Version: "1.0", Record: []byte(`{}`)}
			}
			held, _, err := st.AddFile(ctx, nf("Col_Lide-1.0-py3-none-any.whl", sha('a')))
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			// As the Wharf before migration 10 inserts a file: no key.
			for i, fn := range []string{"col.lide-1.0-py3-none-any.whl", "col.lide-2.0-py3-none-any.whl", "COL_LIDE-2.0-py3-none-any.whl"} {
				old.Exec(t, `INSERT INTO files (channel_id, package_id, subdir, filename, sha256, md5, size, version, build, build_number, timestamp, record, created_at)
					SELECT ?, package_id, 'pypi', ?, ?, '', 1, '1.0', '', 0, 0, record, 1 FROM files WHERE id = ?`, ch.ID, fn, sha(byte('b'+i)), held.ID)
				old.Exec(t, `INSERT INTO file_labels (file_id, label) SELECT id, 'main' FROM files WHERE filename = ?`, fn)
			}
			st = old.Open(t)
			snap, err := st.PyPIProjectFiles(ctx, ch.ID, "col-lide")
			if err != nil || len(snap.Files) != 4 {
				t.Fatalf("the project lists %+v, %v; want the 4 files", snap.Files, err)
			}
			events, err := st.Events(ctx, ch.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var lookalikes []string
			for _, e := range events {
				if e.Action == "file.lookalike" {
					lookalikes = append(lookalikes, string(e.Detail))
				}
			}
			if len(lookalikes) != 2 || !strings.Contains(strings.Join(lookalikes, " "), `"file":"pypi/col.lide-1.0-py3-none-any.whl","note"`) ||
				!strings.Contains(strings.Join(lookalikes, " "), `"same_as":"pypi/`+held.Filename+`"`) ||
				!strings.Contains(strings.Join(lookalikes, " "), `"file":"pypi/COL_LIDE-2.0-py3-none-any.whl"`) {
				t.Errorf("look-alike events %q; want col.lide-1.0 beside %s, COL_LIDE-2.0 beside col.lide-2.0", lookalikes, held.Filename)
			}
			for fn, holder := range map[string]string{"COL.lide-1.0-py3-none-any.whl": held.Filename, "col_lide-2.0-py3-none-any.whl": "col.lide-2.0-py3-none-any.whl"} {
				if _, _, err := st.AddFile(ctx, nf(fn, sha('z'))); !store.IsConflict(err) || !strings.Contains(err.Error(), holder) {
					t.Errorf("%s with other bytes: %v; want a conflict naming %s", fn, err, holder)
				}
			}
		})
	}
}
