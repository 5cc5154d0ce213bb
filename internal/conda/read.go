package conda

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/archivecheck"
	"github.com/wharfhq/wharf/internal/repodata"
)

// maxMemberName caps tar member names; real packages stay far below (CEP-26 caps filenames at
// 211 bytes, paths in a prefix are rarely longer than a few hundred).
const maxMemberName = 1024

// ReadPackage reads and validates a conda package: filename is the name it was uploaded under,
// r holds size bytes. It never extracts anything and holds at most the small JSON members of
// info/ (each capped by lim); every other member is streamed past, under a cap on the total
// decompressed size. Anything wrong with the file is an *InvalidPackageError; an error from r
// itself is returned as it is.
func ReadPackage(r io.ReaderAt, size int64, filename string, lim Limits) (*Package, error) {
	name, version, build, format, err := ParseFilename(filename)
	if err != nil {
		return nil, &InvalidPackageError{Reason: err.Error()}
	}
	if size <= 0 {
		return nil, invalidf("the file is empty")
	}
	rr := &archivecheck.RecordingReaderAt{R: r}
	s := newScanner(lim.orDefaults(), size)
	defer s.close()
	stem := strings.TrimSuffix(filename, format.Ext())
	switch format {
	case FormatConda:
		err = s.readConda(rr, size, stem)
	case FormatTarBz2:
		err = s.readTarBz2(rr, size)
	}
	if rr.Err != nil {
		return nil, rr.Err // the storage failed, not the package
	}
	if err != nil {
		return nil, err
	}
	if s.pkg == nil {
		// .tar.bz2: info/ may be anywhere in the archive, so index.json is checked at the end.
		if err := s.parseInfo(name, version, build); err != nil {
			return nil, err
		}
	}
	p := s.pkg
	p.Filename, p.Format = filename, format
	p.Flags = s.flags
	if s.sawPathsJSON {
		p.Flags.TextPrefix, p.Flags.BinaryPrefix = s.pathsPrefix.text, s.pathsPrefix.binary
	} else {
		p.Flags.TextPrefix, p.Flags.BinaryPrefix = s.hasPrefix.text, s.hasPrefix.binary
	}
	return p, nil
}

type prefixKinds struct{ text, binary bool }

// scanner holds the state of one ReadPackage call.
type scanner struct {
	lim    Limits
	budget archivecheck.Budget

	seed     maphash.Seed
	members  int
	seen     map[uint64]struct{} // member names (hashed: a million names must not cost a gigabyte)
	seenFold map[uint64]struct{} // lower-cased info/ member names
	symlinks map[uint64]struct{} // symlink names, to catch members written through a symlink

	index, about, runExports []byte
	recipe                   []byte
	recipeSeen               bool // conda-index reads the first recipe member it meets
	recipeOnly               bool // ReadRecipeSource: stop once the recipe is met
	flags                    repodata.Flags
	sawPathsJSON             bool
	pathsPrefix, hasPrefix   prefixKinds

	pkg *Package // set once info/index.json has been validated

	// zd is reused for both tars of a .conda: its history ring is as large as the frame's
	// window (128 MiB in packages made with zstd --ultra -22), allocating it once halves that.
	zd *zstd.Decoder
}

func newScanner(lim Limits, size int64) *scanner {
	return &scanner{
		lim:      lim,
		budget:   archivecheck.Budget{Max: lim.DecompressedCap(size)},
		seed:     maphash.MakeSeed(),
		seen:     make(map[uint64]struct{}),
		seenFold: make(map[uint64]struct{}),
		symlinks: make(map[uint64]struct{}),
	}
}

func (s *scanner) close() {
	if s.zd != nil {
		s.zd.Close()
	}
}

func (s *scanner) hash(name string) uint64 { return maphash.String(s.seed, name) }

func (s *scanner) bombError() error {
	return invalidf("decompressed size exceeds %s (possible decompression bomb)", humanSize(s.budget.Max))
}

// wrap turns an error met while decoding where into the error ReadPackage returns.
func (s *scanner) wrap(where string, err error) error {
	if s.budget.Exceeded || errors.Is(err, archivecheck.ErrTooLarge) {
		return s.bombError()
	}
	var ipe *InvalidPackageError
	if errors.As(err, &ipe) {
		return err
	}
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return invalidf("%s needs more than %s of zstd decoder memory (window or frame too large)", where, humanSize(int64(s.lim.MaxZstdMemory)))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return invalidf("%s is truncated", where)
	}
	return invalidf("%s is corrupt: %v", where, err)
}

// ReadRecipeSource reads only as much of a stored package as it takes to find its rendered
// recipe, under the same checks and caps as ReadPackage, and returns RecipeSource of it ({}
// when it has none). It is for packages stored before Wharf read recipes.
func ReadRecipeSource(r io.ReaderAt, size int64, filename string, lim Limits) (json.RawMessage, error) {
	_, _, _, format, err := ParseFilename(filename)
	if err != nil {
		return nil, &InvalidPackageError{Reason: err.Error()}
	}
	if size <= 0 {
		return nil, invalidf("the file is empty")
	}
	rr := &archivecheck.RecordingReaderAt{R: r}
	s := newScanner(lim.orDefaults(), size)
	s.recipeOnly = true
	defer s.close()
	switch format {
	case FormatConda:
		err = s.readConda(rr, size, strings.TrimSuffix(filename, format.Ext()))
	case FormatTarBz2:
		err = s.readTarBz2(rr, size)
	}
	if rr.Err != nil {
		return nil, rr.Err
	}
	if err != nil && !errors.Is(err, errRecipeFound) {
		return nil, err
	}
	return RecipeSource(s.recipe), nil
}

// errRecipeFound stops ReadRecipeSource's walk once the recipe is read.
var errRecipeFound = errors.New("recipe found")

// ---- .tar.bz2 ----

func (s *scanner) readTarBz2(r io.ReaderAt, size int64) error {
	var magic [3]byte
	if n, _ := r.ReadAt(magic[:], 0); n < 3 || string(magic[:]) != "BZh" {
		return invalidf("not a .tar.bz2 (bzip2) archive")
	}
	cr := &archivecheck.CountingReader{R: bzip2.NewReader(io.NewSectionReader(r, 0, size)), B: &s.budget}
	if err := s.walkTar(cr, "the .tar.bz2 archive", tarAny); err != nil {
		return err // errRecipeFound included: ReadRecipeSource is done
	}
	// Read to the end, so trailing garbage and bzip2 CRC errors are noticed too.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return s.wrap("the .tar.bz2 archive", err)
	}
	return nil
}

// ---- tar walking ----

type tarMode int

const (
	tarAny  tarMode = iota // .tar.bz2: info/ and payload together
	tarInfo                // .conda info-*.tar.zst: only info/
	tarPkg                 // .conda pkg-*.tar.zst: no info/
)

func underInfo(name string) bool { return name == "info" || strings.HasPrefix(name, "info/") }

func (s *scanner) walkTar(r io.Reader, where string, mode tarMode) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			// ErrInsecurePath only appears under GODEBUG=tarinsecurepath=0; our own checks
			// below reject such names with a better message.
			return s.wrap(where, err)
		}
		s.members++
		if s.members > s.lim.MaxMembers {
			return invalidf("the package has more than %d members", s.lim.MaxMembers)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX global metadata, not a file
		}
		name, err := s.checkMember(hdr, where, mode)
		if err != nil {
			return err
		}
		if name == "" || hdr.Typeflag == tar.TypeDir {
			continue
		}
		if strings.HasPrefix(name, "info/") {
			if hdr.Typeflag == tar.TypeReg {
				if err := s.readInfoMember(name, hdr.Size, tr); err != nil {
					return s.wrap(where, err)
				}
				if s.recipeOnly && s.recipeSeen {
					return errRecipeFound
				}
			}
			continue
		}
		addPathFlags(name, &s.flags)
	}
}

// checkMember applies the member rules and returns the cleaned name ("" for the root directory).
func (s *scanner) checkMember(hdr *tar.Header, where string, mode tarMode) (string, error) {
	raw := hdr.Name
	name, err := cleanMemberName(raw)
	if err != nil {
		return "", err
	}
	if problem := archivecheck.TarTypeProblem(hdr); problem != "" {
		return "", invalidf("member %q %s", raw, problem)
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return "", invalidf("member %q has no file name", raw)
		}
		return "", nil
	}
	lower := strings.ToLower(name)
	switch mode {
	case tarInfo:
		if !underInfo(name) {
			return "", invalidf("member %q of %s is outside info/", raw, where)
		}
	case tarPkg:
		if underInfo(lower) {
			return "", invalidf("member %q of %s belongs in the info archive", raw, where)
		}
	}
	inInfo := underInfo(lower)

	// A member below a symlink would be written through it on extraction.
	if link, ok := archivecheck.SymlinkAbove(name, s.seed, s.symlinks); ok {
		return "", invalidf("member %q lies inside the symlink %q", raw, link)
	}

	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if inInfo {
			return "", invalidf("member %q is a symlink inside info/", raw)
		}
		if err := checkSymlinkTarget(raw, name, hdr.Linkname); err != nil {
			return "", err
		}
		s.symlinks[s.hash(name)] = struct{}{}
	case tar.TypeLink:
		if inInfo {
			return "", invalidf("member %q is a hard link inside info/", raw)
		}
		if target, err := cleanMemberName(hdr.Linkname); err != nil || target == "" {
			return "", invalidf("hard link %q has the invalid target %q", raw, hdr.Linkname)
		}
	}

	if hdr.Typeflag != tar.TypeDir {
		h := s.hash(name)
		if _, dup := s.seen[h]; dup {
			return "", invalidf("member %q appears more than once", raw)
		}
		s.seen[h] = struct{}{}
		if inInfo {
			hl := s.hash(lower)
			if _, dup := s.seenFold[hl]; dup {
				return "", invalidf("member %q differs only in case from another info/ member", raw)
			}
			s.seenFold[hl] = struct{}{}
		}
	}
	return name, nil
}

// cleanMemberName rejects names that could land outside the extraction directory on any
// platform and returns the name cleaned ("./a//b" -> "a/b"; "" for the root itself).
func cleanMemberName(raw string) (string, error) {
	switch {
	case raw == "":
		return "", invalidf("a member has an empty name")
	case len(raw) > maxMemberName:
		return "", invalidf("member %q... has a name longer than %d bytes", raw[:64], maxMemberName)
	case strings.IndexByte(raw, 0) >= 0:
		return "", invalidf("member %q has a NUL byte in its name", raw)
	case strings.IndexByte(raw, '\\') >= 0:
		return "", invalidf("member %q has a backslash in its name", raw)
	case raw[0] == '/' || archivecheck.HasDriveLetter(raw):
		return "", invalidf("member %q is an absolute path", raw)
	}
	for seg := range strings.SplitSeq(raw, "/") {
		if seg == ".." {
			return "", invalidf("member %s escapes the package root", raw)
		}
	}
	name := path.Clean(raw)
	if name == "." {
		return "", nil
	}
	return name, nil
}

// checkSymlinkTarget allows relative targets that stay inside the package root, resolved from
// the link's own directory. An empty target (seen in real packages) resolves to that directory.
func checkSymlinkTarget(raw, name, target string) error {
	switch {
	case len(target) > maxMemberName:
		return invalidf("symlink %q has a target longer than %d bytes", raw, maxMemberName)
	case strings.IndexByte(target, 0) >= 0:
		return invalidf("symlink %q has a NUL byte in its target", raw)
	case strings.IndexByte(target, '\\') >= 0:
		return invalidf("symlink %q has a backslash in its target %q", raw, target)
	case strings.HasPrefix(target, "/") || archivecheck.HasDriveLetter(target):
		return invalidf("symlink %q points to the absolute path %q", raw, target)
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return invalidf("symlink %q -> %q escapes the package root", raw, target)
	}
	return nil
}

// addPathFlags sets channeldata's flags from one installed path, as conda-index does from
// paths.json: activate.d/deactivate.d by prefix, link scripts by fnmatch "*/.*-<kind>.*".
func addPathFlags(p string, f *repodata.Flags) {
	if strings.HasPrefix(p, "etc/conda/activate.d") {
		f.ActivateD = true
	}
	if strings.HasPrefix(p, "etc/conda/deactivate.d") {
		f.DeactivateD = true
	}
	if i := strings.Index(p, "/."); i >= 0 {
		rest := p[i+2:]
		if strings.Contains(rest, "-pre-link.") {
			f.PreLink = true
		}
		if strings.Contains(rest, "-post-link.") {
			f.PostLink = true
		}
		if strings.Contains(rest, "-pre-unlink.") {
			f.PreUnlink = true
		}
	}
}

// ---- info/ members ----

func (s *scanner) readInfoMember(name string, size int64, r io.Reader) error {
	var dst *[]byte
	var limit int64
	switch name {
	case "info/index.json":
		dst, limit = &s.index, s.lim.MaxIndexJSON
	case "info/about.json":
		dst, limit = &s.about, s.lim.MaxAboutJSON
	case "info/run_exports.json":
		dst, limit = &s.runExports, s.lim.MaxRunExportsJSON
	case "info/recipe/meta.yaml", "info/recipe/meta.yaml.rendered", "info/meta.yaml":
		if s.recipeSeen || size > s.lim.MaxRecipeYAML {
			s.recipeSeen = true
			return nil // streamed past: the recipe only adds channeldata's source_url
		}
		s.recipeSeen = true
		dst, limit = &s.recipe, s.lim.MaxRecipeYAML
	case "info/files", "info/has_prefix", "info/paths.json":
		if size > s.lim.MaxListing {
			return invalidf("%s is larger than %s", name, humanSize(s.lim.MaxListing))
		}
		lr := io.LimitReader(r, size)
		switch name {
		case "info/files":
			return scanLines(lr, func(line []byte) { addPathFlags(string(bytes.TrimSpace(line)), &s.flags) })
		case "info/has_prefix":
			return scanLines(lr, func(line []byte) { s.hasPrefixLine(line) })
		default:
			s.sawPathsJSON = true
			return s.scanPathsJSON(lr)
		}
	default:
		return nil
	}
	if size > limit {
		return invalidf("%s is larger than %s", name, humanSize(limit))
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	*dst = buf
	return nil
}

// scanLines calls fn for every line of r without holding more than one buffer: a longer line
// is passed truncated, which is enough for the prefixes and flags looked for.
func scanLines(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64*kib)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			fn(bytes.TrimRight(line, "\r\n"))
		}
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n') // skip the rest of an overlong line
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// hasPrefixLine reads one line of info/has_prefix: "<placeholder> <text|binary> <path>", or just
// "<path>" for a text placeholder.
func (s *scanner) hasPrefixLine(line []byte) {
	f := bytes.Fields(line)
	switch {
	case len(f) == 1:
		s.hasPrefix.text = true
	case len(f) >= 3 && string(f[1]) == "text":
		s.hasPrefix.text = true
	case len(f) >= 3 && string(f[1]) == "binary":
		s.hasPrefix.binary = true
	}
}

type pathsEntry struct {
	Path              string `json:"_path"`
	PrefixPlaceholder string `json:"prefix_placeholder"`
	FileMode          string `json:"file_mode"`
}

// scanPathsJSON streams info/paths.json one entry at a time.
func (s *scanner) scanPathsJSON(r io.Reader) error {
	bad := func(err error) error { return invalidf("info/paths.json is not valid: %v", err) }
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil {
		return bad(err)
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalidf("info/paths.json must be a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		if key, _ := tok.(string); key != "paths" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad(err)
			}
			continue
		}
		if tok, err := dec.Token(); err != nil {
			return bad(err)
		} else if d, ok := tok.(json.Delim); !ok || d != '[' {
			return invalidf("\"paths\" in info/paths.json must be a list")
		}
		for dec.More() {
			var e pathsEntry
			if err := dec.Decode(&e); err != nil {
				return bad(err)
			}
			if e.PrefixPlaceholder != "" {
				switch e.FileMode {
				case "binary":
					s.pathsPrefix.binary = true
				case "text":
					s.pathsPrefix.text = true
				}
			}
			addPathFlags(e.Path, &s.flags)
		}
		if _, err := dec.Token(); err != nil {
			return bad(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad(err)
	}
	return nil
}

// ---- .conda ----

// zstdReader starts decoding the zstd stream r with the memory caps of lim. Concurrency 1
// decodes in the calling goroutine, so nothing outlives ReadPackage.
func (s *scanner) zstdReader(r io.Reader) (*zstd.Decoder, error) {
	if s.zd != nil {
		return s.zd, s.zd.Reset(r)
	}
	zd, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(s.lim.MaxZstdMemory),
		zstd.WithDecoderMaxWindow(s.lim.MaxZstdMemory),
	)
	if err != nil {
		return nil, err
	}
	s.zd = zd
	return zd, nil
}

func (s *scanner) readConda(r io.ReaderAt, size int64, stem string) error {
	var magic [4]byte
	if n, _ := r.ReadAt(magic[:], 0); n < 4 || string(magic[:]) != "PK\x03\x04" {
		return invalidf("not a .conda (zip) archive")
	}
	zr, err := openZip(r, size)
	if err != nil {
		return err
	}
	var declared uint64
	byName := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if f.UncompressedSize64 > uint64(s.budget.Max) || declared > uint64(s.budget.Max) {
			return s.bombError()
		}
		byName[f.Name] = f
	}
	infoName, pkgName := "info-"+stem+".tar.zst", "pkg-"+stem+".tar.zst"
	for _, f := range zr.File {
		if f.Name != "metadata.json" && f.Name != infoName && f.Name != pkgName {
			return invalidf("unexpected member %q in the .conda archive (expected metadata.json, %s, %s)", f.Name, infoName, pkgName)
		}
	}
	for _, want := range []string{"metadata.json", infoName, pkgName} {
		if byName[want] == nil {
			return invalidf("the .conda archive has no %s", want)
		}
	}
	if err := s.checkCondaMetadata(byName["metadata.json"]); err != nil {
		return err
	}
	if err := s.readTarZst(byName[infoName], tarInfo); err != nil || s.recipeOnly {
		return err // errRecipeFound included: ReadRecipeSource is done
	}
	// Check index.json before spending time on the (large) payload.
	name, version, build, _, _ := ParseFilename(stem + ExtConda)
	if err := s.parseInfo(name, version, build); err != nil {
		return err
	}
	return s.readTarZst(byName[pkgName], tarPkg)
}

func (s *scanner) checkCondaMetadata(f *zip.File) error {
	const maxMetadata = 64 * kib
	if f.UncompressedSize64 > maxMetadata {
		return invalidf("metadata.json is larger than %s", humanSize(maxMetadata))
	}
	rc, err := f.Open()
	if err != nil {
		return s.wrap("metadata.json", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMetadata+1))
	if err != nil {
		return s.wrap("metadata.json", err)
	}
	if err := checkJSON("metadata.json", data, s.lim, false); err != nil {
		return err
	}
	var md struct {
		Version json.RawMessage `json:"conda_pkg_format_version"`
	}
	if err := json.Unmarshal(data, &md); err != nil {
		return invalidf("metadata.json is not valid: %v", err)
	}
	if string(md.Version) != "2" {
		return invalidf("metadata.json: conda_pkg_format_version is %s, want 2", orMissing(md.Version))
	}
	return nil
}

func orMissing(raw json.RawMessage) string {
	if raw == nil {
		return "missing"
	}
	return string(raw)
}

func (s *scanner) readTarZst(f *zip.File, mode tarMode) error {
	rc, err := f.Open()
	if err != nil {
		return s.wrap(f.Name, err)
	}
	defer rc.Close()
	zd, err := s.zstdReader(rc)
	if err != nil {
		return s.wrap(f.Name, err)
	}
	cr := &archivecheck.CountingReader{R: zd, B: &s.budget}
	if err := s.walkTar(cr, f.Name, mode); err != nil {
		return err
	}
	// Drain to the end of the member: this also makes archive/zip verify its CRC.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return s.wrap(f.Name, err)
	}
	return nil
}

// ---- index.json and friends ----

// parseInfo validates the JSON members of info/ and fills s.pkg.
func (s *scanner) parseInfo(name, version, build string) error {
	if s.index == nil {
		return invalidf("info/index.json is missing")
	}
	p, err := parseIndex(s.index, s.lim, name, version, build)
	if err != nil {
		return err
	}
	if s.about != nil {
		if err := checkJSON("info/about.json", s.about, s.lim, false); err != nil {
			return err
		}
		p.About = compactJSON(s.about)
	}
	if s.runExports != nil {
		re, err := normaliseRunExports(s.runExports, s.lim)
		if err != nil {
			return err
		}
		p.RunExports = re
	}
	p.RecipeSource = RecipeSource(s.recipe)
	s.pkg = p
	return nil
}

func normaliseRunExports(data []byte, lim Limits) (json.RawMessage, error) {
	const what = "info/run_exports.json"
	if err := checkJSON(what, data, lim, true); err != nil {
		return nil, err
	}
	data = compactJSON(data)
	if data[0] == '[' {
		var list []string
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, invalidf("%s must be a list of strings or an object of lists of strings", what)
		}
		return json.RawMessage(fmt.Appendf(nil, `{"weak":%s}`, data)), nil
	}
	var obj map[string][]string
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, invalidf("%s must be a list of strings or an object of lists of strings", what)
	}
	for k, v := range obj {
		if v == nil {
			return nil, invalidf("%q in %s must be a list of strings, not null", k, what)
		}
	}
	return json.RawMessage(data), nil
}
