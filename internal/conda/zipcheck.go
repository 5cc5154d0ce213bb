package conda

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// A .conda holds three members; anything much larger is not a .conda, and archive/zip would
// otherwise allocate a File for every central-directory record before we could look.
const (
	maxZipMembers   = 16
	maxZipDirectory = 64 * kib
)

const (
	sigLocal     = 0x04034b50
	sigCentral   = 0x02014b50
	sigEnd       = 0x06054b50
	sigEnd64     = 0x06064b50
	sigLocator64 = 0x07064b50
	sigDataDesc  = 0x08074b50
)

// openZip opens the outer zip of a .conda after checking, in the spirit of Warehouse's
// _validate_zipfile, that a central-directory reader (archive/zip) and a streaming reader of the
// local headers would see the same members: no duplicates, no hidden or overlapping entries, no
// data after the end record.
func openZip(r io.ReaderAt, size int64) (*zip.Reader, error) {
	dirOffset, err := checkZipEnd(r, size)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return nil, invalidf("not a valid .conda (zip) archive: %v", err)
	}
	if zr.Comment != "" {
		// Nothing writes comments into a .conda; like Warehouse, refuse room for a second format.
		return nil, invalidf("the .conda archive has a zip comment")
	}
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		n := f.Name
		switch {
		case n == "" || n == "." || n == "..":
			return nil, invalidf("the .conda archive has a member named %q", n)
		case !utf8.ValidString(n):
			return nil, invalidf("the .conda archive has a member name that is not UTF-8: %q", n)
		case strings.ContainsAny(n, "/\\\x00"):
			return nil, invalidf("the .conda archive has a member with a path in its name: %q", n)
		case seen[n]:
			return nil, invalidf("the .conda archive has the member %q more than once", n)
		case f.Flags&0x1 != 0:
			return nil, invalidf("member %q of the .conda archive is encrypted", n)
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return nil, invalidf("member %q of the .conda archive uses the unsupported compression method %d", n, f.Method)
		}
		seen[n] = true
	}
	if err := checkLocalHeaders(r, zr.File, dirOffset); err != nil {
		return nil, err
	}
	return zr, nil
}

// checkZipEnd finds the end-of-central-directory record as archive/zip does (the last signature
// whose comment fits), insists that it ends the file, bounds the directory, and returns the
// directory's offset.
func checkZipEnd(r io.ReaderAt, size int64) (int64, error) {
	const endLen, locLen, end64Len = 22, 20, 56
	bad := func(reason string) error { return invalidf("not a valid .conda (zip) archive: %s", reason) }
	n := min(size, 65535+endLen)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, err
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
		return 0, bad("no end of central directory record")
	}
	e := buf[at:]
	if at+endLen+int(binary.LittleEndian.Uint16(e[20:])) != len(buf) {
		return 0, bad("data after the end of central directory record")
	}
	endAt := size - n + int64(at)
	dirEnd := uint64(endAt) // where the central directory must end
	records := uint64(binary.LittleEndian.Uint16(e[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	if records == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		if endAt < locLen {
			return 0, bad("missing zip64 locator")
		}
		var loc [locLen]byte
		if _, err := r.ReadAt(loc[:], endAt-locLen); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint32(loc[:]) != sigLocator64 {
			return 0, bad("missing zip64 locator")
		}
		off64 := binary.LittleEndian.Uint64(loc[8:])
		if off64 > uint64(size-end64Len) {
			return 0, bad("zip64 end record out of range")
		}
		var e64 [end64Len]byte
		if _, err := r.ReadAt(e64[:], int64(off64)); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint32(e64[:]) != sigEnd64 {
			return 0, bad("bad zip64 end record")
		}
		records = binary.LittleEndian.Uint64(e64[32:])
		dirSize = binary.LittleEndian.Uint64(e64[40:])
		dirOff = binary.LittleEndian.Uint64(e64[48:])
		dirEnd = off64
	}
	if records > maxZipMembers {
		return 0, invalidf("the .conda archive has %d members; a .conda has 3", records)
	}
	if dirSize > maxZipDirectory {
		return 0, bad("central directory too large")
	}
	if dirOff > dirEnd || dirSize != dirEnd-dirOff {
		return 0, bad("central directory does not end at the end record")
	}
	return int64(dirOff), nil
}

// checkLocalHeaders walks the local headers from offset 0 and checks that they match the central
// directory one to one, in order of their offsets, and end where the directory begins.
func checkLocalHeaders(r io.ReaderAt, files []*zip.File, dirOffset int64) error {
	bad := func(reason string, args ...any) error {
		return invalidf("the .conda zip's local headers disagree with its central directory: "+reason, args...)
	}
	type entry struct {
		f    *zip.File
		data int64
	}
	entries := make([]entry, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return bad("%v", err)
		}
		entries = append(entries, entry{f, off})
	}
	slices.SortFunc(entries, func(a, b entry) int { return int(min(max(a.data-b.data, -1), 1)) })
	var off int64
	for _, e := range entries {
		var h [30]byte
		if _, err := r.ReadAt(h[:], off); err != nil {
			return bad("no local header at offset %d", off)
		}
		if binary.LittleEndian.Uint32(h[:]) != sigLocal {
			return bad("no local header at offset %d", off)
		}
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
		name := make([]byte, nameLen)
		if _, err := r.ReadAt(name, off+30); err != nil {
			return bad("truncated local header at offset %d", off)
		}
		if string(name) != e.f.Name {
			return bad("local name %q, central name %q", name, e.f.Name)
		}
		if method != e.f.Method {
			return bad("compression method of %q", e.f.Name)
		}
		if off+30+nameLen+extraLen != e.data {
			return bad("data offset of %q", e.f.Name)
		}
		off = e.data + int64(e.f.CompressedSize64)
		if off < e.data {
			return bad("size of %q", e.f.Name)
		}
		if flags&0x8 != 0 {
			// Data descriptor: optional signature, CRC-32, then two sizes of 4 or 8 bytes.
			var sig [4]byte
			if _, err := r.ReadAt(sig[:], off); err != nil {
				return bad("truncated data descriptor of %q", e.f.Name)
			}
			if binary.LittleEndian.Uint32(sig[:]) == sigDataDesc {
				off += 4
			}
			if e.f.CompressedSize64 >= 0xffffffff || e.f.UncompressedSize64 >= 0xffffffff {
				off += 4 + 16
			} else {
				off += 4 + 8
			}
		}
	}
	if off != dirOffset {
		return bad("%d unaccounted bytes before the central directory", dirOffset-off)
	}
	return nil
}
