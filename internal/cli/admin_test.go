package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// run runs the wharf command with args and returns its standard output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := Root()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// storedFiles records files in st whose blobs are in bl, as an upload would: one channel,
// four packages, one of them copied into a second channel (one blob, two files). It returns
// the content of each, by filename.
func storedFiles(t *testing.T, st store.Store, bl blob.Store) map[string][]byte {
	t.Helper()
	ctx := t.Context()
	acme, err := st.CreateChannel(ctx, store.NewChannel{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateChannel(ctx, store.NewChannel{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, name := range []string{"good", "gone", "short", "flipped"} {
		data := make([]byte, 4096)
		rand.Read(data)
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if err := bl.Put(ctx, blob.Key(sha), bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		fn := name + "-1.0-0.conda"
		rec, _ := json.Marshal(map[string]any{"name": name, "version": "1.0", "build": "0", "build_number": 0, "depends": []string{}, "subdir": "noarch"})
		if _, _, err := st.AddFile(ctx, store.NewFile{ChannelID: acme.ID, Kind: "conda", Package: name, Subdir: "noarch", Filename: fn,
			SHA256: sha, MD5: sha[:32], Size: int64(len(data)), Version: "1.0", Build: "0", Record: rec, RecordMsgpack: []byte{0x80}}); err != nil {
			t.Fatal(err)
		}
		out[fn] = data
	}
	if _, err := st.CopyFiles(ctx, store.CopyRequest{FromChannelID: acme.ID, Files: []store.FileRef{{Subdir: "noarch", Filename: "gone-1.0-0.conda"}},
		ToChannelID: other.ID, ToLabels: []string{"main"}}); err != nil {
		t.Fatal(err)
	}
	return out
}

func keyOf(data []byte) string {
	sum := sha256.Sum256(data)
	return blob.Key(hex.EncodeToString(sum[:]))
}

// wharf admin fsck re-hashes every blob, on the data directory (SQLite and a blob directory)
// and on --database and --storage (PostgreSQL and S3): a sound store passes; a blob that is
// gone, one cut short and one with a flipped bit are listed, with the files that name them,
// as text and as JSON, and the exit status is non-zero.
func TestFsck(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(t *testing.T) (args []string, dsn, storage string)
	}{
		{"data directory", func(t *testing.T) ([]string, string, string) {
			dir := t.TempDir()
			return []string{"--data", dir}, filepath.Join(dir, "wharf.db"), filepath.Join(dir, "blobs")
		}},
		{"PostgreSQL and S3", func(t *testing.T) ([]string, string, string) {
			dsn, s3 := storetest.Postgres(t), blobtest.FakeS3(t)
			return []string{"--data", t.TempDir(), "--database", dsn, "--storage", s3}, dsn, s3
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, dsn, storage := tc.args(t)
			st, err := store.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			bl, err := blob.Open(t.Context(), storage)
			if err != nil {
				t.Fatal(err)
			}
			defer bl.Close()
			files := storedFiles(t, st, bl)

			out, err := run(t, append([]string{"admin", "fsck"}, args...)...)
			if err != nil || !strings.Contains(out, "checked 4 blobs (16384 bytes) named by 5 files: 0 missing, 0 corrupt") {
				t.Fatalf("fsck of a sound store: %v\n%s", err, out)
			}

			ctx := t.Context()
			if err := bl.Delete(ctx, keyOf(files["gone-1.0-0.conda"])); err != nil {
				t.Fatal(err)
			}
			short := files["short-1.0-0.conda"][:1000]
			if err := bl.Put(ctx, keyOf(files["short-1.0-0.conda"]), bytes.NewReader(short), int64(len(short))); err != nil {
				t.Fatal(err)
			}
			flipped := bytes.Clone(files["flipped-1.0-0.conda"])
			flipped[2000] ^= 1
			if err := bl.Put(ctx, keyOf(files["flipped-1.0-0.conda"]), bytes.NewReader(flipped), int64(len(flipped))); err != nil {
				t.Fatal(err)
			}

			out, err = run(t, append([]string{"admin", "fsck"}, args...)...)
			if err == nil || !strings.Contains(err.Error(), "3 of 4 blobs are missing or corrupt") {
				t.Errorf("fsck of a damaged store: err = %v; want 3 of 4 named", err)
			} else if !strings.Contains(err.Error(), "upload a file that names each again") {
				t.Errorf("fsck of a damaged store: err = %v; want it to say that uploading the file again repairs it", err)
			}
			for _, want := range []string{
				"missing  " + keyOf(files["gone-1.0-0.conda"]) + "  (4096 bytes) named by acme/noarch/gone-1.0-0.conda, other/noarch/gone-1.0-0.conda",
				"corrupt  " + keyOf(files["short-1.0-0.conda"]) + "  holds 1000 bytes, recorded 4096; named by acme/noarch/short-1.0-0.conda",
				"corrupt  " + keyOf(files["flipped-1.0-0.conda"]) + "  its bytes hash to " + fmt.Sprintf("%x", sha256.Sum256(flipped)) + "; named by acme/noarch/flipped-1.0-0.conda",
				"checked 4 blobs (16384 bytes) named by 5 files: 1 missing, 2 corrupt",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("the report lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "good-1.0-0.conda") {
				t.Errorf("the report lists the sound file:\n%s", out)
			}

			// Through Execute, as wharf runs it: the report is the one JSON document on
			// stdout, and the failure is the exit status (not a second document).
			root := Root()
			var stdout, stderr bytes.Buffer
			root.SetOut(&stdout)
			root.SetErr(&stderr)
			if code := Execute(t.Context(), root, append([]string{"admin", "fsck", "--json"}, args...)); code != 1 {
				t.Errorf("fsck --json of a damaged store exited %d, want 1", code)
			}
			var rep fsckReport
			dec := json.NewDecoder(&stdout)
			dec.DisallowUnknownFields()
			if jerr := dec.Decode(&rep); jerr != nil {
				t.Fatalf("fsck --json: %v\n%s", jerr, stdout.String())
			}
			if dec.More() {
				t.Errorf("fsck --json printed more than its report: %s", stdout.String())
			}
			if stderr.Len() > 0 { // docs/cli.md: with --json, nothing but the JSON
				t.Errorf("fsck --json printed on standard error: %s", stderr.String())
			}
			var corrupt []string
			for _, b := range rep.Corrupt {
				corrupt = append(corrupt, b.Files...)
			}
			slices.Sort(corrupt)
			if rep.Checked != 4 || len(rep.Missing) != 1 || len(rep.Missing[0].Files) != 2 ||
				!slices.Equal(corrupt, []string{"acme/noarch/flipped-1.0-0.conda", "acme/noarch/short-1.0-0.conda"}) {
				t.Errorf("fsck --json = %+v", rep)
			}
			// The store is listed a page at a time: pages of any size find the same.
			whole, _ := json.Marshal(rep)
			for _, page := range []int{1, 3} {
				paged, err := fsck(t.Context(), st, bl, 2, page)
				if got, _ := json.Marshal(paged); err != nil || !bytes.Equal(got, whole) {
					t.Errorf("fsck in pages of %d = %s, %v; want %s", page, got, err, whole)
				}
			}
		})
	}
}

// With the object store down, fsck fails naming what it could not read, instead of reporting
// every blob missing or corrupt.
func TestFsckStoreDown(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "wharf.db")
	s3 := blobtest.NewFakeS3(t)
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bl, err := blob.Open(t.Context(), s3.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	storedFiles(t, st, bl)
	s3.Stop()
	// The command opens the store first, and fails there.
	out, err := run(t, "admin", "fsck", "--data", t.TempDir(), "--database", dsn, "--storage", s3.URL)
	if err == nil || !strings.Contains(err.Error(), "open blob store") || strings.Contains(out, "missing  ") {
		t.Errorf("fsck with the store down: %v\n%s", err, out)
	}
	// A store that goes away during the run stops it too.
	rep, err := fsck(t.Context(), st, bl, 2, fsckPage)
	if err == nil || !strings.Contains(err.Error(), "reading blob sha256/") || len(rep.Missing)+len(rep.Corrupt) != 0 {
		t.Errorf("fsck as the store goes away = %+v, %v; want an error naming a blob, and no findings", rep, err)
	}
}

// A data directory or database that is not there is an error, not an empty store made on the
// spot and reported whole ("0 missing, 0 corrupt": a clean bill for a mistyped --data in cron).
func TestFsckNeedsAStoreThatIsThere(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "wharf-dat")
	for _, args := range [][]string{{"--data", typo}, {"--database", filepath.Join(typo, "wharf.db"), "--storage", t.TempDir()}} {
		out, err := run(t, append([]string{"admin", "fsck"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "no database at "+filepath.Join(typo, "wharf.db")) || strings.Contains(out, "checked") {
			t.Errorf("wharf admin fsck %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if _, err := os.Stat(typo); !os.IsNotExist(err) {
			t.Errorf("wharf admin fsck %s made %s (%v)", strings.Join(args, " "), typo, err)
		}
	}
}

// --database without --storage (nor --data) is refused: that database's blobs are not in
// ./wharf-data/blobs, which fsck made and found empty, every blob missing, advising to remove
// the files. A blob directory that is not there is an error naming it, not one made and
// found empty.
func TestFsckNeedsTheBlobStore(t *testing.T) {
	t.Setenv("WHARF_STORAGE", "")
	t.Setenv("WHARF_DATA", "")
	cwd := t.TempDir()
	t.Chdir(cwd)
	data := t.TempDir()
	dsn := filepath.Join(data, "wharf.db")
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bl, err := blob.Open(t.Context(), filepath.Join(data, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	storedFiles(t, st, bl)
	for _, d := range []string{dsn, storetest.Postgres(t)} {
		out, err := run(t, "admin", "fsck", "--database", d)
		if err == nil || !strings.Contains(err.Error(), "name where its blobs are with --storage") || strings.Contains(out, "missing") {
			t.Errorf("fsck --database without --storage: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(cwd, "wharf-data")); !os.IsNotExist(err) {
			t.Errorf("fsck --database without --storage made ./wharf-data (%v)", err)
		}
	}
	gone := filepath.Join(t.TempDir(), "blobz")
	out, err := run(t, "admin", "fsck", "--database", dsn, "--storage", gone)
	if err == nil || !strings.Contains(err.Error(), "no blob directory at "+gone) || strings.Contains(out, "missing") {
		t.Errorf("fsck --storage of a directory that is not there: %v\n%s", err, out)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("fsck made the blob directory %s (%v)", gone, err)
	}
	// With the data directory, its blobs are the server's: checked.
	if out, err := run(t, "admin", "fsck", "--data", data, "--database", dsn); err != nil || !strings.Contains(out, "checked 4 blobs") {
		t.Errorf("fsck --data --database: %v\n%s", err, out)
	}
}

// fsck changes nothing: a database that needs migrating is refused and left as it was, and
// so is a database with no Wharf schema at all, rather than migrated on the way.
func TestFsckMigratesNothing(t *testing.T) {
	for _, pg := range []bool{false, true} {
		dsn, driver, dialect := filepath.Join(t.TempDir(), "wharf.db"), "sqlite", goose.DialectSQLite3
		if pg {
			dsn, driver, dialect = storetest.Postgres(t), "pgx", goose.DialectPostgres
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p, err := goose.NewProvider(dialect, db, store.Migrations(pg))
		if err != nil {
			t.Fatal(err)
		}
		if pg { // a database without Wharf's tables: refused, and given none
			out, err := run(t, "admin", "fsck", "--database", dsn, "--storage", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), "holds no Wharf store") || strings.Contains(out, "checked") {
				t.Errorf("fsck of an empty database: %v\n%s", err, out)
			}
			var table sql.NullString
			if err := db.QueryRow(`SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil || table.Valid {
				t.Errorf("fsck of an empty database made %v (%v)", table.String, err)
			}
		}
		sources := p.ListSources()
		prev := sources[len(sources)-2].Version
		if _, err := p.UpTo(t.Context(), prev); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, "admin", "fsck", "--database", dsn, "--storage", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "needs migrating") || !strings.Contains(err.Error(), "wharf serve") || strings.Contains(out, "checked") {
			t.Errorf("fsck of a database that needs migrating (postgres %v): %v\n%s", pg, err, out)
		}
		if v, err := p.GetDBVersion(t.Context()); err != nil || v != prev {
			t.Errorf("fsck migrated the database (postgres %v): version %d, %v; want %d", pg, v, err, prev)
		}
	}
}

// wharf admin outbox --to an address with no mail (yet: a server writes it a moment after it
// answers) says so, rather than print nothing.
func TestOutboxSaysWhenNoMailIsThereYet(t *testing.T) {
	data := t.TempDir()
	if err := os.Mkdir(filepath.Join(data, "outbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	root := Root()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"admin", "outbox", "--data", data, "--to", "bob@example.com"})
	if err := root.ExecuteContext(t.Context()); err != nil || out.Len() != 0 || !strings.Contains(errOut.String(), "no mail to bob@example.com in "+filepath.Join(data, "outbox")+" yet") {
		t.Errorf("wharf admin outbox --to: %v %q %q", err, out.String(), errOut.String())
	}
}
