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
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/archivetest"
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
	return archivetest.Build(t, "pypitest", spec.Filename(), func() ([]byte, error) { return build(spec.withDefaults()) })
}

// WriteFile builds the distribution into dir under its Filename and returns the path.
func WriteFile(t testing.TB, dir string, spec Spec) string {
	t.Helper()
	return archivetest.WriteFile(t, dir, spec.Filename(), Build(t, spec))
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
	return buildZip(zs, archivetest.ZipOptions{Comment: s.ZipComment, Prefix: s.ZipPrefix, DataDescriptors: s.DataDescriptors})
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
	b, err := buildZip(es, archivetest.ZipOptions{})
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
	return archivetest.Gzip([]archivetest.Segment{{Data: data}})
}

func buildZip(entries []Entry, o archivetest.ZipOptions) ([]byte, error) {
	zs := make([]archivetest.ZipEntry, len(entries))
	for i, e := range entries {
		zs[i] = archivetest.ZipEntry{Name: e.Name, Data: e.Data, Zeros: e.Zeros, Method: e.Method,
			DeclaredSize: e.DeclaredSize, Mode: 0o644}
	}
	return archivetest.Zip(zs, o)
}

func tarGz(entries []Entry, tarTrailer, gzTrailer []byte) ([]byte, error) {
	ts := make([]archivetest.TarEntry, len(entries))
	for i, e := range entries {
		ts[i] = archivetest.TarEntry{Name: e.Name, Type: e.Type, Linkname: e.Linkname, Mode: e.Mode, Data: e.Data, Zeros: e.Zeros}
	}
	segs, err := archivetest.Tar(ts, 0o755)
	if err != nil {
		return nil, err
	}
	if len(tarTrailer) > 0 {
		w := archivetest.SegWriter{Segs: segs}
		w.Write(tarTrailer)
		segs = w.Segs
	}
	return append(archivetest.Gzip(segs), gzTrailer...), nil
}
