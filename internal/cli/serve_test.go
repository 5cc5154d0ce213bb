package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestCleanSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := cleanSpool(dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("spool directory not created: %v", err)
	}
	for _, name := range []string{"upload-123", "upload-abc", "keep.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanSpool(dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "keep.txt" {
		t.Errorf("after clean: %v; want only keep.txt", entries)
	}
}
