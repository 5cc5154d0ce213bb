package blob

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/atomicfile"
)

// The write → fsync → rename → fsync-directory order is what makes a Put durable; fileblob does
// none of the syncing, so check each step happens, and in that order.
func TestFilesystemPutSyncsFileBeforeRenameAndDirectoriesAfter(t *testing.T) {
	s, err := openFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := strings.Repeat("ab", 32)
	var events []string
	var final string // the blob being put, derived from its temp file's name
	s.syncFile = func(f *os.File) error {
		final = tempName.ReplaceAllString(f.Name(), "")
		if _, err := os.Stat(final); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("file synced after it was renamed into place (stat: %v)", err)
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != 5 {
			t.Errorf("file synced before all bytes were written: %v, %v", fi, err)
		}
		events = append(events, "file "+filepath.Base(f.Name()))
		return f.Sync()
	}
	s.syncDir = func(dir string) error {
		if _, err := os.Stat(final); err != nil {
			t.Errorf("directory %s synced before the rename: %v", dir, err)
		}
		rel, _ := filepath.Rel(s.root, dir)
		events = append(events, "dir "+filepath.ToSlash(rel))
		return atomicfile.SyncDir(dir)
	}

	if err := s.Put(t.Context(), Key(h), strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	if len(events) != 5 || !strings.HasPrefix(events[0], "file "+h+".") || !strings.HasSuffix(events[0], ".tmp") {
		t.Fatalf("first Put synced %q; want the temp file, then each directory up to the root", events)
	}
	if want := []string{"dir sha256/ab/ab", "dir sha256/ab", "dir sha256", "dir ."}; !slices.Equal(events[1:], want) {
		t.Fatalf("first Put synced directories %q, want %q", events[1:], want)
	}

	// A second blob in a known directory needs only its file and that directory synced.
	events = nil
	h2 := strings.Repeat("ab", 31) + "cd"
	if err := s.Put(t.Context(), Key(h2), strings.NewReader("world"), 5); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[1] != "dir sha256/ab/ab" {
		t.Fatalf("second Put synced %q; want its temp file and sha256/ab/ab", events)
	}
}

func TestFilesystemPutFailsWhenFsyncFails(t *testing.T) {
	s, err := openFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	broken := errors.New("disk on fire")
	s.syncFile = func(*os.File) error { return broken }
	key := Key(strings.Repeat("0", 64))
	if err := s.Put(t.Context(), key, strings.NewReader("x"), 1); !errors.Is(err, broken) {
		t.Fatalf("Put = %v; want the fsync error", err)
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after failed fsync = %v; want ErrNotFound", err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.root, "sha256", "00", "00"))
	if len(entries) != 0 {
		t.Fatalf("failed Put left %v", entries)
	}
}
