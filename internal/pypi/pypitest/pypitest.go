// Package pypitest builds Python distributions for tests: valid wheels and sdists (.tar.gz and
// .zip), and hostile ones (path traversal, duplicate members, lying zip headers, decompression
// bombs, polyglots) for testing that readers refuse them. Everything is built in memory and
// deterministically: the same Spec gives the same bytes. Long runs of zeros (Entry.Zeros) are
// compressed by repeating one precompressed MiB, so a 1 GiB bomb costs a few MiB and
// milliseconds to build.
package pypitest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is a distribution format.
type Kind string

const (
	Wheel Kind = ".whl"
	TarGz Kind = ".tar.gz" // sdist
	Zip   Kind = ".zip"    // legacy sdist
)

// Spec describes a distribution. The zero Spec is a valid wheel, demo-1.0-py3-none-any.whl.
type Spec struct {
	Kind    Kind   // default Wheel
	Name    string // default "demo"; '-' becomes '_' in the filename and directory names
	Version string // default "1.0"
	Build   string // wheel build tag
	Tags    string // wheel tags, default "py3-none-any"
	File    string // the filename, if not the one Name, Version, Build and Tags give

	// Generated metadata (METADATA in a wheel, PKG-INFO in an sdist): Metadata-Version,
	// Name and Version, then Fields (header lines such as "Summary: A demo") in order, then an
	// empty line and Description if set.
	MetadataVersion string // default "2.4"
	MetaName        string // the Name field, default Name
	MetaVersion     string // the Version field, default Version
	Fields          []string
	Description     string
	Metadata        []byte // the metadata file byte for byte, instead of the generated one

	Wheel    []byte // a wheel's WHEEL file, instead of the generated one
	DistInfo string // a wheel's .dist-info directory, default "{name}-{version}.dist-info"
	Root     string // an sdist's top directory, default "{name}-{version}"
	// Omit leaves generated members out: "METADATA", "WHEEL", "RECORD" (wheels), "PKG-INFO",
	// "root" (the sdist's directory entry).
	Omit []string

	// Files is the payload: paths from the top of a wheel, or inside an sdist's directory.
	Files map[string][]byte
	// Raw members, with names as they are: FirstEntries go before the generated members,
	// Entries after. A name equal to a generated member's makes a duplicate.
	FirstEntries, Entries []Entry

	// Zips (wheels and .zip sdists).
	ZipComment      string
	ZipPrefix       []byte // bytes before the first member (a self-extractor, a polyglot)
	ZipStore        bool   // store members instead of deflating them
	DataDescriptors bool   // sizes and CRC after the data, as streaming writers do

	// .tar.gz sdists.
	TarTrailer  []byte // bytes after the tar's end-of-archive blocks, inside the gzip stream
	GzipTrailer []byte // bytes after the gzip stream
}

// Entry is one raw archive member.
type Entry struct {
	Name string
	Data []byte
	// Zeros appends that many zero bytes to Data, compressed cheaply.
	Zeros int64

	// Zips.
	Method       uint16 // zip.Deflate by default (zip.Store if Spec.ZipStore); anything, for hostile tests
	DeclaredSize int64  // if > 0, the uncompressed size the headers declare, instead of the true one

	// Tars.
	Type     byte // default tar.TypeReg
	Linkname string
	Mode     int64 // default 0o644 (0o755 for directories)
}

func (s Spec) withDefaults() Spec {
	if s.Kind == "" {
		s.Kind = Wheel
	}
	if s.Name == "" {
		s.Name = "demo"
	}
	if s.Version == "" {
		s.Version = "1.0"
	}
	if s.Tags == "" {
		s.Tags = "py3-none-any"
	}
	if s.MetadataVersion == "" {
		s.MetadataVersion = "2.4"
	}
	if s.MetaName == "" {
		s.MetaName = s.Name
	}
	if s.MetaVersion == "" {
		s.MetaVersion = s.Version
	}
	esc := strings.ReplaceAll(s.Name, "-", "_")
	if s.DistInfo == "" {
		s.DistInfo = esc + "-" + s.Version + ".dist-info"
	}
	if s.Root == "" {
		s.Root = esc + "-" + s.Version
	}
	return s
}

// Filename returns the file name of the distribution.
func (s Spec) Filename() string {
	s = s.withDefaults()
	if s.File != "" {
		return s.File
	}
	esc := strings.ReplaceAll(s.Name, "-", "_")
	if s.Kind != Wheel {
		return esc + "-" + s.Version + string(s.Kind)
	}
	fn := esc + "-" + s.Version
	if s.Build != "" {
		fn += "-" + s.Build
	}
	return fn + "-" + s.Tags + ".whl"
}

// MetadataBytes returns the METADATA or PKG-INFO that Build writes for spec.
func MetadataBytes(spec Spec) []byte {
	s := spec.withDefaults()
	if s.Metadata != nil {
		return s.Metadata
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Metadata-Version: %s\nName: %s\nVersion: %s\n", s.MetadataVersion, s.MetaName, s.MetaVersion)
	for _, f := range s.Fields {
		b.WriteString(f + "\n")
	}
	if s.Description != "" {
		b.WriteString("\n" + s.Description)
	}
	return b.Bytes()
}

// WheelFile returns the WHEEL file Build writes for spec.
func WheelFile(spec Spec) []byte {
	s := spec.withDefaults()
	if s.Wheel != nil {
		return s.Wheel
	}
	var b bytes.Buffer
	b.WriteString("Wheel-Version: 1.0\nGenerator: pypitest\nRoot-Is-Purelib: true\n")
	if py, rest, ok := strings.Cut(s.Tags, "-"); ok {
		if abi, plat, ok := strings.Cut(rest, "-"); ok {
			for _, p := range strings.Split(py, ".") {
				for _, a := range strings.Split(abi, ".") {
					for _, pl := range strings.Split(plat, ".") {
						fmt.Fprintf(&b, "Tag: %s-%s-%s\n", p, a, pl)
					}
				}
			}
		}
	}
	if s.Build != "" {
		fmt.Fprintf(&b, "Build: %s\n", s.Build)
	}
	return b.Bytes()
}

// Build returns the bytes of the distribution described by spec.
func Build(t testing.TB, spec Spec) []byte {
	t.Helper()
	b, err := build(spec.withDefaults())
	if err != nil {
		t.Fatalf("pypitest: building %s: %v", spec.Filename(), err)
	}
	return b
}

// WriteFile builds the distribution into dir under its Filename and returns the path.
func WriteFile(t testing.TB, dir string, spec Spec) string {
	t.Helper()
	p := filepath.Join(dir, spec.Filename())
	if err := os.WriteFile(p, Build(t, spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(s Spec) ([]byte, error) {
	omit := func(what string) bool { return slices.Contains(s.Omit, what) }
	var gen []Entry
	if s.Kind == Wheel {
		for _, p := range slices.Sorted(maps.Keys(s.Files)) {
			gen = append(gen, Entry{Name: p, Data: s.Files[p]})
		}
		if !omit("METADATA") {
			gen = append(gen, Entry{Name: s.DistInfo + "/METADATA", Data: MetadataBytes(s)})
		}
		if !omit("WHEEL") {
			gen = append(gen, Entry{Name: s.DistInfo + "/WHEEL", Data: WheelFile(s)})
		}
		if !omit("RECORD") {
			var rec strings.Builder
			for _, e := range gen {
				sum := sha256.Sum256(e.Data)
				fmt.Fprintf(&rec, "%s,sha256=%s,%d\n", e.Name, base64.RawURLEncoding.EncodeToString(sum[:]), len(e.Data))
			}
			fmt.Fprintf(&rec, "%s/RECORD,,\n", s.DistInfo)
			gen = append(gen, Entry{Name: s.DistInfo + "/RECORD", Data: []byte(rec.String())})
		}
	} else {
		if !omit("root") {
			gen = append(gen, Entry{Name: s.Root + "/", Type: tar.TypeDir})
		}
		if !omit("PKG-INFO") {
			gen = append(gen, Entry{Name: s.Root + "/PKG-INFO", Data: MetadataBytes(s)})
		}
		for _, p := range slices.Sorted(maps.Keys(s.Files)) {
			gen = append(gen, Entry{Name: s.Root + "/" + p, Data: s.Files[p]})
		}
	}
	all := slices.Concat(s.FirstEntries, gen, s.Entries)
	if s.Kind == TarGz {
		return tarGz(all, s.TarTrailer, s.GzipTrailer)
	}
	var zs []Entry
	for _, e := range all {
		if e.Method == 0 && !s.ZipStore && !strings.HasSuffix(e.Name, "/") {
			e.Method = zip.Deflate
		}
		zs = append(zs, e)
	}
	return buildZip(zs, zipOptions{comment: s.ZipComment, prefix: s.ZipPrefix, dataDescriptors: s.DataDescriptors})
}

// ZipBytes returns a zip of entries (deflated unless an entry says otherwise), for building
// archives by hand.
func ZipBytes(t testing.TB, entries []Entry) []byte {
	t.Helper()
	es := slices.Clone(entries)
	for i := range es {
		if es[i].Method == 0 {
			es[i].Method = zip.Deflate
		}
	}
	b, err := buildZip(es, zipOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TarGzBytes returns a gzip-compressed tar of entries, for building archives by hand.
func TarGzBytes(t testing.TB, entries []Entry) []byte {
	t.Helper()
	b, err := tarGz(entries, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Gzip compresses data as one gzip member.
func Gzip(data []byte) []byte {
	return gzipFrame([]segment{{data: data}})
}

var epoch = time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC)

// ---- zip ----

type zipOptions struct {
	comment         string
	prefix          []byte
	dataDescriptors bool
}

func buildZip(entries []Entry, o zipOptions) ([]byte, error) {
	var b bytes.Buffer
	b.Write(o.prefix)
	zw := zip.NewWriter(&b)
	zw.SetOffset(int64(len(o.prefix)))
	for _, e := range entries {
		segs := []segment{{data: e.Data}, {zeros: e.Zeros}}
		var data []byte
		switch e.Method {
		case zip.Deflate:
			data = deflate(segs)
		default: // stored, or an unsupported method whose bytes do not matter
			data = slices.Concat(e.Data, make([]byte, e.Zeros))
		}
		size := uint64(len(e.Data)) + uint64(e.Zeros)
		if e.DeclaredSize > 0 {
			size = uint64(e.DeclaredSize)
		}
		hdr := &zip.FileHeader{
			Name:               e.Name,
			Method:             e.Method,
			Modified:           epoch,
			CRC32:              crc(segs),
			CompressedSize64:   uint64(len(data)),
			UncompressedSize64: size,
		}
		hdr.SetMode(0o644)
		if o.dataDescriptors {
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
	if o.comment != "" {
		if err := zw.SetComment(o.comment); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ---- tar.gz ----

// segment is a piece of an uncompressed stream: literal bytes, or a run of zeros.
type segment struct {
	data  []byte
	zeros int64
}

// segWriter collects a stream as segments, so long zero runs never exist in memory.
type segWriter struct {
	segs     []segment
	zeroMode bool
}

func (w *segWriter) Write(p []byte) (int, error) {
	if w.zeroMode {
		if n := len(w.segs); n > 0 && w.segs[n-1].data == nil {
			w.segs[n-1].zeros += int64(len(p))
		} else {
			w.segs = append(w.segs, segment{zeros: int64(len(p))})
		}
		return len(p), nil
	}
	if n := len(w.segs); n > 0 && w.segs[n-1].zeros == 0 {
		w.segs[n-1].data = append(w.segs[n-1].data, p...)
	} else {
		w.segs = append(w.segs, segment{data: slices.Clone(p)})
	}
	return len(p), nil
}

func tarGz(entries []Entry, tarTrailer, gzTrailer []byte) ([]byte, error) {
	w := &segWriter{}
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
				mode = 0o755
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
		w.zeroMode = true
		for left := e.Zeros; left > 0; {
			n := min(left, int64(len(zeros)))
			if _, err := tw.Write(zeros[:n]); err != nil {
				return nil, err
			}
			left -= n
		}
		w.zeroMode = false
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if len(tarTrailer) > 0 {
		w.Write(tarTrailer)
	}
	return append(gzipFrame(w.segs), gzTrailer...), nil
}

// ---- deflate and gzip by segments ----

// deflate compresses segments as one raw deflate stream. Each segment is compressed by a fresh
// compressor and flushed to a byte boundary, so the pieces concatenate; a run of zeros is one
// precompressed MiB repeated.
func deflate(segs []segment) []byte {
	var out bytes.Buffer
	var mib []byte
	for _, sg := range segs {
		if sg.data != nil {
			out.Write(flush(sg.data))
			continue
		}
		if mib == nil && sg.zeros >= 1<<20 {
			mib = flush(zeros)
		}
		for i := int64(0); i < sg.zeros>>20; i++ {
			out.Write(mib)
		}
		if rest := sg.zeros & (1<<20 - 1); rest > 0 {
			out.Write(flush(make([]byte, rest)))
		}
	}
	out.Write(finalBlock())
	return out.Bytes()
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

// zeros is a MiB of zeros, never written to.
var zeros = make([]byte, 1<<20)

// crc returns the CRC-32 of the segments' bytes.
func crc(segs []segment) uint32 {
	var c uint32
	for _, sg := range segs {
		c = crc32.Update(c, crc32.IEEETable, sg.data)
		for left := sg.zeros; left > 0; {
			n := min(left, int64(len(zeros)))
			c = crc32.Update(c, crc32.IEEETable, zeros[:n])
			left -= n
		}
	}
	return c
}

func gzipFrame(segs []segment) []byte {
	var size int64
	for _, sg := range segs {
		size += int64(len(sg.data)) + sg.zeros
	}
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	out = append(out, deflate(segs)...)
	out = binary.LittleEndian.AppendUint32(out, crc(segs))
	return binary.LittleEndian.AppendUint32(out, uint32(size))
}
