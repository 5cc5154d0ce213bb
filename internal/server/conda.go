package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
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
	ch, err := s.channelFor(r.Context(), c.principal, cp.channel)
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
	c.channel, c.conda = ch, cp
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
		cd, mod, err := s.index.channeldata(ctx, c.channel, cp.label, c.principal)
		if err != nil {
			return err
		}
		serveBytes(w, r, "application/json", cd.etag, cacheControl(w, r, c.principal.Anonymous() && !private(c.channel), false), mod, cd.body)
		return nil
	}
	if strings.HasSuffix(cp.file, ".conda") || strings.HasSuffix(cp.file, ".tar.bz2") {
		return s.servePackage(w, r, c)
	}
	sub, err := s.index.subdir(ctx, c.channel, cp.label, cp.subdir, c.principal)
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
	serveBytes(w, r, a.contentType, a.etag, cacheControl(w, r, sub.shared && !private(c.channel), a.immutable), sub.mod, a.body)
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
		return &store.NotFoundError{Kind: "file", Name: ref.String()} // as if it were not there
	}
	s.serveFile(w, r, f, cacheControl(w, r, !res.Private && !res.PackagePrivate, false))
	return nil
}

// serveFile sends a stored file's bytes, with ranges and conditional requests.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f store.File, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	rs := &blobReadSeeker{ctx: r.Context(), store: s.blobs, key: blob.Key(f.SHA256), size: f.Size}
	defer rs.Close()
	http.ServeContent(w, r, "", f.CreatedAt, rs)
}

// blobReadSeeker lets http.ServeContent serve ranges of a blob; it opens a ranged reader at
// the first Read after a Seek.
type blobReadSeeker struct {
	ctx    context.Context
	store  blob.Store
	key    string
	size   int64
	offset int64
	rc     io.ReadCloser
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
	if abs != b.offset && b.rc != nil {
		b.rc.Close()
		b.rc = nil
	}
	b.offset = abs
	return abs, nil
}

func (b *blobReadSeeker) Read(p []byte) (int, error) {
	if b.offset >= b.size {
		return 0, io.EOF
	}
	if b.rc == nil {
		rc, err := b.store.Open(b.ctx, b.key, b.offset, -1)
		if err != nil {
			return 0, err
		}
		b.rc = rc
	}
	n, err := b.rc.Read(p)
	b.offset += int64(n)
	return n, err
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
