package archivecheck

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzOpenZip feeds arbitrary bytes to OpenZip, which reads them straight from uploads. It must
// never panic; a bytes.Reader never fails, so every error must be a *ZipError with a reason; an
// archive it accepts has between 1 and maxEntries entries, and its members are read through
// archive/zip as the callers will read them.
func FuzzOpenZip(f *testing.F) {
	f.Add(buildZip(f, "", member{name: "a", data: []byte("hello"), raw: true}), uint8(4))
	f.Add(buildZip(f, "", member{name: "a", data: []byte("hello")}, member{name: "b/", method: zip.Deflate}), uint8(4))
	f.Add(buildZip(f, "comment", member{name: "a", data: bytes.Repeat([]byte("ab"), 100), method: zip.Deflate}), uint8(4))
	f.Add(buildZip(f, "", member{name: "metadata.json", data: []byte(`{}`), raw: true},
		member{name: "info-x.tar.zst", raw: true}, member{name: "pkg-x.tar.zst", raw: true}), uint8(2))
	f.Add(toZip64(buildZip(f, "", member{name: "a", data: []byte("hello"), raw: true}, member{name: "b"})), uint8(4))
	f.Add(zip64OutOfRange(), uint8(4))
	f.Add([]byte("PK\x05\x06"+string(make([]byte, 18))), uint8(4))
	f.Add([]byte("PK\x03\x04"), uint8(4))

	f.Fuzz(func(t *testing.T, data []byte, maxEntries uint8) {
		zr, err := OpenZip(bytes.NewReader(data), int64(len(data)), int(maxEntries))
		if err != nil {
			var ze *ZipError
			if !errors.As(err, &ze) || ze.Reason == "" {
				t.Fatalf("error %v (%T) is not a *ZipError with a reason", err, err)
			}
			if zr != nil {
				t.Fatal("a reader and an error")
			}
			return
		}
		if len(zr.File) == 0 || len(zr.File) > int(maxEntries) {
			t.Fatalf("accepted %d entries with maxEntries %d", len(zr.File), maxEntries)
		}
		for _, f := range zr.File {
			if f.Method != zip.Store && f.Method != zip.Deflate {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				continue // encrypted, for example: the caller's policy
			}
			io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
			rc.Close()
		}
	})
}
