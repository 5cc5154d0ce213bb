// Package condatest builds real conda package files for tests: valid ones in both formats, and
// hostile ones (path traversal, links, duplicate members, decompression bombs, broken zips) for
// testing that readers reject them. Everything is built in memory and deterministically: the
// same Spec gives the same bytes.
package condatest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/archivetest"
)

// Format is a package file format.
type Format string

const (
	Conda  Format = "conda"   // v2: a zip of metadata.json, info-*.tar.zst, pkg-*.tar.zst
	TarBz2 Format = "tar.bz2" // v1: a bzip2-compressed tar
)

// Placeholder is the prefix placeholder conda-build writes into text files.
const Placeholder = "/opt/anaconda1anaconda2anaconda3"

// Spec describes a package. The zero Spec is a valid .conda: demo-1.0-0 for linux-64.
type Spec struct {
	Name, Version, Build string // default "demo", "1.0", "0"
	BuildNumber          int64
	Subdir               string // default "linux-64", or "noarch" when Noarch is set
	Noarch               string // "", "generic" or "python"
	Depends              []string
	Constrains           []string // nil: index.json has no constrains key
	Timestamp            int64    // ms since the epoch; default 1718000000000, -1 leaves it out
	License              string
	Format               Format // default Conda

	// Index is merged over the generated index.json; a nil value deletes the key.
	Index map[string]any
	// IndexJSON, if set, is info/index.json byte for byte (Index is then ignored).
	IndexJSON []byte
	// About is info/about.json (none if nil and AboutJSON is nil); AboutJSON is used raw.
	About     map[string]any
	AboutJSON []byte
	// RunExports is info/run_exports.json, a list or an object (none if nil).
	RunExports     any
	RunExportsJSON []byte
	// Info holds extra info/ files, keyed by their path below info/ ("recipe/meta.yaml").
	Info map[string][]byte

	// Files and Symlinks are the payload; Prefix marks payload files that contain a prefix
	// placeholder ("text" or "binary"), listed in info/has_prefix and info/paths.json.
	Files    map[string][]byte
	Symlinks map[string]string
	Prefix   map[string]string
	// NoPathsJSON leaves out info/paths.json, as very old packages do.
	NoPathsJSON bool

	// Raw tar entries for hostile packages. FirstEntries are written before every other member,
	// Entries after. An entry named like a generated member (info/index.json, ...) replaces it.
	FirstEntries, Entries []Entry

	// Outer zip of a .conda.
	Metadata       []byte      // replaces metadata.json
	ZipMembers     []ZipMember // written after the standard members (same name = duplicate)
	OmitZipMembers []string    // "metadata.json", "info" or "pkg"
	ZipDeflate     bool        // Deflate the standard members instead of storing them
	ZipComment     string
	ZipPrefix      []byte // bytes written before the zip (a polyglot or self-extractor)
	// ZstdWindow, if set, compresses the tars of a .conda as streams with this window size (a
	// power of two) and no content size, as conda-package-handling does; by default each
	// frame records its content size and needs no larger window.
	ZstdWindow int
}

// Entry is one raw tar member.
type Entry struct {
	Name     string
	Type     byte // default tar.TypeReg
	Linkname string
	Mode     int64 // default 0o644
	Data     []byte
	// Zeros appends that many zero bytes to Data; they are compressed as repeated frames or
	// streams, so a 1 GiB member costs a few KiB and a few milliseconds.
	Zeros int64
	// Archive places the entry in a .conda: "info" or "pkg"; by default info/ names go to the
	// info archive and the rest to pkg.
	Archive string
}

// ZipMember is one raw member of the outer zip of a .conda.
type ZipMember struct {
	Name   string
	Data   []byte
	Method uint16 // zip.Store (default) or zip.Deflate, or anything for hostile tests
}

func (s Spec) withDefaults() Spec {
	if s.Name == "" {
		s.Name = "demo"
	}
	if s.Version == "" {
		s.Version = "1.0"
	}
	if s.Build == "" {
		s.Build = "0"
	}
	if s.Subdir == "" {
		s.Subdir = "linux-64"
		if s.Noarch != "" {
			s.Subdir = "noarch"
		}
	}
	if s.Timestamp == 0 {
		s.Timestamp = 1718000000000
	}
	if s.Format == "" {
		s.Format = Conda
	}
	return s
}

// Stem returns "<name>-<version>-<build>".
func (s Spec) Stem() string {
	s = s.withDefaults()
	return s.Name + "-" + s.Version + "-" + s.Build
}

// Filename returns the file name of the package: Stem plus ".conda" or ".tar.bz2".
func (s Spec) Filename() string {
	s = s.withDefaults()
	return s.Stem() + "." + string(s.Format)
}

// Build returns the bytes of the package described by spec.
func Build(t testing.TB, spec Spec) []byte {
	t.Helper()
	return archivetest.Build(t, "condatest", spec.Filename(), func() ([]byte, error) { return build(spec.withDefaults()) })
}

// WriteFile builds the package into dir under its Filename and returns the path.
func WriteFile(t testing.TB, dir string, spec Spec) string {
	t.Helper()
	return archivetest.WriteFile(t, dir, spec.Filename(), Build(t, spec))
}

// IndexJSON returns the info/index.json Build writes for spec (without IndexJSON override).
func IndexJSON(spec Spec) map[string]any {
	s := spec.withDefaults()
	deps := s.Depends
	if deps == nil {
		deps = []string{}
	}
	idx := map[string]any{
		"name":         s.Name,
		"version":      s.Version,
		"build":        s.Build,
		"build_number": s.BuildNumber,
		"depends":      deps,
		"subdir":       s.Subdir,
	}
	if s.Timestamp > 0 {
		idx["timestamp"] = s.Timestamp
	}
	if s.Constrains != nil {
		idx["constrains"] = s.Constrains
	}
	if s.Noarch != "" {
		idx["noarch"] = s.Noarch
	}
	if s.License != "" {
		idx["license"] = s.License
	}
	for k, v := range s.Index {
		if v == nil {
			delete(idx, k)
		} else {
			idx[k] = v
		}
	}
	return idx
}

func build(s Spec) ([]byte, error) {
	info, payload, err := members(s)
	if err != nil {
		return nil, err
	}
	replaced := map[string]bool{}
	for _, e := range append(slices.Clone(s.FirstEntries), s.Entries...) {
		replaced[e.Name] = true
	}
	var std []Entry
	for _, e := range append(info, payload...) {
		if !replaced[e.Name] {
			std = append(std, e)
		}
	}
	all := append(append(slices.Clone(s.FirstEntries), std...), s.Entries...)

	if s.Format == TarBz2 {
		segs, err := writeTar(all)
		if err != nil {
			return nil, err
		}
		return compressSegments(segs, bzip2Stream)
	}
	var infoEntries, pkgEntries []Entry
	for _, e := range all {
		where := e.Archive
		if where == "" {
			where = "pkg"
			if e.Name == "info" || strings.HasPrefix(e.Name, "info/") {
				where = "info"
			}
		}
		if where == "info" {
			infoEntries = append(infoEntries, e)
		} else {
			pkgEntries = append(pkgEntries, e)
		}
	}
	infoTar, err := tarZst(infoEntries, s.ZstdWindow)
	if err != nil {
		return nil, err
	}
	pkgTar, err := tarZst(pkgEntries, s.ZstdWindow)
	if err != nil {
		return nil, err
	}
	md := s.Metadata
	if md == nil {
		md = []byte(`{"conda_pkg_format_version": 2}`)
	}
	method := uint16(zip.Store)
	if s.ZipDeflate {
		method = zip.Deflate
	}
	stem := s.Stem()
	var zms []ZipMember
	for _, m := range []struct {
		key  string
		zm   ZipMember
		omit bool
	}{
		{"metadata.json", ZipMember{"metadata.json", md, method}, false},
		{"pkg", ZipMember{"pkg-" + stem + ".tar.zst", pkgTar, method}, false},
		{"info", ZipMember{"info-" + stem + ".tar.zst", infoTar, method}, false},
	} {
		if !slices.Contains(s.OmitZipMembers, m.key) {
			zms = append(zms, m.zm)
		}
	}
	zms = append(zms, s.ZipMembers...)
	return Zip(zms, s.ZipComment, s.ZipPrefix)
}

// members returns the generated info/ and payload entries, each sorted by name.
func members(s Spec) (info, payload []Entry, err error) {
	infoFiles := map[string][]byte{}
	index := s.IndexJSON
	if index == nil {
		if index, err = marshal(IndexJSON(s)); err != nil {
			return nil, nil, err
		}
	}
	infoFiles["index.json"] = index
	var about, runExports any // a nil map in an interface would marshal as null
	if s.About != nil {
		about = s.About
	}
	if s.RunExports != nil {
		runExports = s.RunExports
	}
	if b, err := jsonOrRaw(about, s.AboutJSON); err != nil {
		return nil, nil, err
	} else if b != nil {
		infoFiles["about.json"] = b
	}
	if b, err := jsonOrRaw(runExports, s.RunExportsJSON); err != nil {
		return nil, nil, err
	} else if b != nil {
		infoFiles["run_exports.json"] = b
	}

	var paths []map[string]any
	var files, hasPrefix strings.Builder
	for _, p := range slices.Sorted(maps.Keys(s.Files)) {
		data := s.Files[p]
		payload = append(payload, Entry{Name: p, Data: data, Mode: 0o644})
		sum := sha256.Sum256(data)
		e := map[string]any{"_path": p, "path_type": "hardlink", "sha256": hex.EncodeToString(sum[:]), "size_in_bytes": len(data)}
		if mode := s.Prefix[p]; mode != "" {
			e["prefix_placeholder"], e["file_mode"] = Placeholder, mode
			fmt.Fprintf(&hasPrefix, "%s %s %s\n", Placeholder, mode, p)
		}
		paths = append(paths, e)
	}
	for _, p := range slices.Sorted(maps.Keys(s.Symlinks)) {
		payload = append(payload, Entry{Name: p, Type: tar.TypeSymlink, Linkname: s.Symlinks[p], Mode: 0o777})
		paths = append(paths, map[string]any{"_path": p, "path_type": "softlink"})
	}
	slices.SortFunc(payload, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(paths, func(a, b map[string]any) int { return strings.Compare(a["_path"].(string), b["_path"].(string)) })
	for _, e := range payload {
		files.WriteString(e.Name + "\n")
	}
	infoFiles["files"] = []byte(files.String())
	if hasPrefix.Len() > 0 {
		infoFiles["has_prefix"] = []byte(hasPrefix.String())
	}
	if !s.NoPathsJSON {
		if paths == nil {
			paths = []map[string]any{}
		}
		b, err := marshal(map[string]any{"paths": paths, "paths_version": 1})
		if err != nil {
			return nil, nil, err
		}
		infoFiles["paths.json"] = b
	}
	maps.Copy(infoFiles, s.Info)
	for _, p := range slices.Sorted(maps.Keys(infoFiles)) {
		info = append(info, Entry{Name: "info/" + p, Data: infoFiles[p], Mode: 0o644})
	}
	return info, payload, nil
}

func jsonOrRaw(v any, raw []byte) ([]byte, error) {
	if raw != nil {
		return raw, nil
	}
	if v == nil {
		return nil, nil
	}
	return marshal(v)
}

// marshal indents like conda-build and leaves "<", ">" and "&" alone, as Python's json does.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func writeTar(entries []Entry) ([]archivetest.Segment, error) {
	ts := make([]archivetest.TarEntry, len(entries))
	for i, e := range entries {
		ts[i] = archivetest.TarEntry{Name: e.Name, Type: e.Type, Linkname: e.Linkname, Mode: e.Mode, Data: e.Data, Zeros: e.Zeros}
	}
	return archivetest.Tar(ts, 0o644)
}

// compressSegments compresses each segment as its own stream (bzip2) or frame (zstd); readers
// decode concatenated streams as one. An empty stream is compress(nil).
func compressSegments(segs []archivetest.Segment, compress func([]byte) ([]byte, error)) ([]byte, error) {
	b, err := archivetest.Compress(segs, compress)
	if err == nil && len(b) == 0 {
		return compress(nil)
	}
	return b, err
}

func bzip2Stream(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := bzip2.NewWriter(&b, &bzip2.WriterConfig{Level: bzip2.BestSpeed})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// frameEncoder is shared: a new encoder allocates megabytes of tables, which dominated the cost
// of building small packages (bench/ builds tens of thousands). EncodeAll may be called
// concurrently and gives the same bytes as a fresh encoder.
var frameEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
})

func zstdFrame(data []byte) ([]byte, error) {
	enc, err := frameEncoder()
	if err != nil {
		return nil, err
	}
	return enc.EncodeAll(data, nil), nil
}

func zstdStream(window int) func([]byte) ([]byte, error) {
	return func(data []byte) ([]byte, error) {
		var b bytes.Buffer
		enc, err := zstd.NewWriter(&b, zstd.WithWindowSize(window), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		// Write through a plain io.Writer so the encoder cannot learn the size up front.
		if _, err := bytes.NewReader(data).WriteTo(struct{ io.Writer }{enc}); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}

func tarZst(entries []Entry, window int) ([]byte, error) {
	segs, err := writeTar(entries)
	if err != nil {
		return nil, err
	}
	if window > 0 {
		return compressSegments(segs, zstdStream(window))
	}
	return compressSegments(segs, zstdFrame)
}

// TarZst returns a zstd-compressed tar of entries, for building .conda members by hand.
func TarZst(t testing.TB, entries []Entry) []byte {
	t.Helper()
	b, err := tarZst(entries, 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Tar returns the uncompressed tar of entries (Zeros included).
func Tar(t testing.TB, entries []Entry) []byte {
	t.Helper()
	segs, err := writeTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	return archivetest.Bytes(segs)
}

// TarBz2Bytes returns a bzip2-compressed tar of entries: a .tar.bz2 with nothing generated.
func TarBz2Bytes(t testing.TB, entries []Entry) []byte {
	t.Helper()
	segs, err := writeTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	b, err := compressSegments(segs, bzip2Stream)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Zip writes members as a zip, in order and without data descriptors (as conda-package-handling
// does), with an optional archive comment and bytes before the first member.
func Zip(members []ZipMember, comment string, prefix []byte) ([]byte, error) {
	zs := make([]archivetest.ZipEntry, len(members))
	for i, m := range members {
		zs[i] = archivetest.ZipEntry{Name: m.Name, Data: m.Data, Method: m.Method}
	}
	return archivetest.Zip(zs, archivetest.ZipOptions{Comment: comment, Prefix: prefix})
}
