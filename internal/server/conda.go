package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/store"
)

// condaPath is a parsed /conda/… URL.
type condaPath struct {
	channel string // "acme" or "acme/dev"
	label   string // "main" when the URL names none
	subdir  string // "" for channeldata.json
	file    string // "repodata.json", "shards/<hash>.msgpack.zst", a package filename, …
}

// parseCondaPath reads /conda/<channel>[/<sub>][/label/<label>]/<subdir>/<file> and
// /conda/<channel>[/<sub>][/label/<label>]/channeldata.json. It parses from the end, since
// labels may contain '/'.
func parseCondaPath(p string, isSubdir func(string) bool) (condaPath, bool) {
	p = strings.TrimPrefix(p, "/conda/")
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return condaPath{}, false
		}
	}
	var cp condaPath
	n := len(segs)
	switch {
	case n >= 2 && segs[n-1] == "channeldata.json":
		cp.file, segs = "channeldata.json", segs[:n-1]
	case n >= 4 && segs[n-2] == "shards" && isSubdir(segs[n-3]):
		cp.subdir, cp.file, segs = segs[n-3], "shards/"+segs[n-1], segs[:n-3]
	case n >= 3 && isSubdir(segs[n-2]):
		cp.subdir, cp.file, segs = segs[n-2], segs[n-1], segs[:n-2]
	default:
		return condaPath{}, false
	}
	cp.channel, segs = segs[0], segs[1:]
	if len(segs) > 0 && segs[0] != "label" {
		cp.channel += "/" + segs[0]
		segs = segs[1:]
	}
	cp.label = "main"
	if len(segs) > 0 {
		if segs[0] != "label" || len(segs) < 2 {
			return condaPath{}, false
		}
		cp.label = strings.Join(segs[1:], "/")
	}
	return cp, true
}

func (s *Server) resolveConda(r *http.Request, c *call) (access.Resource, error) {
	cp, ok := parseCondaPath(r.URL.Path, s.validSubdir)
	if !ok {
		return access.Resource{}, errNotFound("not a conda channel URL: want /conda/<channel>[/label/<label>]/<subdir>/<file>")
	}
	ch, revs, err := s.channelForRead(r.Context(), c.principal, cp.channel)
	if err != nil {
		return access.Resource{}, err
	}
	if !conda.ValidLabel(cp.label) {
		// Checked after the channel, so that a private channel's answer is the same 404.
		if !access.Visible(c.principal, resourceOf(ch)) {
			return access.Resource{}, &store.NotFoundError{Kind: "channel", Name: cp.channel}
		}
		return access.Resource{}, &store.NotFoundError{Kind: "label", Name: cp.label}
	}
	c.channel, c.revs, c.conda = ch, revs, cp
	return resourceOf(ch), nil
}

// cacheControl says whether shared caches may keep an answer: only what anonymous readers get
// of a public channel. Anything that depends on who asks also varies by Authorization.
func cacheControl(w http.ResponseWriter, r *http.Request, shared, immutable bool) string {
	// An answer to a request with credentials (a header, or a token in the path, which a
	// shared cache would keep as part of the URL) is never for shared caches.
	if _, ok := pathToken(r.Context()); ok || r.Header.Get("Authorization") != "" {
		shared = false
	}
	scope := "public"
	if !shared {
		scope = "private"
		w.Header().Add("Vary", "Authorization")
	}
	if immutable {
		return scope + ", max-age=31536000, immutable"
	}
	return scope + ", max-age=30"
}

// serveBytes answers with cached bytes; http.ServeContent handles HEAD, Range and the
// conditional headers against the ETag and Last-Modified given.
func serveBytes(w http.ResponseWriter, r *http.Request, contentType, etag, cacheControl string, mod time.Time, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", mod, bytes.NewReader(b))
}

func (s *Server) condaGet(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	cp := c.conda
	if cp.file == "channeldata.json" {
		cd, mod, err := s.index.channeldata(ctx, c.channel, c.revs.Label(cp.label), cp.label, c.principal)
		if err != nil {
			return err
		}
		serveArtefact(w, r, cd, "application/json", cd.etag, cacheControl(w, r, c.principal.Anonymous() && !private(c.channel), false), mod)
		return nil
	}
	if strings.HasSuffix(cp.file, ".conda") || strings.HasSuffix(cp.file, ".tar.bz2") {
		return s.servePackage(w, r, c)
	}
	sub, err := s.index.subdir(ctx, c.channel, c.revs.Subdir(cp.label, cp.subdir), cp.label, cp.subdir, c.principal)
	if err != nil {
		return err
	}
	a, err := sub.artefact(cp.file)
	if err != nil {
		return err
	}
	if a == nil {
		return errNotFound(cp.subdir + "/" + cp.file + " not found")
	}
	// Privacy is read afresh with the channel on every request; the view's own flag says
	// whether it is what anonymous readers get.
	serveArtefact(w, r, a, a.contentType, a.etag, cacheControl(w, r, sub.shared && !private(c.channel), a.immutable), sub.mod)
	return nil
}

func (s *Server) servePackage(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	cp := c.conda
	ref := store.FileRef{Subdir: cp.subdir, Filename: cp.file}
	if _, _, _, _, err := conda.ParseFilename(cp.file); err != nil {
		return &store.NotFoundError{Kind: "file", Name: ref.String()}
	}
	f, err := s.store.File(ctx, c.channel.ID, ref, cp.label)
	if err != nil {
		return err
	}
	res := fileResource(c.channel, f)
	if !access.CanRead(c.principal, res) {
		return refuseRead(c.principal, res, &store.NotFoundError{Kind: "file", Name: ref.String()})
	}
	return s.serveFile(w, r, c.channel.Name, f, cacheControl(w, r, !res.Private && !res.PackagePrivate, false))
}

// serveFile sends a stored file's bytes, with ranges and conditional requests. The blob is
// opened (for HEAD, ranges and conditional requests: looked at) before the status line, and
// its size checked against the record: a blob that is gone is a 404 and one of another size a
// 500, each logged as an ERROR naming the file; a blob store that cannot be reached is a 503.
// A blob that fails while it is sent ends the answer short, so the client sees the transfer
// fail, and is logged as an ERROR. The bytes are not hashed here: that would read a whole
// file before its first byte goes out; wharf admin fsck re-hashes every blob.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, channel string, f store.File, cacheControl string) error {
	ctx := r.Context()
	name := channel + "/" + f.Subdir + "/" + f.Filename
	h := r.Header
	if strings.Contains(h.Get("Range"), ",") {
		// Several ranges would make http.ServeContent read the blob from a goroutine that may
		// outlive this call (and the reader's Close); no package client asks for them, and the
		// whole file is a valid answer (RFC 9110, 14.2).
		h.Del("Range")
	}
	rs := &blobReadSeeker{ctx: ctx, store: s.blobs, key: blob.Key(f.SHA256), size: f.Size}
	defer rs.Close()
	if fst, ok := s.blobs.(blob.FileStore); ok {
		return s.serveLocalFile(w, r, fst, name, f, cacheControl)
	}
	// A closed range is read from the store as just that range: opened to the end, a range of
	// a few KiB (pip reads wheels so) would have S3 send the rest of the object.
	rs.hintStart, rs.hintLen, _ = closedRange(h.Get("Range"))
	whole := r.Method == http.MethodGet && h.Get("Range") == "" && h.Get("If-None-Match") == "" && h.Get("If-Modified-Since") == ""
	if err := rs.open(whole); errors.Is(err, blob.ErrNotFound) {
		s.log.ErrorContext(ctx, "stored file's blob is missing", "request_id", requestID(ctx), "file", name, "sha256", f.SHA256, "key", rs.key)
		return &httpError{status: http.StatusNotFound, code: "not_found", message: f.Filename +
			" is listed, but its content is missing from the server's storage; the server log names it under this request id"}
	} else if err != nil {
		return fmt.Errorf("serve %s: %w", name, err)
	}
	fileHeaders(w, f, cacheControl)
	http.ServeContent(w, r, "", f.CreatedAt, rs)
	if rs.err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "stored file's blob failed while it was sent", "request_id", requestID(ctx), "file", name,
			"sha256", f.SHA256, "offset", rs.offset, "size", f.Size, "err", rs.err)
	}
	return nil
}

// fileHeaders are the headers of a stored file's answer.
func fileHeaders(w http.ResponseWriter, f store.File, cacheControl string) {
	wh := w.Header()
	wh.Set("Content-Type", "application/octet-stream")
	wh.Set("ETag", `"`+f.SHA256+`"`)
	wh.Set("Cache-Control", cacheControl)
	wh.Set("X-Content-Type-Options", "nosniff")
}

// serveLocalFile is serveFile for blobs on the local filesystem: http.ServeContent is given
// the file itself, so that net/http sends it by sendfile (for a whole file and a range alike)
// rather than copying it through the process. The size is checked against the record, from
// the open file, before the status line.
func (s *Server) serveLocalFile(w http.ResponseWriter, r *http.Request, fst blob.FileStore, name string, f store.File, cacheControl string) error {
	ctx := r.Context()
	key := blob.Key(f.SHA256)
	file, closeFile, err := fst.OpenFile(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		s.log.ErrorContext(ctx, "stored file's blob is missing", "request_id", requestID(ctx), "file", name, "sha256", f.SHA256, "key", key)
		return &httpError{status: http.StatusNotFound, code: "not_found", message: f.Filename +
			" is listed, but its content is missing from the server's storage; the server log names it under this request id"}
	} else if err != nil {
		return fmt.Errorf("serve %s: %w", name, err)
	}
	defer closeFile()
	info, err := file.Stat()
	if err != nil {
		return fmt.Errorf("serve %s: %w", name, err)
	}
	if info.Size() != f.Size {
		return fmt.Errorf("serve %s: %w", name, &blobDamagedError{key: key, size: info.Size(), want: f.Size})
	}
	fileHeaders(w, f, cacheControl)
	lf := &localFile{File: file, size: f.Size}
	sw := &sendWatch{ResponseWriter: w}
	http.ServeContent(sw, r, "", f.CreatedAt, lf)
	if sw.clientGone || ctx.Err() != nil {
		return nil
	}
	// sendfile from a file cut short sends less without an error: the count tells.
	err = cmp.Or(lf.err, sw.err)
	if want, perr := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil && perr == nil && r.Method != http.MethodHead && sw.sent < want {
		err = fmt.Errorf("the file ended after %d of %d bytes: %w", sw.sent, want, io.ErrUnexpectedEOF)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "stored file's blob failed while it was sent", "request_id", requestID(ctx), "file", name,
			"sha256", f.SHA256, "sent", sw.sent, "size", f.Size, "err", err)
	}
	return nil
}

// localFile is a blob's file as http.ServeContent reads it. The *os.File stays visible to
// net/http's ReadFrom, which sends any syscall.Conn by sendfile; what the process itself reads
// (the first bytes, and all of it where sendfile cannot be used) keeps its first failure.
type localFile struct {
	*os.File
	size int64 // as checked: ServeContent's Content-Length, whatever the file holds by then
	err  error
}

// Seek reads the end as the size checked before the status line, so that a blob cut short or
// grown since is answered with the recorded length (and a short body, logged), never with a
// Content-Length that matches the damage.
func (l *localFile) Seek(offset int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		offset, whence = l.size+offset, io.SeekStart
	}
	return l.File.Seek(offset, whence)
}

func (l *localFile) Read(p []byte) (int, error) {
	n, err := l.File.Read(p)
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

// sendWatch counts what an answer sent, and tells the failures of the client (gone, or too
// slow) from the others (the disk's), which would otherwise end the answer short unlogged.
type sendWatch struct {
	http.ResponseWriter
	sent       int64
	err        error // the first failure that is not the client's
	clientGone bool
}

func (s *sendWatch) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	s.note(int64(n), err)
	return n, err
}

func (s *sendWatch) ReadFrom(src io.Reader) (int64, error) {
	n, err := readFrom(s.ResponseWriter, src)
	s.note(n, err)
	return n, err
}

func (s *sendWatch) note(n int64, err error) {
	s.sent += n
	switch {
	case err == nil:
	case clientsFault(err):
		s.clientGone = true
	case s.err == nil:
		s.err = err
	}
}

func (s *sendWatch) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// clientsFault reports whether a failure to send is the client's: it hung up, or stopped
// reading past the write deadline.
func clientsFault(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, http.ErrHandlerTimeout)
}

// readFrom copies src to w through w's own ReadFrom where it has one (net/http's sends a file
// by sendfile), else by Write.
func readFrom(w io.Writer, src io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w}, src) // hides w's methods but Write: no recursion
}

// blobReadSeeker lets http.ServeContent serve ranges of a blob; it opens a ranged reader at
// the first Read after a Seek, and never reads past the recorded size.
type blobReadSeeker struct {
	ctx    context.Context
	store  blob.Store
	key    string
	size   int64 // as the store recorded it
	offset int64 // where the next Read reads
	rc     blob.Reader
	rcAt   int64 // where rc reads next
	rcEnd  int64 // where rc was opened to end
	err    error // the first failure to read, for the log
	// The range the request asked for, if one closed range: a reader that starts there is
	// opened for hintLen bytes only.
	hintStart, hintLen int64
}

// open checks the blob before anything is answered: opened from its start when all of it will
// be sent (one request to the blob store), else looked at.
func (b *blobReadSeeker) open(whole bool) error {
	var size int64
	if whole {
		rc, err := b.store.Open(b.ctx, b.key, 0, -1)
		if err != nil {
			return err
		}
		b.rc, b.rcAt, b.rcEnd, size = rc, 0, b.size, rc.Size()
	} else {
		info, err := b.store.Stat(b.ctx, b.key)
		if err != nil {
			return err
		}
		size = info.Size
	}
	if size != b.size {
		return &blobDamagedError{key: b.key, size: size, want: b.size}
	}
	return nil
}

func (b *blobReadSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.offset + offset
	case io.SeekEnd:
		abs = b.size + offset
	}
	if abs < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	b.offset = abs
	return abs, nil
}

func (b *blobReadSeeker) Read(p []byte) (int, error) {
	if b.offset >= b.size {
		return 0, io.EOF
	}
	if b.rc != nil && (b.rcAt != b.offset || b.rcAt >= b.rcEnd) {
		b.rc.Close()
		b.rc = nil
	}
	if b.rc == nil {
		length, end := int64(-1), b.size
		if b.hintLen > 0 && b.offset == b.hintStart && b.hintLen < b.size-b.offset {
			length, end = b.hintLen, b.offset+b.hintLen
		}
		rc, err := b.store.Open(b.ctx, b.key, b.offset, length)
		if err != nil {
			return 0, b.fail(err)
		}
		b.rc, b.rcAt, b.rcEnd = rc, b.offset, end
	}
	if left := b.rcEnd - b.offset; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.rc.Read(p)
	b.offset += int64(n)
	b.rcAt += int64(n)
	switch {
	case err == io.EOF && b.rcAt < b.rcEnd:
		return n, b.fail(fmt.Errorf("the blob ended after %d of %d bytes: %w", b.offset, b.size, io.ErrUnexpectedEOF))
	case err == io.EOF && b.offset < b.size:
		return n, nil // the end of a ranged reader; a read past it opens another
	case err != nil && err != io.EOF:
		return n, b.fail(err)
	}
	return n, err
}

// closedRange reads a Range header that asks for one closed range, "bytes=a-b", as the start
// and length to open a reader for; ok is false for every other form (the whole answer is
// then http.ServeContent's, which parses the header itself).
func closedRange(h string) (start, length int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return 0, 0, false
	}
	a, z, found := strings.Cut(spec, "-")
	if !found || a == "" || z == "" {
		return 0, 0, false
	}
	first, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 63)
	last, err2 := strconv.ParseUint(strings.TrimSpace(z), 10, 63)
	if err1 != nil || err2 != nil || last < first || last >= 1<<63-1 { // start+length must fit an int64
		return 0, 0, false
	}
	return int64(first), int64(last-first) + 1, true
}

func (b *blobReadSeeker) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return err
}

func (b *blobReadSeeker) Close() error {
	if b.rc != nil {
		return b.rc.Close()
	}
	return nil
}

// validSubdir accepts conda's known subdirs and those the server was configured to add.
func (s *Server) validSubdir(sd string) bool {
	return conda.ValidSubdir(sd) || slices.Contains(s.opts.Limits.ExtraSubdirs, sd)
}
