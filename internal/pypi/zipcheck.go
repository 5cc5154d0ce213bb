package pypi

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"io"
	"slices"
)

const (
	sigLocal     = 0x04034b50
	sigEnd       = 0x06054b50
	sigEnd64     = 0x06064b50
	sigLocator64 = 0x07064b50
	sigDataDesc  = 0x08074b50
)

// openZip opens a wheel or .zip sdist after checking, in the spirit of Warehouse's
// _validate_zipfile, that a reader of the central directory (archive/zip, pip) and a reader
// streaming the local headers would see the same members: no entries hidden between or before
// the members, no data after the end record, local headers that agree with the directory on
// name, method, flags, sizes and CRC. Entries must be stored or deflated and not encrypted; the
// archive may have no comment (room for a second format, as Warehouse says).
func (d *distReader) openZip(r io.ReaderAt, size int64) (*zip.Reader, error) {
	dirOffset, records, err := d.checkZipEnd(r, size)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		// ErrInsecurePath only appears under GODEBUG=zipinsecurepath=0; member names get
		// their own, clearer, check.
		return nil, d.invalidf("not a valid zip archive: %v", err)
	}
	if uint64(len(zr.File)) != records {
		// archive/zip compares the counts modulo 65536 only.
		return nil, d.invalidf("not a valid zip archive: the central directory holds %d entries, the end record says %d", len(zr.File), records)
	}
	if zr.Comment != "" {
		return nil, d.invalidf("the zip archive has a comment; rebuild it without one")
	}
	for _, f := range zr.File {
		switch {
		case f.Flags&0x1 != 0:
			return nil, d.invalidf("zip member %s is encrypted", quoteShort(f.Name))
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return nil, d.invalidf("zip member %s uses compression method %d; only stored and deflated members are accepted", quoteShort(f.Name), f.Method)
		}
	}
	if err := d.checkLocalHeaders(r, zr.File, dirOffset); err != nil {
		return nil, err
	}
	return zr, nil
}

// checkZipEnd finds the end-of-central-directory record as archive/zip does (the last signature
// whose comment fits), insists that it ends the file, bounds the number of entries, and returns
// the central directory's offset and the number of entries.
func (d *distReader) checkZipEnd(r io.ReaderAt, size int64) (dirOffset int64, records uint64, err error) {
	const endLen, locLen, end64Len = 22, 20, 56
	bad := func(reason string) error { return d.invalidf("not a valid zip archive: %s", reason) }
	n := min(size, 65535+endLen)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, 0, err
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
		return 0, 0, bad("no end of central directory record (is the file truncated?)")
	}
	e := buf[at:]
	if at+endLen+int(binary.LittleEndian.Uint16(e[20:])) != len(buf) {
		return 0, 0, bad("data after the end of central directory record")
	}
	endAt := size - n + int64(at)
	dirEnd := uint64(endAt) // where the central directory must end
	records = uint64(binary.LittleEndian.Uint16(e[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	if records == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		if endAt < locLen {
			return 0, 0, bad("missing zip64 locator")
		}
		var loc [locLen]byte
		if _, err := r.ReadAt(loc[:], endAt-locLen); err != nil {
			return 0, 0, bad("missing zip64 locator")
		}
		if binary.LittleEndian.Uint32(loc[:]) != sigLocator64 {
			return 0, 0, bad("missing zip64 locator")
		}
		off64 := binary.LittleEndian.Uint64(loc[8:])
		if endAt < locLen+end64Len || off64 > uint64(endAt-locLen-end64Len) {
			return 0, 0, bad("zip64 end record out of range")
		}
		var e64 [end64Len]byte
		if _, err := r.ReadAt(e64[:], int64(off64)); err != nil {
			return 0, 0, err
		}
		if binary.LittleEndian.Uint32(e64[:]) != sigEnd64 {
			return 0, 0, bad("bad zip64 end record")
		}
		// The record (12 bytes plus the size it declares) must end where the locator starts.
		if rest := binary.LittleEndian.Uint64(e64[4:]); rest > uint64(size) || off64+12+rest != uint64(endAt-locLen) {
			return 0, 0, bad("data between the zip64 end record and its locator")
		}
		records = binary.LittleEndian.Uint64(e64[32:])
		dirSize = binary.LittleEndian.Uint64(e64[40:])
		dirOff = binary.LittleEndian.Uint64(e64[48:])
		dirEnd = off64
	}
	if records > uint64(d.lim.MaxZipEntries) {
		return 0, 0, d.invalidf("the zip archive has %d entries; at most %d are accepted", records, d.lim.MaxZipEntries)
	}
	if records == 0 {
		return 0, 0, d.invalidf("the zip archive is empty")
	}
	if dirOff > dirEnd || dirSize != dirEnd-dirOff {
		return 0, 0, bad("the central directory does not end at the end record")
	}
	return int64(dirOff), records, nil
}

// checkLocalHeaders walks the local headers from offset 0 and checks that they match the central
// directory one to one, in the order of their offsets, and end where the directory begins.
func (d *distReader) checkLocalHeaders(r io.ReaderAt, files []*zip.File, dirOffset int64) error {
	bad := func(reason string, args ...any) error {
		return d.invalidf("the zip's local headers disagree with its central directory: "+reason, args...)
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
	var name []byte
	for _, e := range entries {
		f := e.f
		var h [30]byte
		if _, err := r.ReadAt(h[:], off); err != nil || binary.LittleEndian.Uint32(h[:]) != sigLocal {
			if off == 0 {
				return d.invalidf("not a valid zip archive: no member at the start of the file (is something prepended?)")
			}
			return bad("no local header at offset %d", off)
		}
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		crc := binary.LittleEndian.Uint32(h[14:])
		csize := binary.LittleEndian.Uint32(h[18:])
		usize := binary.LittleEndian.Uint32(h[22:])
		nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
		name = slices.Grow(name[:0], int(nameLen))[:nameLen]
		if _, err := r.ReadAt(name, off+30); err != nil {
			return bad("truncated local header at offset %d", off)
		}
		switch {
		case string(name) != f.Name:
			return bad("local name %s, central name %s", quoteShort(string(name)), quoteShort(f.Name))
		case method != f.Method:
			return bad("compression method of %s", quoteShort(f.Name))
		case flags&0x9 != f.Flags&0x9:
			return bad("flags of %s", quoteShort(f.Name))
		case off+30+nameLen+extraLen != e.data:
			return bad("data offset of %s", quoteShort(f.Name))
		}
		if flags&0x8 == 0 {
			if crc != f.CRC32 {
				return bad("CRC-32 of %s", quoteShort(f.Name))
			}
			// 0xffffffff means the sizes are in the local zip64 extra field.
			if csize != 0xffffffff && uint64(csize) != f.CompressedSize64 ||
				usize != 0xffffffff && uint64(usize) != f.UncompressedSize64 {
				return bad("sizes of %s", quoteShort(f.Name))
			}
		}
		off = e.data + int64(f.CompressedSize64)
		if off < e.data {
			return bad("size of %s", quoteShort(f.Name))
		}
		if flags&0x8 != 0 {
			// Data descriptor: optional signature, CRC-32, then two sizes of 4 or 8 bytes.
			var sig [4]byte
			if _, err := r.ReadAt(sig[:], off); err != nil {
				return bad("truncated data descriptor of %s", quoteShort(f.Name))
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
		return bad("%d unaccounted bytes before the central directory", dirOffset-off)
	}
	return nil
}
