package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	gblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/wharfhq/wharf/internal/atomicfile"
)

// fsStore keeps blobs as files under root, through fileblob.
//
// Crash safety: fileblob (with NoTempDir) writes each Put to a temp file beside the final one,
// named <final>.<hex nanoseconds>.tmp, and renames it over the final name on success, so a
// reader sees the whole blob or none of it. An aborted Put (error, short or long reader,
// cancelled ctx) makes fileblob delete the temp file; only a crash or kill mid-Put can leave
// one behind, and CleanTemp removes those.
//
// Durability: fileblob does not fsync, so Put does: the temp file before the rename (so the
// name never points at data still in the page cache), then the parent directory after it (so
// the rename itself survives a crash), and once per process each new directory's entry in its
// own parent.
type fsStore struct {
	bucketStore
	root string
	// synced holds directories whose own entry in their parent is known to be on disk.
	synced sync.Map
	// The fsync calls, as fields so a test can check what is synced and when.
	syncFile func(*os.File) error
	syncDir  func(dir string) error
}

// tempName matches the names fileblob gives its temp files.
var tempName = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

func openFS(path string) (*fsStore, error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open blob directory %s: %w", path, err)
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	// The root may just have been created; make its entry durable before anything goes in.
	if err := atomicfile.SyncDir(root); err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(root)); err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	b, err := fileblob.OpenBucket(root, &fileblob.Options{
		// Temp files beside the final file: the rename stays on one filesystem, so it is atomic.
		NoTempDir: true,
		// No .attrs sidecar: a second file per blob that would need its own fsync and cleanup.
		Metadata:    fileblob.MetadataDontWrite,
		DirFileMode: 0o750,
	})
	if err != nil {
		return nil, fmt.Errorf("open blob directory %s: %w", root, err)
	}
	return &fsStore{bucketStore: bucketStore{b: b}, root: root, syncFile: (*os.File).Sync, syncDir: atomicfile.SyncDir}, nil
}

var _ FileStore = (*fsStore)(nil)

// OpenFile opens the file that holds key, as Open would, through fileblob (its key to path
// mapping, its checks).
func (s *fsStore) OpenFile(ctx context.Context, key string) (*os.File, func() error, error) {
	var f *os.File
	r, err := s.b.NewReader(ctx, key, &gblob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		if !as(&f) {
			return errors.New("fileblob did not expose its file")
		}
		return nil
	}})
	if err != nil {
		return nil, nil, wrapErr("open", key, err)
	}
	return f, r.Close, nil
}

func (s *fsStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("put %s: negative size %d", key, size)
	}
	// CleanTemp would take such a blob for a leftover temp file.
	if tempName.MatchString(key) {
		return fmt.Errorf("put %s: key looks like a temp file (ends in .<hex>.tmp)", key)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var f *os.File
	w, err := s.b.NewWriter(ctx, key, &gblob.WriterOptions{
		// A set content type makes gocloud open the file now rather than buffer 512 bytes to sniff.
		ContentType: "application/octet-stream",
		BeforeWrite: func(as func(any) bool) error {
			if !as(&f) {
				return errors.New("fileblob did not expose its temp file")
			}
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	_, err = io.Copy(w, newExactReader(ctx, r, size))
	if err == nil {
		err = s.syncFile(f)
	}
	if err != nil {
		// Cancelling first makes fileblob's Close delete the temp file instead of renaming it.
		cancel()
		_ = w.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := f.Name()
	if err := w.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	// The blob is visible now; if this fails it is left in place (a concurrent Put of the same
	// content may rely on it) and is at worst an orphan for garbage collection.
	if err := s.syncDirs(filepath.Dir(tmp)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// syncDirs fsyncs dir, which just got a new entry, and then walks up to the root making sure
// every directory's own entry is durable; directories already seen are skipped, so the
// steady state is one directory fsync per Put.
func (s *fsStore) syncDirs(dir string) error {
	if err := s.syncDir(dir); err != nil {
		return err
	}
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if _, ok := s.synced.Load(dir); ok {
			return nil
		}
		parent := filepath.Dir(dir)
		if err := s.syncDir(parent); err != nil {
			return err
		}
		s.synced.Store(dir, struct{}{})
		dir = parent
	}
	return nil
}

// cleanTemp removes temp files last modified before cutoff.
func (s *fsStore) cleanTemp(ctx context.Context, cutoff time.Time) (int, error) {
	removed := 0
	err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A directory removed or unreadable mid-walk: not ours to fix here.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() || !tempName.MatchString(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // renamed or removed by its own Put meanwhile
		} else if err != nil {
			return err
		}
		if !fi.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("clean temp files under %s: %w", s.root, err)
	}
	return removed, nil
}
