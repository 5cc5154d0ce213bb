package archivecheck

import (
	"archive/zip"
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

const (
	sigLocal     = 0x04034b50
	sigCentral   = 0x02014b50
	sigEnd       = 0x06054b50
	sigEnd64     = 0x06064b50
	sigLocator64 = 0x07064b50
	sigDataDesc  = 0x08074b50

	endLen     = 22 // end of central directory record, without its comment
	locLen     = 20 // zip64 end of central directory locator
	end64Len   = 56 // zip64 end of central directory record, without extensible data
	centralLen = 46 // central directory record, without name, extra field and comment
	localLen   = 30 // local file header, without name and extra field
)

// ZipProblem says which kind of check a ZipError failed, so that a reader can word the cases
// its uploaders meet most its own way.
type ZipProblem int

const (
	// Malformed: the structure is broken, or ambiguous, or has room for hidden data.
	Malformed ZipProblem = iota
	// TooManyEntries: the end record declares more entries than allowed (ZipError.Entries).
	TooManyEntries
	// NoEntries: the archive is empty.
	NoEntries
	// LocalHeaderMismatch: the local headers, read from the start of the file, do not match
	// the central directory one to one; Reason says what differs.
	LocalHeaderMismatch
)

// ZipError is OpenZip's verdict on an archive it refuses.
type ZipError struct {
	Problem ZipProblem
	Reason  string // what is wrong, without a prefix: "zip64 end record out of range"
	Entries uint64 // TooManyEntries: the number of entries the end record declares
}

func (e *ZipError) Error() string {
	if e.Problem == LocalHeaderMismatch {
		return "the zip's local headers disagree with its central directory: " + e.Reason
	}
	return "not a valid zip archive: " + e.Reason
}

func malformed(format string, args ...any) error {
	return &ZipError{Reason: fmt.Sprintf(format, args...)}
}

func mismatch(format string, args ...any) error {
	return &ZipError{Problem: LocalHeaderMismatch, Reason: fmt.Sprintf(format, args...)}
}

// OpenZip opens the zip archive that r holds in size bytes after checking, in the spirit of
// Warehouse's _validate_zipfile, that a reader of the central directory (archive/zip, pip,
// conda) and a reader streaming the local headers would see the same members:
//
//   - the end record ends the file (no data after it) and, if zip64, its zip64 record and
//     locator lie where they must;
//   - it declares between 1 and maxEntries entries, and the central directory holds exactly
//     that many records, back to back, ending where the end record starts (archive/zip would
//     otherwise read records until one fails to parse, allocating a File for each, and Python's
//     zipfile reads as many as fit the declared size, whatever the count);
//   - walked from offset 0, the local headers match the directory's entries one to one on
//     name, method, flags, CRC-32 and sizes, with nothing between or before the members, and
//     end where the central directory begins.
//
// Comments, compression methods, encryption and member names are the caller's policy.
//
// Anything wrong with the bytes is a *ZipError. An error of r other than io.EOF may come back
// as it is or as a *ZipError; a caller that must tell them apart wraps r in a
// RecordingReaderAt.
func OpenZip(r io.ReaderAt, size int64, maxEntries int) (*zip.Reader, error) {
	dirOffset, records, err := checkZipEnd(r, size, uint64(max(maxEntries, 0)))
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		// ErrInsecurePath only appears under GODEBUG=zipinsecurepath=0; callers check member
		// names themselves, with clearer messages.
		return nil, malformed("%v", err)
	}
	if uint64(len(zr.File)) != records {
		// Not expected after checkZipEnd, but archive/zip compares the counts modulo 65536 only.
		return nil, malformed("the central directory holds %d entries, the end record says %d", len(zr.File), records)
	}
	if err := checkLocalHeaders(r, zr.File, dirOffset); err != nil {
		return nil, err
	}
	return zr, nil
}

// readAt fills p from r at off. A short read means that the archive points past its own end,
// which is the archive's fault: ok is false and err nil. Other errors of r are returned.
func readAt(r io.ReaderAt, p []byte, off int64) (ok bool, err error) {
	if off < 0 {
		return false, nil
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return true, nil // a ReaderAt may return io.EOF with the last bytes
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return false, nil
	}
	return false, err
}

// checkZipEnd finds the end-of-central-directory record as archive/zip does (the last signature
// whose comment fits), insists that it ends the file, bounds the number of entries, checks that
// the central directory is made of exactly that many records and ends at the end record, and
// returns the directory's offset and the number of entries.
func checkZipEnd(r io.ReaderAt, size int64, maxEntries uint64) (dirOffset int64, records uint64, err error) {
	if size < endLen {
		return 0, 0, malformed("no end of central directory record (is the file truncated?)")
	}
	n := min(size, 65535+endLen)
	buf := make([]byte, n)
	if ok, err := readAt(r, buf, size-n); !ok {
		if err != nil {
			return 0, 0, err
		}
		return 0, 0, malformed("the file is shorter than its size")
	}
	at := -1
	for i := len(buf) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == sigEnd {
			if c := int(binary.LittleEndian.Uint16(buf[i+20:])); i+endLen+c <= len(buf) {
				at = i
				break
			}
		}
	}
	if at < 0 {
		return 0, 0, malformed("no end of central directory record (is the file truncated?)")
	}
	e := buf[at:]
	if at+endLen+int(binary.LittleEndian.Uint16(e[20:])) != len(buf) {
		return 0, 0, malformed("data after the end of central directory record")
	}
	endAt := size - n + int64(at)
	dirEnd := uint64(endAt) // where the central directory must end
	records = uint64(binary.LittleEndian.Uint16(e[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	if records == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		var loc [locLen]byte
		if endAt < locLen {
			return 0, 0, malformed("missing zip64 locator")
		}
		if ok, err := readAt(r, loc[:], endAt-locLen); err != nil {
			return 0, 0, err
		} else if !ok || binary.LittleEndian.Uint32(loc[:]) != sigLocator64 {
			return 0, 0, malformed("missing zip64 locator")
		}
		// The zip64 end record must lie wholly before the locator. (Bounding it by the file's
		// size instead let an offset inside the last 56 bytes through, to a read past the end.)
		off64 := binary.LittleEndian.Uint64(loc[8:])
		if endAt < locLen+end64Len || off64 > uint64(endAt-locLen-end64Len) {
			return 0, 0, malformed("zip64 end record out of range")
		}
		var e64 [end64Len]byte
		if ok, err := readAt(r, e64[:], int64(off64)); err != nil {
			return 0, 0, err
		} else if !ok || binary.LittleEndian.Uint32(e64[:]) != sigEnd64 {
			return 0, 0, malformed("bad zip64 end record")
		}
		// The record (12 bytes plus the size it declares) must end where the locator starts.
		if rest := binary.LittleEndian.Uint64(e64[4:]); rest > uint64(size) || off64+12+rest != uint64(endAt-locLen) {
			return 0, 0, malformed("data between the zip64 end record and its locator")
		}
		records = binary.LittleEndian.Uint64(e64[32:])
		dirSize = binary.LittleEndian.Uint64(e64[40:])
		dirOff = binary.LittleEndian.Uint64(e64[48:])
		dirEnd = off64
	}
	if records > maxEntries {
		return 0, 0, &ZipError{Problem: TooManyEntries, Entries: records,
			Reason: fmt.Sprintf("the archive has %d entries; at most %d are accepted", records, maxEntries)}
	}
	if records == 0 {
		return 0, 0, &ZipError{Problem: NoEntries, Reason: "the archive has no entries"}
	}
	if dirOff > dirEnd || dirSize != dirEnd-dirOff {
		return 0, 0, malformed("the central directory does not end at the end record")
	}
	if err := checkDirectory(r, int64(dirOff), int64(dirSize), records); err != nil {
		return 0, 0, err
	}
	return int64(dirOff), records, nil
}

// checkDirectory checks that the central directory, dirSize bytes at dirOff, is exactly records
// records back to back. Only their signatures and lengths are read, through one buffer.
func checkDirectory(r io.ReaderAt, dirOff, dirSize int64, records uint64) error {
	if uint64(dirSize)/centralLen < records {
		return malformed("the central directory is too small for %d entries", records)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, dirOff, dirSize), 32<<10)
	var h [centralLen]byte
	var pos int64
	for i := uint64(0); i < records; i++ {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return malformed("the central directory is too small for %d entries", records)
			}
			return err
		}
		if binary.LittleEndian.Uint32(h[:]) != sigCentral {
			return malformed("the central directory has something other than an entry at offset %d", dirOff+pos)
		}
		rest := int64(binary.LittleEndian.Uint16(h[28:])) + int64(binary.LittleEndian.Uint16(h[30:])) + int64(binary.LittleEndian.Uint16(h[32:]))
		pos += centralLen + rest
		if pos > dirSize {
			return malformed("the central directory's last entry runs past its end")
		}
		if _, err := br.Discard(int(rest)); err != nil {
			return err // cannot be short: pos <= dirSize
		}
	}
	if pos != dirSize {
		return malformed("%d unaccounted bytes at the end of the central directory", dirSize-pos)
	}
	return nil
}

// checkLocalHeaders walks the local headers from offset 0 and checks that they match the central
// directory one to one, in the order of their offsets, and end where the directory begins.
func checkLocalHeaders(r io.ReaderAt, files []*zip.File, dirOffset int64) error {
	type entry struct {
		f    *zip.File
		data int64
	}
	entries := make([]entry, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return mismatch("%v", err)
		}
		entries = append(entries, entry{f, off})
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.data, b.data) })
	var off int64
	var name []byte
	for _, e := range entries {
		f := e.f
		var h [localLen]byte
		if ok, err := readAt(r, h[:], off); err != nil {
			return err
		} else if !ok || binary.LittleEndian.Uint32(h[:]) != sigLocal {
			if off == 0 {
				return malformed("no member at the start of the file (is something prepended?)")
			}
			return mismatch("no local header at offset %d", off)
		}
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		crc := binary.LittleEndian.Uint32(h[14:])
		csize := binary.LittleEndian.Uint32(h[18:])
		usize := binary.LittleEndian.Uint32(h[22:])
		nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
		name = slices.Grow(name[:0], int(nameLen))[:nameLen]
		if ok, err := readAt(r, name, off+localLen); err != nil {
			return err
		} else if !ok {
			return mismatch("truncated local header at offset %d", off)
		}
		switch {
		case string(name) != f.Name:
			return mismatch("local name %s, central name %s", quoteShort(string(name)), quoteShort(f.Name))
		case method != f.Method:
			return mismatch("compression method of %s", quoteShort(f.Name))
		case flags&0x9 != f.Flags&0x9: // encrypted, data descriptor
			return mismatch("flags of %s", quoteShort(f.Name))
		case off+localLen+nameLen+extraLen != e.data:
			return mismatch("data offset of %s", quoteShort(f.Name))
		}
		if flags&0x8 == 0 {
			if crc != f.CRC32 {
				return mismatch("CRC-32 of %s", quoteShort(f.Name))
			}
			// 0xffffffff means the sizes are in the local zip64 extra field.
			if csize != 0xffffffff && uint64(csize) != f.CompressedSize64 ||
				usize != 0xffffffff && uint64(usize) != f.UncompressedSize64 {
				return mismatch("sizes of %s", quoteShort(f.Name))
			}
		}
		off = e.data + int64(f.CompressedSize64)
		if off < e.data {
			return mismatch("size of %s", quoteShort(f.Name))
		}
		if flags&0x8 != 0 {
			// Data descriptor: optional signature, CRC-32, then two sizes of 4 or 8 bytes.
			var sig [4]byte
			if ok, err := readAt(r, sig[:], off); err != nil {
				return err
			} else if !ok {
				return mismatch("truncated data descriptor of %s", quoteShort(f.Name))
			}
			if binary.LittleEndian.Uint32(sig[:]) == sigDataDesc {
				off += 4
			}
			if f.CompressedSize64 >= 0xffffffff || f.UncompressedSize64 >= 0xffffffff {
				off += 4 + 16
			} else {
				off += 4 + 8
			}
		}
	}
	if off != dirOffset {
		return mismatch("%d unaccounted bytes before the central directory", dirOffset-off)
	}
	return nil
}

// quoteShort quotes a member name for a message, cut to a readable length: names come from
// uploads and may be 64 KiB long.
func quoteShort(s string) string {
	const max = 100
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
