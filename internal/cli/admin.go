package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/passwords"
	"github.com/wharfhq/wharf/internal/store"
)

func adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer the server's data directly (no server needed)"}
	cmd.AddCommand(createUserCmd(), outboxCmd(), fsckCmd())
	return cmd
}

func createUserCmd() *cobra.Command {
	cfg, envErr := loadConfig()
	var email string
	var admin, passwordStdin, asJSON bool
	cmd := &cobra.Command{
		Use:   "create-user NAME --email EMAIL [--admin] [--password-stdin]",
		Short: "Create a user account in the data directory or database",
		Long: `Create a user account, working on the data directory (or --database) directly.
The password is read from standard input with --password-stdin; otherwise one is generated
and printed once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := names.Account(name); err != nil {
				return fmt.Errorf("username: %w", err)
			}
			if err := names.Email(email); err != nil {
				return fmt.Errorf("give the user's email address with --email: %w", err)
			}
			password, generated := "", false
			if passwordStdin {
				var err error
				if password, err = readPassword(cmd); err != nil {
					return err
				}
				if err := passwords.Check(name, password); err != nil {
					return fmt.Errorf("the password on standard input: %w", err)
				}
			} else {
				password, generated = access.GeneratePassword(), true
			}
			hash, err := access.HashPassword(password)
			if err != nil {
				return err
			}
			cfg, err := cfg.Resolve()
			if err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.CreateUser(cmd.Context(), store.NewUser{Name: name, Email: email, EmailVerified: true, PasswordHash: hash, Admin: admin})
			if err != nil {
				return err
			}
			out := map[string]any{"name": u.Name, "email": u.Email, "admin": u.Admin}
			if generated {
				out["password"] = password
			}
			if asJSON {
				return printJSON(cmd, out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (admin: %v)\n", u.Name, u.Admin)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password (shown once): %s\n", password)
			}
			return nil
		},
	}
	storageFlags(cmd, &cfg)
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the user's email address")
	f.BoolVar(&admin, "admin", false, "make the user a server administrator")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return failIf(envErr, cmd)
}

// fsckBlob is one blob that fsck found missing or damaged, with the files that name it.
type fsckBlob struct {
	SHA256 string   `json:"sha256"`
	Key    string   `json:"key"`
	Size   int64    `json:"size"`                   // as recorded
	Files  []string `json:"files"`                  // channel/subdir/filename
	Found  *int64   `json:"found_size,omitempty"`   // what the blob holds, when damaged
	Hash   string   `json:"found_sha256,omitempty"` // what it hashes to, when damaged
}

// fsckReport is what wharf admin fsck prints.
type fsckReport struct {
	Checked int64      `json:"checked"` // blobs
	Bytes   int64      `json:"bytes"`   // recorded sizes of the blobs checked
	Files   int64      `json:"files"`   // stored files naming them
	Missing []fsckBlob `json:"missing"`
	Corrupt []fsckBlob `json:"corrupt"`
}

func fsckCmd() *cobra.Command {
	cfg, envErr := loadConfig()
	var asJSON bool
	var parallel int
	cmd := &cobra.Command{
		Use:   "fsck [--data DIR | --database DSN --storage URL] [--json]",
		Short: "Re-hash every stored blob against its sha256; list missing and corrupt files",
		Long: `Read every blob that a stored file names, from the blob directory (or --storage), and
check it against the size and sha256 the database (or --database) recorded. Missing blobs and
corrupt ones (of another size, or other bytes) are listed with the files that name them; the
exit status is 1 when there is any; uploading one of the files named again (the same file)
writes its blob anew. Downloads check only a blob's size; this reads every byte,
so it takes as long as reading the whole store once. With --database, name where its blobs are
with --storage (or --data, for DIR/blobs). It changes nothing, and may run beside a running
server: a database that needs migrating is refused (start this version's wharf serve on it
first), as is a data directory, database or blob directory that is not there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if parallel < 1 {
				return fmt.Errorf("--parallel %d: read at least 1 blob at a time", parallel)
			}
			given := func(flag, env string) bool { return cmd.Flags().Changed(flag) || os.Getenv(env) != "" }
			if given("database", "WHARF_DATABASE") && !given("storage", "WHARF_STORAGE") && !given("data", "WHARF_DATA") {
				// The blobs would be looked for in ./wharf-data/blobs, and all found missing.
				return errors.New("--database names the database but not the blob store: name where its blobs are with --storage (a directory, or s3://…), as the server has it, or --data DIR for DIR/blobs")
			}
			cfg, err := cfg.Resolve()
			if err != nil {
				return err
			}
			if err := storeIsThere(cfg.Database); err != nil {
				return err
			}
			if dir := blob.LocalDir(cfg.Storage); dir != "" {
				if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("no blob directory at %s: give the --storage (or --data) of the server to check", dir)
				}
			}
			// An object store that stops answering fails the check rather than holding it.
			ctx := blob.WithStallTimeout(cmd.Context(), cfg.StoreTimeout)
			st, err := store.OpenExisting(ctx, cfg.Database)
			if err != nil {
				return fsckOpenError(err)
			}
			defer st.Close()
			bl, err := blob.Open(ctx, cfg.Storage)
			if err != nil {
				return err
			}
			defer bl.Close()
			rep, err := fsck(ctx, st, bl, parallel, fsckPage)
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd, rep); err != nil {
					return err
				}
			} else {
				for _, b := range rep.Missing {
					say(cmd, "missing  %s  (%d bytes) named by %s", b.Key, b.Size, strings.Join(b.Files, ", "))
				}
				for _, b := range rep.Corrupt {
					what := fmt.Sprintf("holds %d bytes, recorded %d", *b.Found, b.Size)
					if *b.Found == b.Size {
						what = "its bytes hash to " + b.Hash
					}
					say(cmd, "corrupt  %s  %s; named by %s", b.Key, what, strings.Join(b.Files, ", "))
				}
				say(cmd, "checked %d blobs (%d bytes) named by %d files: %d missing, %d corrupt", rep.Checked, rep.Bytes, rep.Files, len(rep.Missing), len(rep.Corrupt))
			}
			if bad := len(rep.Missing) + len(rep.Corrupt); bad > 0 {
				err := fmt.Errorf("%d of %d blobs are missing or corrupt: upload a file that names each again (the same file, with wharf upload, twine or the API: the upload writes its blob anew), or restore the blobs from a backup, or remove the files that name them", bad, rep.Checked)
				if asJSON {
					return &reportedError{err} // the report printed lists them
				}
				return err
			}
			return nil
		},
	}
	storageFlags(cmd, &cfg)
	f := cmd.Flags()
	f.StringVar(&cfg.Storage, "storage", cfg.Storage, "blob storage: a directory, or s3://bucket?endpoint=…&region=… (default <data>/blobs) [WHARF_STORAGE]")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.IntVar(&parallel, "parallel", 4, "how many blobs to read at once")
	return failIf(envErr, cmd)
}

// fsckOpenError says what to do about a store fsck cannot read as it is.
func fsckOpenError(err error) error {
	var se *store.SchemaError
	switch {
	case errors.Is(err, store.ErrNoStore):
		return fmt.Errorf("%w: give the --database (or --data) of the server to check", err)
	case errors.As(err, &se) && se.NeedsMigration():
		return fmt.Errorf("%w. wharf admin fsck changes nothing: start this version's wharf serve on it once (it migrates the database), then run fsck again; or run the wharf admin fsck of the version that serves it", err)
	case errors.As(err, &se):
		return fmt.Errorf("%w: run the wharf admin fsck of the version that serves it", err)
	}
	return err
}

// storeIsThere refuses a SQLite database that does not exist: opening it would make an empty
// one (and its directory), which fsck would then find whole.
func storeIsThere(dsn string) error {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database at %s: give the --data (or --database and --storage) of the server to check", path)
	} else if err != nil {
		return err
	}
	return nil
}

// fsckPage is how many blobs fsck lists from the store at once: what it holds in memory is a
// page and its findings, whatever the size of the store (a million files listed at once
// would be some 200 MB).
const fsckPage = 1000

// blobLister is what fsck needs of the metadata store.
type blobLister interface {
	Blobs(ctx context.Context, after string, limit int) ([]store.BlobRef, error)
}

// fsck checks every blob that st's files name, listed page blobs at a time and read parallel
// at a time. A blob that cannot be read (the store unreachable, an I/O error) stops it with an
// error naming the blob, rather than a report that would list every blob of an unreachable
// store as damaged.
func fsck(ctx context.Context, st blobLister, bl blob.Store, parallel, page int) (fsckReport, error) {
	rep := fsckReport{Missing: []fsckBlob{}, Corrupt: []fsckBlob{}}
	for after := ""; ; {
		refs, err := st.Blobs(ctx, after, page)
		if err != nil {
			return rep, fmt.Errorf("listing the stored files: %w", err)
		}
		if len(refs) == 0 {
			break
		}
		if err := fsckRefs(ctx, bl, refs, parallel, &rep); err != nil {
			return rep, err
		}
		after = refs[len(refs)-1].SHA256
	}
	byKey := func(a, b fsckBlob) int { return strings.Compare(a.SHA256, b.SHA256) }
	slices.SortFunc(rep.Missing, byKey)
	slices.SortFunc(rep.Corrupt, byKey)
	return rep, nil
}

// fsckRefs checks the blobs of refs, parallel at a time, and adds what it finds to rep.
func fsckRefs(ctx context.Context, bl blob.Store, refs []store.BlobRef, parallel int, rep *fsckReport) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for _, ref := range refs {
		if !blob.ValidSHA256(ref.SHA256) {
			// Not a digest any upload records: the record is what is damaged.
			mu.Lock()
			rep.Checked++
			rep.Files += int64(len(ref.Files))
			rep.Corrupt = append(rep.Corrupt, fsckBlob{SHA256: ref.SHA256, Key: "(not a sha256)", Size: ref.Size, Files: ref.Files, Found: new(int64)})
			mu.Unlock()
			continue
		}
		g.Go(func() error {
			d, err := blob.Check(gctx, bl, ref.SHA256, ref.Size)
			if err != nil {
				return fmt.Errorf("reading blob %s (named by %s): %w", blob.Key(ref.SHA256), strings.Join(ref.Files, ", "), err)
			}
			b := fsckBlob{SHA256: ref.SHA256, Key: blob.Key(ref.SHA256), Size: ref.Size, Files: ref.Files}
			mu.Lock()
			defer mu.Unlock()
			rep.Checked++
			rep.Bytes += ref.Size
			rep.Files += int64(len(ref.Files))
			switch {
			case d.Missing:
				rep.Missing = append(rep.Missing, b)
			case !d.OK():
				b.Found, b.Hash = &d.Size, d.SHA256
				rep.Corrupt = append(rep.Corrupt, b)
			}
			return nil
		})
	}
	return g.Wait()
}
