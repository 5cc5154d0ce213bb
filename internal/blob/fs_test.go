package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
)

const digest = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

// files lists the regular files under root, relative and slash-separated.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFilesystemLayoutIsOneFilePerBlob(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	defer s.Close()
	if err := s.Put(t.Context(), blob.Key(digest), strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	got := files(t, root)
	if want := "sha256/ab/cd/" + digest; len(got) != 1 || got[0] != want {
		t.Fatalf("files under the root = %q; want just %q (no sidecar, no temp file)", got, want)
	}
}

func TestFilesystemFailedPutsLeaveNoTempFiles(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	defer s.Close()
	key := blob.Key(digest)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		body string
		size int64
	}{
		{"short", t.Context(), "abc", 4},
		{"long", t.Context(), "abcde", 4},
		{"cancelled", cancelled, "abcd", 4},
	} {
		if err := s.Put(tc.ctx, key, strings.NewReader(tc.body), tc.size); err == nil {
			t.Fatalf("%s Put succeeded", tc.name)
		}
		if got := files(t, root); len(got) != 0 {
			t.Fatalf("%s Put left %q", tc.name, got)
		}
	}
}

// A crash mid-Put leaves a temp file beside where the blob would go; it must not be taken for
// the blob, and CleanTemp removes it once it is old enough.
func TestFilesystemCrashLeftoverIsInvisibleAndCleaned(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	defer s.Close()
	ctx := t.Context()
	key := blob.Key(digest)
	dir := filepath.Join(root, "sha256", "ab", "cd")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, digest+".18f0c2a1b3d4e5f6.tmp")
	fresh := filepath.Join(dir, digest+".18f0c2a1b3d4e5f7.tmp")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("half a pack"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat with only a leftover temp file = %v; want ErrNotFound", err)
	}
	if _, err := s.Open(ctx, key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open with only a leftover temp file = %v; want ErrNotFound", err)
	}
	// A real blob next to them must survive every clean.
	other := "abcd" + digest[4:63] + "0"
	if err := s.Put(ctx, blob.Key(other), strings.NewReader("kept"), 4); err != nil {
		t.Fatal(err)
	}

	if n, err := blob.CleanTemp(ctx, s, 24*time.Hour); err != nil || n != 1 {
		t.Fatalf("CleanTemp(24h) = %d, %v; want 1 removed", n, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old temp file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("fresh temp file (maybe a Put in progress) was removed: %v", err)
	}
	if n, err := blob.CleanTemp(ctx, s, 0); err != nil || n != 1 {
		t.Fatalf("CleanTemp(0) = %d, %v; want 1 removed", n, err)
	}
	if got, want := files(t, root), []string{"sha256/ab/cd/" + other}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("files after cleaning = %q; want %q", got, want)
	}
}

func TestFilesystemRejectsTempLookingKeys(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if err := s.Put(t.Context(), "x/y.1f2e.tmp", strings.NewReader("a"), 1); err == nil {
		t.Fatal("Put of a key CleanTemp would delete succeeded")
	}
}

func TestOpenFilesystemURLs(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	for _, tc := range []struct{ url, dir string }{
		{"relative/blobs", filepath.Join(base, "relative", "blobs")},
		{filepath.Join(base, "plain"), filepath.Join(base, "plain")},
		{"file://" + filepath.ToSlash(filepath.Join(base, "viaurl")), filepath.Join(base, "viaurl")},
	} {
		s := open(t, tc.url)
		if err := s.Put(t.Context(), blob.Key(digest), bytes.NewReader([]byte("x")), 1); err != nil {
			t.Fatalf("%s: Put: %v", tc.url, err)
		}
		s.Close()
		if _, err := os.Stat(filepath.Join(tc.dir, "sha256", "ab", "cd", digest)); err != nil {
			t.Fatalf("%s: blob not under %s: %v", tc.url, tc.dir, err)
		}
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "empty"},
		{"gs://bucket", `unknown scheme "gs"`},
		{"file://host/blobs", "absolute path"},
		{"file:///tmp/x?mode=1", "no query"},
		{"s3://", "no bucket"},
		{"s3://bucket?nonsense=1", "nonsense"},
	} {
		s, err := blob.Open(t.Context(), tc.url)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v; want it to mention %q", tc.url, err, tc.want)
		}
	}
}

// TestFilesystemOpenFile is the file itself, for sendfile: its bytes are the blob's, and a
// missing blob is ErrNotFound as Open says it.
func TestFilesystemOpenFile(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	fst, ok := s.(blob.FileStore)
	if !ok {
		t.Fatalf("the filesystem store (%T) hands out no files", s)
	}
	if err := s.Put(t.Context(), blob.Key(digest), strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	f, closeFile, err := fst.OpenFile(t.Context(), blob.Key(digest))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "data" {
		t.Errorf("read %q, %v; want \"data\"", got, err)
	}
	if err := closeFile(); err != nil {
		t.Error(err)
	}
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the file after close: %v, want closed", err)
	}
	if _, _, err := fst.OpenFile(t.Context(), blob.Key(strings.Repeat("0", 64))); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a missing blob: %v, want ErrNotFound", err)
	}
}
