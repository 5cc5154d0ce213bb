package archivecheck

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

type member struct {
	name   string
	data   []byte
	method uint16
	raw    bool // written with CreateRaw: no data descriptor
}

// buildZip writes members with archive/zip, as real tools lay archives out.
func buildZip(t testing.TB, comment string, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		var w io.Writer
		var err error
		if m.raw {
			w, err = zw.CreateRaw(&zip.FileHeader{Name: m.name, Method: zip.Store,
				CRC32: crc32.ChecksumIEEE(m.data), CompressedSize64: uint64(len(m.data)), UncompressedSize64: uint64(len(m.data))})
		} else {
			w, err = zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if comment != "" {
		if err := zw.SetComment(comment); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(b []byte, maxEntries int) (*zip.Reader, error) {
	return OpenZip(bytes.NewReader(b), int64(len(b)), maxEntries)
}

// zip64OutOfRange is the 46-byte file of the conda bug: a local header signature, a zip64
// locator pointing at offset 0, and an end record that defers to zip64. The zip64 record
// would have to lie in the first 4 bytes; bounding its offset by the file's size alone let
// the read run past the end, and io.EOF escaped as the error.
func zip64OutOfRange() []byte {
	b := []byte("PK\x03\x04")
	loc := make([]byte, locLen)
	binary.LittleEndian.PutUint32(loc, sigLocator64)
	b = append(b, loc...)
	end := make([]byte, endLen)
	binary.LittleEndian.PutUint32(end, sigEnd)
	binary.LittleEndian.PutUint16(end[8:], 0xffff)
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	return append(b, end...)
}

// toZip64 rewrites a zip's end as a zip64 writer would: a zip64 end record and its locator
// after the central directory, and an end record that defers to them.
func toZip64(b []byte) []byte {
	endAt := len(b) - endLen
	e := b[endAt:]
	records := binary.LittleEndian.Uint16(e[10:])
	dirSize := binary.LittleEndian.Uint32(e[12:])
	dirOff := binary.LittleEndian.Uint32(e[16:])
	out := bytes.Clone(b[:endAt])
	e64 := make([]byte, end64Len)
	binary.LittleEndian.PutUint32(e64, sigEnd64)
	binary.LittleEndian.PutUint64(e64[4:], end64Len-12)
	binary.LittleEndian.PutUint16(e64[12:], 45)
	binary.LittleEndian.PutUint16(e64[14:], 45)
	binary.LittleEndian.PutUint64(e64[24:], uint64(records))
	binary.LittleEndian.PutUint64(e64[32:], uint64(records))
	binary.LittleEndian.PutUint64(e64[40:], uint64(dirSize))
	binary.LittleEndian.PutUint64(e64[48:], uint64(dirOff))
	loc := make([]byte, locLen)
	binary.LittleEndian.PutUint32(loc, sigLocator64)
	binary.LittleEndian.PutUint64(loc[8:], uint64(endAt))
	binary.LittleEndian.PutUint32(loc[16:], 1)
	out = append(append(out, e64...), loc...)
	end := bytes.Clone(e)
	binary.LittleEndian.PutUint16(end[8:], 0xffff)
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	binary.LittleEndian.PutUint32(end[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(end[16:], 0xffffffff)
	return append(out, end...)
}

func TestOpenZipAccepts(t *testing.T) {
	many := make([]member, 0xffff+1) // more than an end record can count: zip64
	for i := range many {
		many[i] = member{name: fmt.Sprintf("f%d", i)}
	}
	for _, tt := range []struct {
		name    string
		data    []byte
		entries int
	}{
		{"deflated, with data descriptors", buildZip(t, "", member{name: "a", data: []byte("hello")}, member{name: "b/", method: zip.Deflate}), 2},
		{"deflated", buildZip(t, "", member{name: "a", data: bytes.Repeat([]byte("x"), 10000), method: zip.Deflate}), 1},
		{"stored, no data descriptor", buildZip(t, "", member{name: "a", data: []byte("hello"), raw: true}), 1},
		{"a comment (the callers' business)", buildZip(t, "hi", member{name: "a"}), 1},
		{"zip64 (more entries than an end record counts)", buildZip(t, "", many...), len(many)},
		{"zip64 (small)", toZip64(buildZip(t, "", member{name: "a", data: []byte("hello"), raw: true}, member{name: "b"})), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			zr, err := open(tt.data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(zr.File) != tt.entries {
				t.Errorf("%d entries, want %d", len(zr.File), tt.entries)
			}
		})
	}
}

func TestOpenZipRefuses(t *testing.T) {
	valid := buildZip(t, "", member{name: "a", data: []byte("hello"), raw: true}, member{name: "b", data: []byte("world"), raw: true})
	endAt := len(valid) - endLen
	dirOff := int(binary.LittleEndian.Uint32(valid[endAt+16:]))
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	// withEnd rewrites the end record's counts, directory size and offset.
	withEnd := func(b []byte, records, dirSize, dirOff int) []byte {
		e := b[len(b)-endLen:]
		binary.LittleEndian.PutUint16(e[8:], uint16(records))
		binary.LittleEndian.PutUint16(e[10:], uint16(records))
		binary.LittleEndian.PutUint32(e[12:], uint32(dirSize))
		binary.LittleEndian.PutUint32(e[16:], uint32(dirOff))
		return b
	}
	dir := valid[dirOff:endAt]
	firstRecord := centralLen + int(binary.LittleEndian.Uint16(dir[28:]))

	for _, tt := range []struct {
		name    string
		data    []byte
		max     int
		problem ZipProblem
		reason  string
	}{
		{"zip64 end record out of range (46 bytes)", zip64OutOfRange(), 10, Malformed, "zip64 end record out of range"},
		{"not a zip", []byte("hello, world, this is not a zip archive"), 10, Malformed, "no end of central directory record"},
		{"shorter than an end record", []byte("PK"), 10, Malformed, "no end of central directory record"},
		{"truncated", valid[:len(valid)/2], 10, Malformed, "no end of central directory record"},
		{"data after the end record", append(bytes.Clone(valid), "x"...), 10, Malformed, "data after the end of central directory record"},
		{"something prepended", append([]byte("#!/bin/sh\n"), valid...), 10, Malformed, "the central directory does not end at the end record"},
		{"something prepended, offsets fixed", edit(func(b []byte) []byte {
			b = withEnd(append([]byte("MZ"), b...), 2, endAt-dirOff, dirOff+2)
			for off := dirOff + 2; off < endAt+2; off += firstRecord { // both records are the same size
				binary.LittleEndian.PutUint32(b[off+42:], binary.LittleEndian.Uint32(b[off+42:])+2)
			}
			return b
		}), 10, Malformed, "no member at the start of the file (is something prepended?)"},
		{"zip64: too many entries", toZip64(valid), 1, TooManyEntries, "the archive has 2 entries"},
		{"zip64: data between the record and its locator", edit(func(b []byte) []byte {
			z := toZip64(b)
			at := len(z) - endLen - locLen
			z = append(z[:at:at], append([]byte{0}, z[at:]...)...)
			binary.LittleEndian.PutUint64(z[len(z)-endLen-locLen+8:], uint64(endAt)) // still points at the record
			return z
		}), 10, Malformed, "data between the zip64 end record and its locator"},
		{"zip64: no locator", edit(func(b []byte) []byte {
			z := toZip64(b)
			z[len(z)-endLen-locLen] = 'X'
			return z
		}), 10, Malformed, "missing zip64 locator"},
		{"zip64: locator points at something else", edit(func(b []byte) []byte {
			z := toZip64(b)
			binary.LittleEndian.PutUint64(z[len(z)-endLen-locLen+8:], 0)
			return z
		}), 10, Malformed, "bad zip64 end record"},
		{"too many entries", valid, 1, TooManyEntries, "the archive has 2 entries; at most 1 are accepted"},
		{"empty", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), 10, NoEntries, "the archive has no entries"},
		{"end record counts one entry too few", edit(func(b []byte) []byte {
			return withEnd(b, 1, endAt-dirOff, dirOff)
		}), 10, Malformed, "unaccounted bytes at the end of the central directory"},
		{"end record counts one entry too many", edit(func(b []byte) []byte {
			return withEnd(b, 3, endAt-dirOff, dirOff)
		}), 10, Malformed, "the central directory is too small for 3 entries"},
		{"directory declared short (a record hidden from the count)", edit(func(b []byte) []byte {
			return withEnd(b, 1, endAt-dirOff-firstRecord, dirOff+firstRecord)
		}), 10, LocalHeaderMismatch, `local name "a", central name "b"`},
		{"slack in the directory", edit(func(b []byte) []byte {
			slack := append(bytes.Clone(b[:endAt]), 0, 0, 0, 0)
			return withEnd(append(slack, b[endAt:]...), 2, endAt-dirOff+4, dirOff)
		}), 10, Malformed, "4 unaccounted bytes at the end of the central directory"},
		{"garbage instead of a record", edit(func(b []byte) []byte {
			b[dirOff+firstRecord] = 'X'
			return b
		}), 10, Malformed, "something other than an entry"},
		{"local name differs", edit(func(b []byte) []byte {
			b[localLen] = 'A'
			return b
		}), 10, LocalHeaderMismatch, `local name "A", central name "a"`},
		{"local CRC-32 differs", edit(func(b []byte) []byte {
			b[14]++
			return b
		}), 10, LocalHeaderMismatch, `CRC-32 of "a"`},
		{"local flags differ", edit(func(b []byte) []byte {
			b[6] |= 0x1
			return b
		}), 10, LocalHeaderMismatch, `flags of "a"`},
		{"local method differs", edit(func(b []byte) []byte {
			b[8] = byte(zip.Deflate)
			return b
		}), 10, LocalHeaderMismatch, `compression method of "a"`},
		{"local size differs", edit(func(b []byte) []byte {
			b[22]++
			return b
		}), 10, LocalHeaderMismatch, `sizes of "a"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(tt.data, tt.max)
			var ze *ZipError
			if !errors.As(err, &ze) {
				t.Fatalf("error %v (%T), want a *ZipError", err, err)
			}
			if ze.Problem != tt.problem || !strings.Contains(ze.Reason, tt.reason) {
				t.Errorf("got problem %d, %q; want %d, containing %q", ze.Problem, ze.Reason, tt.problem, tt.reason)
			}
			if tt.problem == TooManyEntries && ze.Entries != 2 {
				t.Errorf("Entries = %d, want 2", ze.Entries)
			}
		})
	}
}

// A member hidden inside another's data, reachable only from a directory record that the end
// record does not count (Python's zipfile reads the records that fit the directory's size;
// archive/zip reads on until one fails), must not get through.
func TestOpenZipHiddenRecord(t *testing.T) {
	inner := buildZip(t, "", member{name: "evil", data: []byte("x"), raw: true})
	innerDir := int(binary.LittleEndian.Uint32(inner[len(inner)-endLen+16:]))
	b := buildZip(t, "", member{name: "a", data: inner[:innerDir], raw: true})
	endAt := len(b) - endLen
	dirOff := int(binary.LittleEndian.Uint32(b[endAt+16:]))
	// Append a record for "evil", whose local header starts at offset localLen+1 (inside "a").
	rec := bytes.Clone(inner[innerDir : len(inner)-endLen])
	binary.LittleEndian.PutUint32(rec[42:], uint32(localLen+1))
	out := append(bytes.Clone(b[:endAt]), rec...)
	out = append(out, b[endAt:]...)
	binary.LittleEndian.PutUint32(out[len(out)-endLen+12:], uint32(endAt-dirOff+len(rec)))
	_, err := open(out, 10)
	var ze *ZipError
	if !errors.As(err, &ze) || ze.Problem != Malformed {
		t.Fatalf("got %v, want a Malformed *ZipError", err)
	}
	// Counted, the record is an entry whose local header lies inside another member.
	binary.LittleEndian.PutUint16(out[len(out)-endLen+8:], 2)
	binary.LittleEndian.PutUint16(out[len(out)-endLen+10:], 2)
	if _, err = open(out, 10); !errors.As(err, &ze) || ze.Problem != LocalHeaderMismatch {
		t.Fatalf("counted: got %v, want a LocalHeaderMismatch", err)
	}
}

// failingReaderAt fails every read that overlaps [from, to).
type failingReaderAt struct {
	r        io.ReaderAt
	from, to int64
}

var errDisk = errors.New("disk on fire")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// An error of the storage is not the archive's fault: OpenZip returns it as it is, or, where
// archive/zip met it, inside a *ZipError that RecordingReaderAt lets the caller see through.
func TestOpenZipReadError(t *testing.T) {
	big := make([]byte, 70_000) // so that the end record is looked for away from offset 0
	valid := buildZip(t, "", member{name: "a", data: big, raw: true}, member{name: "b", data: []byte("x"), raw: true})
	size := int64(len(valid))
	for _, tt := range []struct {
		name     string
		from, to int64
		raw      bool // the error comes back as it is
	}{
		{"end record", size - 1, size, true},
		{"first local header", 0, 4, false},
		{"second local header", localLen + 1 + int64(len(big)), localLen + 1 + int64(len(big)) + 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rr := &RecordingReaderAt{R: failingReaderAt{bytes.NewReader(valid), tt.from, tt.to}}
			_, err := OpenZip(rr, size, 10)
			if err == nil || !errors.Is(rr.Err, errDisk) {
				t.Fatalf("got %v, recorded %v; want an error, and errDisk recorded", err, rr.Err)
			}
			if tt.raw && !errors.Is(err, errDisk) {
				t.Errorf("got %v, want errDisk itself", err)
			}
		})
	}
	rr := &RecordingReaderAt{R: bytes.NewReader(valid)}
	if _, err := OpenZip(rr, size, 10); err != nil || rr.Err != nil {
		t.Errorf("without failures: %v, recorded %v", err, rr.Err)
	}
}

func TestZipErrorMessage(t *testing.T) {
	_, err := open(zip64OutOfRange(), 10)
	if got, want := err.Error(), "not a valid zip archive: zip64 end record out of range"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = &ZipError{Problem: LocalHeaderMismatch, Reason: `CRC-32 of "a"`}
	if got, want := err.Error(), `the zip's local headers disagree with its central directory: CRC-32 of "a"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
