// Package archivetest writes tars, zips and compressed streams for the test-package builders
// (pypitest, condatest). It is for tests only.
//
// Everything is built in memory and deterministically: every member is dated 2024-06-10 UTC
// and the same input gives the same bytes. An uncompressed stream is kept as Segments, each
// literal bytes or a run of zeros, so a decompression bomb can be described without
// allocating it: a run of zeros is compressed by repeating one precompressed MiB, and a 1 GiB
// member costs a few MiB and milliseconds to build.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// Build returns the bytes build makes, or fails t with "pkg: building filename: error".
func Build(t testing.TB, pkg, filename string, build func() ([]byte, error)) []byte {
	t.Helper()
	b, err := build()
	if err != nil {
		t.Fatalf("%s: building %s: %v", pkg, filename, err)
	}
	return b
}

// WriteFile writes data into dir under filename and returns the path.
func WriteFile(t testing.TB, dir, filename string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filename)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var epoch = time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC)

// zeros is a MiB of zeros, never written to.
var zeros = make([]byte, 1<<20)

// ---- segments ----

// Segment is a piece of an uncompressed stream: literal bytes (Data, Zeros 0), or a run of
// Zeros zero bytes (Data nil).
type Segment struct {
	Data  []byte
	Zeros int64
}

// SegWriter collects a stream as segments. While Zeros is set, it keeps only the length of
// what is written (which must be zeros), so long zero runs never exist in memory.
type SegWriter struct {
	Segs  []Segment
	Zeros bool
}

func (w *SegWriter) Write(p []byte) (int, error) {
	if w.Zeros {
		if n := len(w.Segs); n > 0 && w.Segs[n-1].Data == nil {
			w.Segs[n-1].Zeros += int64(len(p))
		} else {
			w.Segs = append(w.Segs, Segment{Zeros: int64(len(p))})
		}
		return len(p), nil
	}
	if n := len(w.Segs); n > 0 && w.Segs[n-1].Zeros == 0 {
		w.Segs[n-1].Data = append(w.Segs[n-1].Data, p...)
	} else {
		w.Segs = append(w.Segs, Segment{Data: slices.Clone(p)})
	}
	return len(p), nil
}

// CRC32 returns the CRC-32 (IEEE) of the segments' bytes.
func CRC32(segs []Segment) uint32 {
	var c uint32
	for _, sg := range segs {
		c = crc32.Update(c, crc32.IEEETable, sg.Data)
		for left := sg.Zeros; left > 0; {
			n := min(left, int64(len(zeros)))
			c = crc32.Update(c, crc32.IEEETable, zeros[:n])
			left -= n
		}
	}
	return c
}

// Size returns the number of bytes in the segments.
func Size(segs []Segment) int64 {
	var size int64
	for _, sg := range segs {
		size += int64(len(sg.Data)) + sg.Zeros
	}
	return size
}

// Bytes returns the segments' bytes, zero runs included.
func Bytes(segs []Segment) []byte {
	var b bytes.Buffer
	for _, sg := range segs {
		b.Write(sg.Data)
		b.Write(make([]byte, sg.Zeros))
	}
	return b.Bytes()
}

// ---- tar ----

// TarEntry is one tar member.
type TarEntry struct {
	Name     string
	Type     byte // default tar.TypeReg
	Linkname string
	Mode     int64 // default 0o644, or Tar's dirMode for directories
	// Data is the content of a regular file, or the comment of a PAX global header
	// (tar.TypeXGlobalHeader); other types have no content.
	Data []byte
	// Zeros appends that many zero bytes to a regular file's Data.
	Zeros int64
}

// Tar writes entries as a PAX tar, as segments. Directories without a Mode get dirMode;
// character and block devices are 1,3.
func Tar(entries []TarEntry, dirMode int64) ([]Segment, error) {
	w := &SegWriter{}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = dirMode
			}
		}
		size := int64(0)
		if typ == tar.TypeReg {
			size = int64(len(e.Data)) + e.Zeros
		}
		hdr := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Linkname, Mode: mode, Size: size,
			ModTime: epoch, Format: tar.FormatPAX}
		if typ == tar.TypeChar || typ == tar.TypeBlock {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, Name: e.Name, PAXRecords: map[string]string{"comment": string(e.Data)}, Format: tar.FormatPAX}
			size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar header %q: %w", e.Name, err)
		}
		if size == 0 {
			continue
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, err
		}
		w.Zeros = true
		for left := e.Zeros; left > 0; {
			n := min(left, int64(len(zeros)))
			if _, err := tw.Write(zeros[:n]); err != nil {
				return nil, err
			}
			left -= n
		}
		w.Zeros = false
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return w.Segs, nil
}

// ---- compression by segments ----

// Compress compresses each segment with frame and concatenates the results, for formats whose
// readers decode concatenated frames or streams as one (zstd, bzip2, deflate blocks flushed to
// a byte boundary). A run of zeros is one precompressed MiB repeated, then the rest. frame must
// not modify or keep its argument. With no bytes to compress, the result is empty.
func Compress(segs []Segment, frame func([]byte) ([]byte, error)) ([]byte, error) {
	var out bytes.Buffer
	var mib []byte
	for _, sg := range segs {
		if sg.Data != nil {
			b, err := frame(sg.Data)
			if err != nil {
				return nil, err
			}
			out.Write(b)
			continue
		}
		if mib == nil && sg.Zeros >= 1<<20 {
			var err error
			if mib, err = frame(zeros); err != nil {
				return nil, err
			}
		}
		for i := int64(0); i < sg.Zeros>>20; i++ {
			out.Write(mib)
		}
		if rest := sg.Zeros & (1<<20 - 1); rest > 0 {
			b, err := frame(zeros[:rest])
			if err != nil {
				return nil, err
			}
			out.Write(b)
		}
	}
	return out.Bytes(), nil
}

// Deflate compresses segments as one raw deflate stream: each segment by a fresh compressor,
// flushed to a byte boundary so the pieces concatenate, then an empty final block.
func Deflate(segs []Segment) []byte {
	out, _ := Compress(segs, func(data []byte) ([]byte, error) { return flush(data), nil })
	return append(out, finalBlock()...)
}

// Gzip compresses segments as one gzip member, with no name and no modification time.
func Gzip(segs []Segment) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	out = append(out, Deflate(segs)...)
	out = binary.LittleEndian.AppendUint32(out, CRC32(segs))
	return binary.LittleEndian.AppendUint32(out, uint32(Size(segs)))
}

// finalBlock is an empty deflate block with the final bit set.
var finalBlock = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestSpeed)
	fw.Close()
	return b.Bytes()
})

// writers reuses flate compressors: a new one allocates over half a MiB.
var writers = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(io.Discard, flate.BestSpeed)
	return fw
}}

func flush(data []byte) []byte {
	var b bytes.Buffer
	fw := writers.Get().(*flate.Writer)
	defer writers.Put(fw)
	fw.Reset(&b)
	fw.Write(data)
	fw.Flush()
	return b.Bytes()
}

// ---- zip ----

// ZipEntry is one zip member.
type ZipEntry struct {
	Name string
	Data []byte
	// Zeros appends that many zero bytes to Data, compressed cheaply when deflated.
	Zeros int64
	// Method is zip.Store (the default) or zip.Deflate; any other method stores the bytes
	// under that method number, for hostile tests.
	Method uint16
	// DeclaredSize, if > 0, is the uncompressed size the headers declare instead of the true one.
	DeclaredSize int64
	// Mode, if set, is the member's mode (and marks the archive as made on Unix).
	Mode fs.FileMode
}

// ZipOptions are the archive-wide settings of Zip.
type ZipOptions struct {
	Comment         string
	Prefix          []byte // bytes before the first member (a self-extractor, a polyglot)
	DataDescriptors bool   // flag sizes and CRC as following the data, as streaming writers do
}

// Zip writes entries as a zip, in order.
func Zip(entries []ZipEntry, o ZipOptions) ([]byte, error) {
	var b bytes.Buffer
	b.Write(o.Prefix)
	zw := zip.NewWriter(&b)
	zw.SetOffset(int64(len(o.Prefix)))
	for _, e := range entries {
		segs := []Segment{{Data: e.Data}, {Zeros: e.Zeros}}
		var data []byte
		switch e.Method {
		case zip.Deflate:
			data = Deflate(segs)
		default: // stored, or an unsupported method whose bytes do not matter
			data = slices.Concat(e.Data, make([]byte, e.Zeros))
		}
		size := uint64(Size(segs))
		if e.DeclaredSize > 0 {
			size = uint64(e.DeclaredSize)
		}
		hdr := &zip.FileHeader{
			Name:               e.Name,
			Method:             e.Method,
			Modified:           epoch,
			CRC32:              CRC32(segs),
			CompressedSize64:   uint64(len(data)),
			UncompressedSize64: size,
		}
		if e.Mode != 0 {
			hdr.SetMode(e.Mode)
		}
		if o.DataDescriptors {
			hdr.Flags |= 0x8
		}
		w, err := zw.CreateRaw(hdr)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if o.Comment != "" {
		if err := zw.SetComment(o.Comment); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
