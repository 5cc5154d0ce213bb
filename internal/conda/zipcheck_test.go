package conda_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda"
)

// A 46-byte ".conda": a local header signature, a zip64 locator pointing at offset 0 and an end
// record that defers to zip64. The zip64 end record would have to lie inside the first 4 bytes.
// ReadPackage used to bound its offset by the file's size only, read past the end, and return
// a bare io.EOF, which the server answered with a 500 instead of a 400.
func TestReadPackageZip64EndOutOfRange(t *testing.T) {
	data := []byte("PK\x03\x04")
	loc := make([]byte, 20)
	binary.LittleEndian.PutUint32(loc, 0x07064b50) // zip64 end of central directory locator, offset 0
	data = append(data, loc...)
	end := make([]byte, 22)
	binary.LittleEndian.PutUint32(end, 0x06054b50)
	binary.LittleEndian.PutUint16(end[8:], 0xffff) // entries: see the zip64 record
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	data = append(data, end...)
	if len(data) != 46 {
		t.Fatalf("%d bytes", len(data))
	}
	_, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), "demo-1.0-0.conda", conda.DefaultLimits())
	var ipe *conda.InvalidPackageError
	if !errors.As(err, &ipe) {
		t.Fatalf("got %v (%T), want an *InvalidPackageError", err, err)
	}
	if want := "not a valid .conda (zip) archive: zip64 end record out of range"; ipe.Reason != want {
		t.Errorf("reason %q, want %q", ipe.Reason, want)
	}
}

// The central directory of a .conda (three short names) stays far below 64 KiB; long per-entry
// comments or extra fields are refused before any member is read.
func TestReadPackageZipDirectoryTooLarge(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"metadata.json", "info-demo-1.0-0.tar.zst", "pkg-demo-1.0-0.tar.zst"} {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Comment: strings.Repeat("c", 30_000)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := conda.ReadPackage(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "demo-1.0-0.conda", conda.DefaultLimits())
	var ipe *conda.InvalidPackageError
	if !errors.As(err, &ipe) || !strings.Contains(ipe.Reason, "central directory too large") {
		t.Fatalf("got %v, want an *InvalidPackageError about the central directory", err)
	}
}
