package archivetest_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"hash/crc32"
	"io"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/internal/archivetest"
)

func TestSegments(t *testing.T) {
	var w archivetest.SegWriter
	w.Write([]byte("ab"))
	w.Write([]byte("c"))
	w.Zeros = true
	w.Write(make([]byte, 3))
	w.Write(make([]byte, 2<<20))
	w.Zeros = false
	w.Write([]byte("d"))
	want := []archivetest.Segment{{Data: []byte("abc")}, {Zeros: 3 + 2<<20}, {Data: []byte("d")}}
	if !slices.EqualFunc(w.Segs, want, func(a, b archivetest.Segment) bool { return bytes.Equal(a.Data, b.Data) && a.Zeros == b.Zeros }) {
		t.Fatalf("segments %v", w.Segs)
	}
	all := archivetest.Bytes(w.Segs)
	if got := archivetest.Size(w.Segs); got != int64(len(all)) {
		t.Errorf("Size = %d, want %d", got, len(all))
	}
	if got := archivetest.CRC32(w.Segs); got != crc32.ChecksumIEEE(all) {
		t.Errorf("CRC32 = %#x, want %#x", got, crc32.ChecksumIEEE(all))
	}
	// An identity frame concatenates back to the stream.
	got, err := archivetest.Compress(w.Segs, func(b []byte) ([]byte, error) { return slices.Clone(b), nil })
	if err != nil || !bytes.Equal(got, all) {
		t.Errorf("Compress with an identity frame: %d bytes, %v; want %d bytes", len(got), err, len(all))
	}
}

func TestTarGzip(t *testing.T) {
	segs, err := archivetest.Tar([]archivetest.TarEntry{
		{Name: "pax_global_header", Type: tar.TypeXGlobalHeader, Data: []byte("hi")},
		{Name: "d/", Type: tar.TypeDir},
		{Name: "d/f", Data: []byte("x"), Zeros: 3<<20 + 5},
		{Name: "d/l", Type: tar.TypeSymlink, Linkname: "f"},
	}, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	data := archivetest.Gzip(segs)
	if len(data) > 64<<10 {
		t.Errorf("3 MiB of zeros took %d bytes", len(data))
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	type member struct {
		name string
		mode int64
		size int64
	}
	var got []member
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader && h.PAXRecords["comment"] != "hi" {
			t.Errorf("%s: global comment %q", h.Name, h.PAXRecords["comment"])
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "d/f" && (b[0] != 'x' || bytes.ContainsFunc(b[1:], func(r rune) bool { return r != 0 })) {
			t.Errorf("d/f has the wrong content")
		}
		got = append(got, member{h.Name, h.Mode, int64(len(b))})
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		t.Errorf("gzip trailer: %v", err)
	}
	want := []member{{"pax_global_header", 0, 0}, {"d/", 0o750, 0}, {"d/f", 0o644, 3<<20 + 6}, {"d/l", 0o644, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if a, _ := archivetest.Tar([]archivetest.TarEntry{{Name: "a", Zeros: 10}}, 0); !bytes.Equal(archivetest.Gzip(a), archivetest.Gzip(a)) {
		t.Error("not deterministic")
	}
}

func TestZip(t *testing.T) {
	prefix := []byte("#!/bin/sh\nexit 0\n")
	data, err := archivetest.Zip([]archivetest.ZipEntry{
		{Name: "deflated", Data: []byte("abc"), Zeros: 2<<20 + 1, Method: zip.Deflate, Mode: 0o644},
		{Name: "stored", Data: []byte("hello")},
		{Name: "lying", Data: []byte("hello"), Method: zip.Deflate, DeclaredSize: 3},
	}, archivetest.ZipOptions{Comment: "note", Prefix: prefix, DataDescriptors: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, prefix) || len(data) > 64<<10 {
		t.Fatalf("%d bytes, prefix %q", len(data), data[:len(prefix)])
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Comment != "note" || len(zr.File) != 3 {
		t.Fatalf("comment %q, %d members", zr.Comment, len(zr.File))
	}
	for i, want := range []struct {
		method uint16
		mode   bool
		size   uint64
	}{{zip.Deflate, true, 2<<20 + 4}, {zip.Store, false, 5}, {zip.Deflate, false, 3}} {
		f := zr.File[i]
		if f.Method != want.method || (f.Mode() == 0o644) != want.mode || f.UncompressedSize64 != want.size || f.Flags&0x8 == 0 {
			t.Errorf("%s: method %d mode %v size %d flags %#x", f.Name, f.Method, f.Mode(), f.UncompressedSize64, f.Flags)
		}
		if f.Name == "lying" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, rc); err != nil || uint64(n) != want.size {
			t.Errorf("%s: read %d bytes: %v", f.Name, n, err) // a CRC or size error
		}
		rc.Close()
	}
}
