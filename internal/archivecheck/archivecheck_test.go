package archivecheck

import (
	"archive/tar"
	"bytes"
	"errors"
	"hash/maphash"
	"io"
	"strings"
	"testing"
)

func TestCountingReader(t *testing.T) {
	for _, tt := range []struct {
		n       int
		tooBig  bool
		readBuf int
	}{
		{n: 100, readBuf: 7},
		{n: 100, readBuf: 1000},
		{n: 101, tooBig: true, readBuf: 7},
		{n: 101, tooBig: true, readBuf: 1000},
		{n: 10_000, tooBig: true, readBuf: 1 << 20},
	} {
		b := &Budget{Max: 100}
		cr := &CountingReader{R: bytes.NewReader(make([]byte, tt.n)), B: b}
		_, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{cr}, make([]byte, tt.readBuf))
		if tt.tooBig != errors.Is(err, ErrTooLarge) || tt.tooBig != b.Exceeded {
			t.Errorf("%d bytes: err %v, Exceeded %v", tt.n, err, b.Exceeded)
		}
		if b.Used > b.Max+1 {
			t.Errorf("%d bytes: read %d, more than one byte past the cap", tt.n, b.Used)
		}
	}
	// The budget is shared: a second stream starts where the first left off.
	b := &Budget{Max: 100}
	io.Copy(io.Discard, &CountingReader{R: bytes.NewReader(make([]byte, 60)), B: b})
	if _, err := io.Copy(io.Discard, &CountingReader{R: bytes.NewReader(make([]byte, 60)), B: b}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("second stream: %v, want ErrTooLarge", err)
	}
}

func TestRecordingReaderAt(t *testing.T) {
	rr := &RecordingReaderAt{R: bytes.NewReader([]byte("abc"))}
	if _, err := rr.ReadAt(make([]byte, 10), 0); err != io.EOF || rr.Err != nil {
		t.Errorf("short read: %v, recorded %v; io.EOF is not a storage failure", err, rr.Err)
	}
	rr = &RecordingReaderAt{R: failingReaderAt{bytes.NewReader([]byte("abc")), 0, 3}}
	if _, err := rr.ReadAt(make([]byte, 1), 0); err != errDisk || rr.Err != errDisk {
		t.Errorf("failed read: %v, recorded %v", err, rr.Err)
	}
	rr.R = otherErrReaderAt{} // a later failure does not replace the first
	rr.ReadAt(make([]byte, 1), 0)
	if rr.Err != errDisk {
		t.Errorf("recorded %v, want the first error", rr.Err)
	}
}

type otherErrReaderAt struct{}

func (otherErrReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("another error") }

func TestDecompressedCap(t *testing.T) {
	const mib, gib = 1 << 20, 1 << 30
	for _, tt := range []struct{ compressed, min, ratio, max, want int64 }{
		{0, 64 * mib, 50, 16 * gib, 64 * mib},
		{1 * mib, 64 * mib, 50, 16 * gib, 64 * mib},
		{10 * mib, 64 * mib, 50, 16 * gib, 500 * mib},
		{1 << 40, 64 * mib, 50, 16 * gib, 16 * gib},
		{1 << 62, 64 * mib, 50, 32 * gib, 32 * gib}, // the product would overflow
		{1 << 62, 64 * mib, 1 << 40, 32 * gib, 32 * gib},
		{10 * mib, 64 * mib, 0, 16 * gib, 64 * mib},  // no ratio: the minimum
		{10 * mib, 64 * mib, 50, 32 * mib, 32 * mib}, // the maximum wins over the minimum
	} {
		if got := DecompressedCap(tt.compressed, tt.min, tt.ratio, tt.max); got != tt.want {
			t.Errorf("DecompressedCap(%d, %d, %d, %d) = %d, want %d", tt.compressed, tt.min, tt.ratio, tt.max, got, tt.want)
		}
	}
}

func TestHasDriveLetter(t *testing.T) {
	for s, want := range map[string]bool{
		"C:": true, "c:/x": true, `Z:\x`: true, "C": false, "1:/x": false, "ab:": false, "": false, ":/": false, "é:": false,
	} {
		if got := HasDriveLetter(s); got != want {
			t.Errorf("HasDriveLetter(%q) = %v", s, got)
		}
	}
}

// SymlinkAbove relies on maphash hashing a prefix written in pieces as it hashes the prefix
// whole (maphash documents this); the symlink set is filled with maphash.String.
func TestSymlinkAbove(t *testing.T) {
	seed := maphash.MakeSeed()
	links := map[uint64]struct{}{}
	for _, l := range []string{"a/b", "lib/x.so", "d"} {
		links[maphash.String(seed, l)] = struct{}{}
	}
	for _, tt := range []struct{ name, link string }{
		{"a/b/c", "a/b"},
		{"a/b/c/d/e", "a/b"},
		{"d/x", "d"},
		{"d/a/b/c", "d"}, // the first link on the way
		{"lib/x.so/y", "lib/x.so"},
		{"a/b", ""}, // the link itself
		{"a/bc/d", ""},
		{"a/c/b/d", ""},
		{"dd/x", ""},
		{"x/d/y", ""},
		{"lib/x.s/o", ""},
	} {
		link, ok := SymlinkAbove(tt.name, seed, links)
		if link != tt.link || ok != (tt.link != "") {
			t.Errorf("SymlinkAbove(%q) = %q, %v; want %q", tt.name, link, ok, tt.link)
		}
	}
	if _, ok := SymlinkAbove("a/b/c", seed, nil); ok {
		t.Error("found a symlink in an empty set")
	}
	// A long name with many segments: every prefix is checked.
	deep := strings.Repeat("s/", 5000) + "x"
	links[maphash.String(seed, deep[:len(deep)-2])] = struct{}{}
	if link, ok := SymlinkAbove(deep, seed, links); !ok || link != deep[:len(deep)-2] {
		t.Errorf("deep name: %v", ok)
	}
}

func TestTarTypeProblem(t *testing.T) {
	for _, tt := range []struct {
		typ  byte
		mode int64
		want string
	}{
		{tar.TypeReg, 0o644, ""},
		{tar.TypeDir, 0o755, ""},
		{tar.TypeSymlink, 0o777, ""},
		{tar.TypeLink, 0o644, ""},
		{tar.TypeReg, 0o4755, "has the setuid or setgid bit set"},
		{tar.TypeDir, 0o2755, "has the setuid or setgid bit set"},
		{tar.TypeChar, 0, "is a device file"},
		{tar.TypeBlock, 0, "is a device file"},
		{tar.TypeFifo, 0, "is a FIFO"},
		{tar.TypeCont, 0, `has the unsupported tar type '7'`},
		{'Z', 0, `has the unsupported tar type 'Z'`},
	} {
		if got := TarTypeProblem(&tar.Header{Typeflag: tt.typ, Mode: tt.mode}); got != tt.want {
			t.Errorf("TarTypeProblem(%q, %o) = %q, want %q", tt.typ, tt.mode, got, tt.want)
		}
	}
}
