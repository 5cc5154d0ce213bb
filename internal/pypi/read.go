package pypi

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"errors"
	"hash/maphash"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"github.com/wharfhq/wharf/internal/archivecheck"
)

// maxMemberName caps member names in an archive (PATH_MAX on Linux).
const maxMemberName = 4096

// maxWheelFile caps a wheel's .dist-info/WHEEL, a handful of short lines.
const maxWheelFile = 64 * kib

// ReadDist reads and validates an uploaded Python distribution: filename is the name it was
// uploaded under, r holds size bytes. It never extracts anything and holds at most the
// metadata file (capped by limits.MaxMetadata); a .tar.gz is streamed through once, under a cap
// on the decompressed bytes, and of a zip only the directory, the local headers and two small
// members are read.
//
// A wheel (.whl) must be a zip with exactly one top-level {name}-{version}.dist-info directory
// naming the filename's project and version, holding WHEEL (Wheel-Version 1.x) and METADATA.
// An sdist (.tar.gz, a gzip-compressed tar, or legacy .zip) must hold a single top-level
// directory with PKG-INFO in it. In every archive member paths must be relative, without "..",
// backslashes or control characters, each present once; in a tar, links must stay inside the
// root and nothing may lie below a symlink; zips must be consistent (see openZip). The metadata
// must be UTF-8 RFC 822 headers with one Metadata-Version, Name and Version; Name must
// normalize to the filename's project and Version be the filename's version (by PEP 440), and
// Requires-Python, if present, a valid specifier set.
//
// Anything wrong with the file is an *InvalidDistError; an error from r itself is returned as
// it is.
func ReadDist(r io.ReaderAt, size int64, filename string, limits Limits) (*Dist, error) {
	fn, err := ParseFilename(filename)
	if err != nil {
		return nil, err
	}
	d := &distReader{fn: filename, lim: limits.orDefaults(), seed: maphash.MakeSeed()}
	if size <= 0 {
		return nil, d.invalidf("the file is empty")
	}
	d.budget.Max = d.lim.DecompressedCap(size)
	d.size = size
	rr := &archivecheck.RecordingReaderAt{R: r}
	var raw []byte
	what := "PKG-INFO"
	switch fn.Ext {
	case ExtWheel:
		what = "METADATA"
		raw, err = d.readWheel(rr, size, fn)
	case ExtZip:
		raw, err = d.readSdistZip(rr, size)
	case ExtTarGz:
		raw, err = d.readSdistTarGz(rr, size)
	}
	if rr.Err != nil {
		return nil, rr.Err // the storage failed, not the upload
	}
	if err != nil {
		return nil, err
	}
	md, err := d.parseMetadata(what, raw)
	if err != nil {
		return nil, err
	}
	if NormalizeName(md.name) != NormalizeName(fn.Project) {
		return nil, d.invalidf("%s names the project %s, but the filename says %s: name the file after the project it holds",
			what, quoteShort(md.name), quoteShort(fn.Project))
	}
	fv, _ := parseVersion(fn.Version) // ParseFilename checked it
	if !sameVersion(md.version, fv) {
		return nil, d.invalidf("%s says version %s, but the filename says %s: name the file after the version it holds",
			what, quoteShort(md.versionText), quoteShort(fn.Version))
	}
	return &Dist{
		Filename:        fn,
		Name:            md.name,
		Version:         md.version.String(),
		MetadataVersion: md.metadataVersion,
		RequiresPython:  md.requiresPython,
		Summary:         md.summary,
		Metadata:        raw,
	}, nil
}

// distReader holds the state of one ReadDist.
type distReader struct {
	fn     string // the filename, for errors
	lim    Limits
	size   int64
	zip    bool // the archive is a zip: the budget applies to declared sizes
	budget archivecheck.Budget
	seed   maphash.Seed
}

func (d *distReader) invalidf(format string, args ...any) error {
	return invalidf(d.fn, format, args...)
}

func (d *distReader) hash(s string) uint64 { return maphash.String(d.seed, s) }

func (d *distReader) bombError() error {
	what := "it decompresses"
	if d.zip {
		what = "its members declare that they decompress"
	}
	return d.invalidf("%s to more than %s, the most accepted for a %s file (%d× its size, at least %s): this looks like a decompression bomb",
		what, humanSize(d.budget.Max), humanSize(d.size), d.lim.DecompressionRatio, humanSize(d.lim.MinDecompressed))
}

// streamErr turns an error met while decompressing into the uploader's fault.
func (d *distReader) streamErr(where string, err error) error {
	if d.budget.Exceeded || errors.Is(err, archivecheck.ErrTooLarge) {
		return d.bombError()
	}
	var ide *InvalidDistError
	if errors.As(err, &ide) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return d.invalidf("%s is corrupt or truncated: %s", where, shortErr(err))
}

// shortErr is err's message cut to a length fit for an error reply (library errors may quote
// input).
func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// ---- member names ----

// cleanName rejects member names that could land outside the extraction directory on any
// platform, or that are not plain text, and returns the name cleaned ("./a//b/" -> "a/b"; ""
// for the root itself).
func (d *distReader) cleanName(raw string) (string, error) {
	switch {
	case raw == "":
		return "", d.invalidf("an archive member has an empty name")
	case len(raw) > maxMemberName:
		return "", d.invalidf("archive member %s has a name longer than %d bytes", quoteShort(raw), maxMemberName)
	case !utf8.ValidString(raw):
		return "", d.invalidf("archive member %s has a name that is not UTF-8", quoteShort(raw))
	case strings.IndexByte(raw, '\\') >= 0:
		return "", d.invalidf("archive member %s has a backslash in its name; use '/' between directories", quoteShort(raw))
	case raw[0] == '/' || archivecheck.HasDriveLetter(raw):
		return "", d.invalidf("archive member %s is an absolute path; members must be relative", quoteShort(raw))
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f {
			return "", d.invalidf("archive member %s has a control character in its name", quoteShort(raw))
		}
	}
	for seg := range strings.SplitSeq(raw, "/") {
		if seg == ".." {
			return "", d.invalidf("archive member %s has \"..\" in its path, which would escape the directory it is unpacked into", quoteShort(raw))
		}
	}
	name := path.Clean(raw)
	if name == "." {
		return "", nil
	}
	return name, nil
}

// topDir returns the first path segment of a cleaned name.
func topDir(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

// ---- zips: wheels and .zip sdists ----

// zipMember is one checked entry of a zip.
type zipMember struct {
	f    *zip.File
	name string // cleaned
	dir  bool
}

// readZip checks that the file is a zip and nothing else, opens it (openZip), and checks
// the declared sizes and every member name.
func (d *distReader) readZip(r io.ReaderAt, size int64) ([]zipMember, error) {
	var head [512]byte
	n, _ := r.ReadAt(head[:], 0)
	if n < 4 || string(head[:4]) != "PK\x03\x04" {
		return nil, d.invalidf("not a zip archive, as a %s file must be (is it truncated, or another format renamed?)", extOf(d.fn))
	}
	if n == len(head) && isTarHeader(head[:]) {
		return nil, d.invalidf("the file is both a zip and a tar archive; upload a plain zip")
	}
	zr, err := d.openZip(r, size)
	if err != nil {
		return nil, err
	}
	d.zip = true
	var declared uint64
	members := make([]zipMember, 0, len(zr.File))
	seen := make(map[string]struct{}, len(zr.File))
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if f.UncompressedSize64 > uint64(d.budget.Max) || declared > uint64(d.budget.Max) {
			return nil, d.bombError()
		}
		name, err := d.cleanName(f.Name)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, d.invalidf("zip member %s has no file name", quoteShort(f.Name))
		}
		if _, dup := seen[name]; dup {
			return nil, d.invalidf("the zip archive has the member %s more than once", quoteShort(name))
		}
		seen[name] = struct{}{}
		members = append(members, zipMember{f: f, name: name, dir: strings.HasSuffix(f.Name, "/")})
	}
	return members, nil
}

func extOf(fn string) string {
	for _, e := range []string{ExtWheel, ExtTarGz, ExtZip} {
		if strings.HasSuffix(fn, e) {
			return e
		}
	}
	return ""
}

// readZipMember reads a small member whole, at most limit bytes.
func (d *distReader) readZipMember(m zipMember, limit int64) ([]byte, error) {
	if m.dir {
		return nil, d.invalidf("%s is a directory, not a file", quoteShort(m.name))
	}
	if m.f.UncompressedSize64 > uint64(limit) {
		return nil, d.invalidf("%s is larger than %s", quoteShort(m.name), humanSize(limit))
	}
	rc, err := m.f.Open()
	if err != nil {
		return nil, d.streamErr(quoteShort(m.name), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(&archivecheck.CountingReader{R: io.LimitReader(rc, limit+1), B: &d.budget})
	if err != nil {
		return nil, d.streamErr(quoteShort(m.name), err)
	}
	if int64(len(data)) > limit {
		return nil, d.invalidf("%s is larger than %s", quoteShort(m.name), humanSize(limit))
	}
	// archive/zip checks the CRC and the size when the member is read to its end; a member
	// shorter than its declared size therefore fails above.
	return data, nil
}

func (d *distReader) readWheel(r io.ReaderAt, size int64, fn Filename) ([]byte, error) {
	members, err := d.readZip(r, size)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]zipMember, len(members))
	var distInfos []string // in the order met
	seen := make(map[string]bool)
	for _, m := range members {
		byName[m.name] = m
		top := topDir(m.name)
		if strings.HasSuffix(top, ".dist-info") && (top != m.name || m.dir) && !seen[top] {
			seen[top] = true
			distInfos = append(distInfos, top)
		}
	}
	switch len(distInfos) {
	case 0:
		return nil, d.invalidf("the wheel has no top-level .dist-info directory; build it with a standard tool (pip wheel, python -m build)")
	case 1:
	default:
		return nil, d.invalidf("the wheel has %d .dist-info directories (%s and %s); a wheel has exactly one",
			len(distInfos), quoteShort(distInfos[0]), quoteShort(distInfos[1]))
	}
	di := distInfos[0]
	if err := d.checkDistInfoName(di, fn); err != nil {
		return nil, err
	}
	// Names in .dist-info that differ only in case would overwrite each other on Windows and
	// macOS; which METADATA an installer then sees is anyone's guess.
	folded := make(map[string]string)
	for _, m := range members {
		if strings.HasPrefix(m.name, di+"/") {
			l := strings.ToLower(m.name)
			if other, ok := folded[l]; ok {
				return nil, d.invalidf("wheel members %s and %s differ only in case", quoteShort(other), quoteShort(m.name))
			}
			folded[l] = m.name
		}
	}
	meta, ok := byName[di+"/METADATA"]
	if !ok {
		return nil, d.invalidf("the wheel has no %s/METADATA; build it with a standard tool (pip wheel, python -m build)", di)
	}
	wheel, ok := byName[di+"/WHEEL"]
	if !ok {
		return nil, d.invalidf("the wheel has no %s/WHEEL; build it with a standard tool (pip wheel, python -m build)", di)
	}
	wb, err := d.readZipMember(wheel, maxWheelFile)
	if err != nil {
		return nil, err
	}
	if err := d.checkWheelFile(wb); err != nil {
		return nil, err
	}
	return d.readZipMember(meta, d.lim.MaxMetadata)
}

// checkDistInfoName checks that the .dist-info directory is {name}-{version}.dist-info for the
// project and version of the filename (by normalized name and PEP 440 equality).
func (d *distReader) checkDistInfoName(di string, fn Filename) error {
	stem := strings.TrimSuffix(di, ".dist-info")
	name, version, ok := splitNameVersion(stem)
	if !ok {
		return d.invalidf("the wheel's metadata directory %s is not named {name}-{version}.dist-info", quoteShort(di))
	}
	v, _ := parseVersion(version)
	fv, _ := parseVersion(fn.Version)
	if NormalizeName(name) != NormalizeName(fn.Project) || !sameVersion(v, fv) {
		return d.invalidf("the wheel's metadata directory %s is for %s %s, but the filename says %s %s: name the file after what it holds, or rebuild the wheel",
			quoteShort(di), name, version, fn.Project, fn.Version)
	}
	return nil
}

// splitNameVersion splits "{name}-{version}" at the last '-' whose right side is a PEP 440
// version and whose left side is a valid name.
func splitNameVersion(s string) (name, version string, ok bool) {
	for i := len(s) - 1; i > 0; i-- {
		if s[i] != '-' {
			continue
		}
		if _, err := parseVersion(s[i+1:]); err == nil && ValidName(s[:i]) {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func (d *distReader) readSdistZip(r io.ReaderAt, size int64) ([]byte, error) {
	members, err := d.readZip(r, size)
	if err != nil {
		return nil, err
	}
	root := ""
	var pkgInfo *zipMember
	for i, m := range members {
		top := topDir(m.name)
		if err := d.checkRoot(&root, top, m.name, m.dir); err != nil {
			return nil, err
		}
		if m.name == top+"/PKG-INFO" {
			pkgInfo = &members[i]
		}
	}
	if pkgInfo == nil {
		return nil, d.noPKGINFO(root)
	}
	return d.readZipMember(*pkgInfo, d.lim.MaxMetadata)
}

func (d *distReader) noPKGINFO(root string) error {
	where := "PKG-INFO in a top-level directory"
	if root != "" {
		where = quoteShort(root + "/PKG-INFO")
	}
	return d.invalidf("the sdist has no %s; build it with a standard tool (python -m build --sdist)", where)
}

// checkRoot checks that every member of an sdist lies in one top-level directory.
func (d *distReader) checkRoot(root *string, top, name string, dir bool) error {
	if top == name && !dir {
		return d.invalidf("the sdist has the file %s at its top level; an sdist holds everything in one directory, {name}-{version}/", quoteShort(name))
	}
	if *root == "" {
		*root = top
	} else if top != *root {
		return d.invalidf("the sdist has more than one top-level directory (%s and %s); an sdist holds everything in one directory, {name}-{version}/",
			quoteShort(*root), quoteShort(top))
	}
	return nil
}

// isTarHeader reports whether a 512-byte block is a tar header with a valid checksum, as
// Python's tarfile.is_tarfile would accept it.
func isTarHeader(b []byte) bool {
	field := strings.Trim(string(b[148:156]), " \x00")
	if field == "" {
		return false
	}
	var want int64
	for i := 0; i < len(field); i++ {
		c := field[i]
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var unsigned, signed int64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// ---- .tar.gz sdists ----

func (d *distReader) readSdistTarGz(r io.ReaderAt, size int64) ([]byte, error) {
	var magic [3]byte
	if n, _ := r.ReadAt(magic[:], 0); n < 3 || magic != [3]byte{0x1f, 0x8b, 8} {
		return nil, d.invalidf("not a gzip file, as a .tar.gz sdist must be (is it truncated, or another format renamed?)")
	}
	// A zip reader looks for its directory at the end of the file, where deflate could have
	// hidden one: refuse a file that two kinds of readers would read differently.
	if zr, err := zip.NewReader(r, size); err == nil && len(zr.File) > 0 {
		return nil, d.invalidf("the file is both a gzip and a zip archive; upload a plain .tar.gz")
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64*kib)
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, d.invalidf("not a valid gzip file: %s", shortErr(err))
	}
	defer gz.Close()
	gz.Multistream(false)
	cr := &archivecheck.CountingReader{R: &gzipMembers{br: br, gz: gz}, B: &d.budget}
	w := &tarWalk{d: d, symlinks: map[uint64]struct{}{}, files: map[uint64]struct{}{}, dirs: map[uint64]struct{}{}}
	if err := w.walk(cr); err != nil {
		return nil, err
	}
	// Read to the end of the gzip stream: what follows the tar must be its zero padding, and
	// only at the end does gzip check its CRC (and refuse trailing garbage).
	if err := drainZeros(cr); err != nil {
		switch {
		case errors.Is(err, errNonZero):
			return nil, d.invalidf("the sdist has data after the end of its tar archive")
		case errors.Is(err, errAfterGzip):
			return nil, d.invalidf("the file has data after the end of its gzip stream")
		}
		return nil, d.streamErr("the gzip stream", err)
	}
	if w.pkgInfo == nil {
		return nil, d.noPKGINFO(w.root)
	}
	return w.pkgInfo, nil
}

var (
	errNonZero   = errors.New("non-zero data")
	errAfterGzip = errors.New("data after the gzip stream")
)

// gzipMembers reads a gzip stream of one or more members (as gzip -c a b > c makes) and fails
// with errAfterGzip at anything after the last member that is not another member.
type gzipMembers struct {
	br *bufio.Reader
	gz *gzip.Reader
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.gz.Read(p)
		if err != io.EOF {
			return n, err
		}
		// The end of a member, whose CRC and size gzip has checked.
		next, perr := g.br.Peek(2)
		switch {
		case len(next) == 0 && perr == io.EOF:
			return n, io.EOF
		case len(next) == 2 && next[0] == 0x1f && next[1] == 0x8b:
			if err := g.gz.Reset(g.br); err != nil {
				return n, err
			}
			g.gz.Multistream(false)
		case perr != nil && perr != io.EOF:
			return n, perr
		default:
			return n, errAfterGzip
		}
		if n > 0 {
			return n, nil
		}
	}
}

func drainZeros(r io.Reader) error {
	buf := make([]byte, 32*kib)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return errNonZero
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// tarWalk is the state of one pass over an sdist's tar.
type tarWalk struct {
	d        *distReader
	members  int
	root     string
	pkgInfo  []byte
	symlinks map[uint64]struct{} // hashes of symlink names
	files    map[uint64]struct{} // hashes of non-directory names
	dirs     map[uint64]struct{} // hashes of directory names
}

func (w *tarWalk) walk(r io.Reader) error {
	d := w.d
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			if w.members == 0 {
				return d.invalidf("the tar archive is empty")
			}
			return nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			// ErrInsecurePath only appears under GODEBUG=tarinsecurepath=0; our own checks
			// below reject such names with a better message.
			if d.budget.Exceeded {
				return d.bombError()
			}
			// Blame the layer that broke: a truncated or corrupt gzip stream also ends the tar.
			if _, gzErr := io.Copy(io.Discard, r); gzErr != nil {
				return d.streamErr("the gzip stream", gzErr)
			}
			if w.members == 0 {
				return d.invalidf("the gzip stream does not hold a tar archive, as a .tar.gz sdist must")
			}
			return d.streamErr("the tar archive", err)
		}
		w.members++
		if w.members > d.lim.MaxTarMembers {
			return d.invalidf("the tar archive has more than %d members", d.lim.MaxTarMembers)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX global metadata (git archive writes one), not a file
		}
		name, err := w.checkMember(hdr)
		if err != nil {
			return err
		}
		if name != w.root+"/PKG-INFO" {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return d.invalidf("%s is not a regular file", quoteShort(name))
		}
		if hdr.Size > d.lim.MaxMetadata {
			return d.invalidf("%s is larger than %s", quoteShort(name), humanSize(d.lim.MaxMetadata))
		}
		buf := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, buf); err != nil {
			return d.streamErr("the tar archive", err)
		}
		w.pkgInfo = buf
	}
}

// checkMember applies the member rules to one tar header and returns the cleaned name.
func (w *tarWalk) checkMember(hdr *tar.Header) (string, error) {
	d := w.d
	raw := hdr.Name
	name, err := d.cleanName(raw)
	if err != nil {
		return "", err
	}
	if problem := archivecheck.TarTypeProblem(hdr); problem != "" {
		return "", d.invalidf("tar member %s %s", quoteShort(raw), problem)
	}
	isDir := hdr.Typeflag == tar.TypeDir
	if name == "" {
		if !isDir {
			return "", d.invalidf("tar member %s has no file name", quoteShort(raw))
		}
		return "", nil
	}
	top := topDir(name)
	if err := d.checkRoot(&w.root, top, name, isDir); err != nil {
		return "", err
	}

	// A member below a symlink would be written through it on extraction.
	if link, ok := archivecheck.SymlinkAbove(name, d.seed, w.symlinks); ok {
		return "", d.invalidf("tar member %s lies inside the symlink %s", quoteShort(raw), quoteShort(link))
	}

	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if err := w.checkLinkTarget(raw, path.Join(path.Dir(name), hdr.Linkname), hdr.Linkname, "symlink"); err != nil {
			return "", err
		}
		w.symlinks[d.hash(name)] = struct{}{}
	case tar.TypeLink:
		if err := w.checkLinkTarget(raw, path.Clean(hdr.Linkname), hdr.Linkname, "hard link"); err != nil {
			return "", err
		}
	}

	h := d.hash(name)
	_, file := w.files[h]
	_, dir := w.dirs[h]
	if file || dir && !isDir {
		return "", d.invalidf("the tar archive has the member %s more than once", quoteShort(name))
	}
	if isDir {
		w.dirs[h] = struct{}{} // a directory may be listed twice, harmlessly
	} else {
		w.files[h] = struct{}{}
	}
	return name, nil
}

// checkLinkTarget allows link targets that are relative and, resolved (for a symlink, from
// the link's own directory), stay inside the sdist's root directory.
func (w *tarWalk) checkLinkTarget(raw, resolved, target, kind string) error {
	d := w.d
	switch {
	case target == "":
		return d.invalidf("%s %s has an empty target", kind, quoteShort(raw))
	case len(target) > maxMemberName:
		return d.invalidf("%s %s has a target longer than %d bytes", kind, quoteShort(raw), maxMemberName)
	case !utf8.ValidString(target) || strings.ContainsAny(target, "\x00\\"):
		return d.invalidf("%s %s has a target with a NUL, a backslash or invalid UTF-8", kind, quoteShort(raw))
	case target[0] == '/' || archivecheck.HasDriveLetter(target):
		return d.invalidf("%s %s points to the absolute path %s", kind, quoteShort(raw), quoteShort(target))
	}
	if resolved != w.root && !strings.HasPrefix(resolved, w.root+"/") {
		return d.invalidf("%s %s -> %s points outside the sdist's directory %s", kind, quoteShort(raw), quoteShort(target), quoteShort(w.root))
	}
	return nil
}

// ---- WHEEL ----

// checkWheelFile checks .dist-info/WHEEL: headers with one Wheel-Version of major version 1,
// the only one installers accept (pip refuses a higher major version).
func (d *distReader) checkWheelFile(b []byte) error {
	h, err := readHeaders(b)
	if err != nil {
		return d.invalidf("WHEEL is not a list of 'Field: value' lines: %s", shortErr(err))
	}
	v := h.Values("Wheel-Version")
	if len(v) != 1 {
		return d.invalidf("WHEEL must have one Wheel-Version field, not %d", len(v))
	}
	major, _, _ := strings.Cut(v[0], ".")
	if major != "1" {
		return d.invalidf("WHEEL says Wheel-Version %s; only version 1 wheels are accepted", quoteShort(v[0]))
	}
	return nil
}
