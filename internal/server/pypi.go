package server

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/pypi/simple"
	"github.com/wharfhq/wharf/internal/store"
)

// pypiPath is a parsed /pypi/… URL:
//
//	/pypi/<channel>[/<sub>]/simple/                       the project list
//	/pypi/<channel>[/<sub>]/simple/<project>/             a project page
//	/pypi/<channel>[/<sub>]/files/<sha256>/<filename>     a file (…​.metadata: its core metadata)
//	/pypi/<channel>[/<sub>]/  (POST)                      twine's upload
type pypiPath struct {
	channel  string
	kind     string // "index", "project", "file", "metadata", "upload"
	project  string // as requested
	sha256   string
	filename string
	slash    bool // the page URL ended in '/'
}

func parsePyPIPath(p string) (pypiPath, bool) {
	rest := strings.TrimPrefix(p, "/pypi/")
	slash := strings.HasSuffix(rest, "/")
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return pypiPath{}, false
		}
	}
	var pp pypiPath
	pp.slash = slash
	// The channel is one or two segments before "simple" or "files" (reserved as subchannel
	// names), or the whole path for an upload.
	i := slices.IndexFunc(segs, func(s string) bool { return s == "simple" || s == "files" })
	switch {
	case i < 0:
		if len(segs) > 2 {
			return pypiPath{}, false
		}
		pp.channel, pp.kind = strings.Join(segs, "/"), "upload"
		return pp, true
	case i == 0 || i > 2:
		return pypiPath{}, false
	}
	pp.channel = strings.Join(segs[:i], "/")
	tail := segs[i+1:]
	switch segs[i] {
	case "simple":
		switch len(tail) {
		case 0:
			pp.kind = "index"
		case 1:
			pp.kind, pp.project = "project", tail[0]
		default:
			return pypiPath{}, false
		}
	case "files":
		if len(tail) != 2 || slash {
			return pypiPath{}, false
		}
		pp.kind, pp.sha256, pp.filename = "file", tail[0], tail[1]
		if f, ok := strings.CutSuffix(pp.filename, ".metadata"); ok {
			pp.kind, pp.filename = "metadata", f
		}
	}
	return pp, true
}

func (s *Server) resolvePyPI(r *http.Request, c *call) (access.Resource, error) {
	pp, ok := parsePyPIPath(r.URL.Path)
	if !ok || pp.kind == "upload" {
		return access.Resource{}, errNotFound("not a PyPI index URL: want /pypi/<channel>/simple/[<project>/]")
	}
	ch, revs, err := s.channelForRead(r.Context(), c.principal, pp.channel)
	if err != nil {
		return access.Resource{}, err
	}
	c.channel, c.revs, c.pypi = ch, revs, pp
	res := resourceOf(ch)
	res.Kind = "pypi"
	return res, nil
}

// pypiGet serves the Simple API pages, files and core metadata.
func (s *Server) pypiGet(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.pypi.kind == "index" || c.pypi.kind == "project" {
		w.Header().Add("Vary", "Accept") // on pages, redirects and 406s alike
	}
	switch c.pypi.kind {
	case "index":
		return s.pypiIndex(w, r, c)
	case "project":
		return s.pypiProject(w, r, c)
	default:
		return s.pypiFile(w, r, c)
	}
}

// pypiRedirect sends a page to its canonical URL with a relative Location, so that a
// /t/<token>/ prefix carries through without appearing in the header.
func pypiRedirect(w http.ResponseWriter, rel string) error {
	w.Header().Set("Location", rel)
	w.WriteHeader(http.StatusMovedPermanently)
	return nil
}

func (s *Server) pypiIndex(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.pypi.slash {
		return pypiRedirect(w, "simple/")
	}
	format, ctype, ok := simple.Negotiate(strings.Join(r.Header.Values("Accept"), ", "))
	if !ok {
		return &httpError{status: http.StatusNotAcceptable, code: "not_acceptable", message: "ask for text/html or application/vnd.pypi.simple.v1+json"}
	}
	snap, err := s.store.PyPIProjects(r.Context(), c.channel.ID)
	if err != nil {
		return err
	}
	names := []string{}
	for _, p := range snap.Projects {
		if access.CanRead(c.principal, pypiResource(c.channel, p.Name, p.Private)) {
			names = append(names, p.Name)
		}
	}
	body := simple.IndexPage(names, format)
	// The same bytes go out as text/html or the vnd HTML type: the ETag names the type too.
	a := (&artefact{body: body}).compressible() // built for each request, so compressed only when asked
	serveArtefact(w, r, a, ctype, `"`+etagOf(append([]byte(ctype+"\x00"), body...))+`"`, cacheControl(w, r, c.principal.Anonymous() && !private(c.channel), false), time.Time{})
	return nil
}

func pypiResource(ch store.Channel, project string, private bool) access.Resource {
	r := packageResource(ch, project, private)
	r.Kind = "pypi"
	return r
}

// pypiPage is one rendered project page at one revision.
type pypiPage struct {
	rev     int64
	private bool
	html    *artefact
	json    *artefact
}

func (p *pypiPage) revision() int64 { return p.rev }
func (p *pypiPage) keep() bool      { return true }

func (s *Server) pypiProject(w http.ResponseWriter, r *http.Request, c *call) error {
	name := c.pypi.project
	norm := pypi.NormalizeName(name)
	if !pypi.ValidName(name) {
		return &store.NotFoundError{Kind: "project", Name: name}
	}
	if norm != name {
		return pypiRedirect(w, "../"+norm+"/")
	}
	if !c.pypi.slash {
		return pypiRedirect(w, norm+"/")
	}
	format, ctype, ok := simple.Negotiate(strings.Join(r.Header.Values("Accept"), ", "))
	if !ok {
		return &httpError{status: http.StatusNotAcceptable, code: "not_acceptable", message: "ask for text/html or application/vnd.pypi.simple.v1+json"}
	}
	key := indexKey{channelID: c.channel.ID, label: norm, subdir: "pypi"}
	page, err := s.index.pypi.get(r.Context(), key, c.revs.Subdir("main", store.PyPISubdir), func(ctx context.Context, _ *pypiPage) (*pypiPage, error) {
		return s.buildPyPIPage(ctx, c.channel.ID, norm)
	})
	if err != nil {
		return err
	}
	if res := pypiResource(c.channel, norm, page.private); !access.CanRead(c.principal, res) {
		return refuseRead(c.principal, res, &store.NotFoundError{Kind: "project", Name: norm})
	}
	a := page.html
	etag := a.etag
	if format == simple.JSON {
		a, etag = page.json, page.json.etag
	} else if ctype != simple.ContentTypeTextHTML {
		etag = strings.TrimSuffix(etag, `"`) + `-vnd"`
	}
	serveArtefact(w, r, a, ctype, etag, cacheControl(w, r, !private(c.channel) && !page.private, false), time.Time{})
	return nil
}

func (s *Server) buildPyPIPage(ctx context.Context, channelID int64, project string) (*pypiPage, error) {
	snap, err := s.store.PyPIProjectFiles(ctx, channelID, project)
	if err != nil {
		return nil, err
	}
	p := simple.Project{Name: project}
	for _, f := range snap.Files {
		p.Files = append(p.Files, simple.File{Filename: f.Filename, URL: "../../files/" + f.SHA256 + "/" + f.Filename, SHA256: f.SHA256,
			Size: f.Size, UploadTime: f.UploadedAt, RequiresPython: f.RequiresPython, Yanked: f.Yanked, YankedReason: f.YankedReason,
			MetadataSHA256: f.MetadataSHA256})
		if !slices.Contains(p.Versions, f.Version) {
			p.Versions = append(p.Versions, f.Version)
		}
	}
	slices.SortFunc(p.Versions, pypi.CompareVersions)
	html, js := simple.ProjectPage(p, simple.HTML), simple.ProjectPage(p, simple.JSON)
	return &pypiPage{rev: snap.Revision, private: snap.Private,
		html: (&artefact{body: html, etag: `"` + etagOf(html) + `-html"`}).compressible(),
		json: (&artefact{body: js, etag: `"` + etagOf(js) + `-json"`}).compressible()}, nil
}

func (s *Server) pypiFile(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	pp := c.pypi
	ref := store.FileRef{Subdir: store.PyPISubdir, Filename: pp.filename}
	notFound := &store.NotFoundError{Kind: "file", Name: pp.filename}
	if _, err := pypi.ParseFilename(pp.filename); err != nil || len(pp.sha256) != 64 {
		return notFound
	}
	f, err := s.store.File(ctx, c.channel.ID, ref, "")
	if err != nil {
		return err
	}
	res := fileResource(c.channel, f)
	if f.SHA256 != pp.sha256 {
		return notFound
	}
	if !access.CanRead(c.principal, res) {
		return refuseRead(c.principal, res, notFound)
	}
	shared := !res.Private && !res.PackagePrivate
	if pp.kind == "metadata" {
		md, err := s.store.CoreMetadata(ctx, c.channel.ID, pp.filename)
		if err != nil {
			return err
		}
		serveBytes(w, r, "text/plain; charset=utf-8", `"`+etagOf(md)+`"`, cacheControl(w, r, shared, true), f.CreatedAt, md)
		return nil
	}
	// The URL names the content's hash: it never changes.
	return s.serveFile(w, r, c.channel.Name, f, cacheControl(w, r, shared, true))
}

// ---- upload: twine's legacy API

// pypiForm is twine's multipart form up to the file, read before the policy is asked so that
// the policy can see which project the upload is for.
type pypiForm struct {
	fields map[string][]string
	mr     *multipart.Reader
	part   *multipart.Part // the "content" part, not yet read
}

const maxFormFields = 1 << 20

func (s *Server) resolvePyPIUpload(r *http.Request, c *call) (access.Resource, error) {
	pp, ok := parsePyPIPath(r.URL.Path)
	if !ok || (pp.kind != "upload" && pp.kind != "index") {
		return access.Resource{}, errNotFound("upload to /pypi/<channel>/ (the repository URL for twine)")
	}
	ch, err := s.channelFor(r.Context(), c.principal, pp.channel)
	if err != nil {
		return access.Resource{}, err
	}
	c.channel, c.pypi = ch, pp
	res := resourceOf(ch)
	res.Kind = "pypi"
	if !access.Knows(c.principal, res) {
		return res, nil // refused as missing by the policy, without reading the body
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return res, errBadRequest("send the upload as multipart/form-data, as twine does")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, s.opts.MaxUploadBytes+maxFormFields)
	form := &pypiForm{fields: map[string][]string{}, mr: multipart.NewReader(r.Body, params["boundary"])}
	total := 0
	for {
		part, err := form.mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, bodyReadError("the multipart body is malformed", err)
		}
		if part.FormName() == "content" {
			form.part = part
			break
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFormFields-int64(total)+1))
		if err != nil {
			return res, bodyReadError("reading the form", err)
		}
		if total += len(v); total > maxFormFields {
			return res, errTooLarge("the upload's form fields are larger than 1 MiB")
		}
		form.fields[part.FormName()] = append(form.fields[part.FormName()], string(v))
	}
	if a := first(form.fields[":action"]); a != "file_upload" {
		return res, errBadRequest(fmt.Sprintf(":action %q is not supported: only file_upload", a))
	}
	if form.part == nil {
		return res, errBadRequest("the upload has no \"content\" file")
	}
	name := first(form.fields["name"])
	if !pypi.ValidName(name) {
		// The name in the filename is checked against the metadata later; the form's is only
		// for the policy, and must be a name.
		if fn, err := pypi.ParseFilename(form.part.FileName()); err == nil {
			name = fn.Project
		}
	}
	if !pypi.ValidName(name) {
		return res, errBadRequest("the upload names no valid project (form field \"name\")")
	}
	c.form = form
	res.Package = pypi.NormalizeName(name)
	c.pkg = res.Package
	return res, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (s *Server) pypiUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	form := c.form
	filename := form.part.FileName()
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	// Digests the client sent are checked against the bytes.
	var check []func() error
	hashes := []hash.Hash{}
	want := func(field string, h hash.Hash, decode func(string) ([]byte, error)) {
		v := strings.TrimSpace(first(form.fields[field]))
		if v == "" {
			return
		}
		hashes = append(hashes, h)
		check = append(check, func() error {
			b, err := decode(v)
			if err != nil || !strings.EqualFold(hex.EncodeToString(b), hex.EncodeToString(h.Sum(nil))) {
				return errBadRequest(field + " does not match the uploaded bytes: the file changed in transit, or the digest is for another file")
			}
			return nil
		})
	}
	b2, _ := blake2b.New256(nil)
	want("sha256_digest", sha256.New(), hex.DecodeString)
	want("blake2_256_digest", b2, hex.DecodeString)
	// Old clients sent md5 as hex, warehouse's docs say base64url: take either.
	want("md5_digest", md5.New(), func(v string) ([]byte, error) {
		if b, err := hex.DecodeString(v); err == nil && len(b) == md5.Size {
			return b, nil
		}
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	})
	info, created, err := s.ingest(w, r, c, filename, form.part, -1, []string{"main"}, hashes, check)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, info)
}

// ingestPyPI checks a spooled Python distribution and records it; the blob is written first.
func (s *Server) ingestPyPI(ctx context.Context, c *call, filename string, tmp *os.File, size int64, sha, md string, labels []string) (store.File, bool, error) {
	dist, err := s.readDist(ctx, tmp, size, filename)
	if err != nil {
		return store.File{}, false, err
	}
	// The policy allowed an upload to one project (named by the form or the URL); the
	// distribution must be that project's.
	if norm := pypi.NormalizeName(dist.Name); c.pkg != "" && norm != c.pkg {
		return store.File{}, false, errBadRequest(fmt.Sprintf("the distribution is for project %s, but the upload names %s", norm, c.pkg))
	}
	// The store files it under its canonical filename, one file per distribution whatever
	// the spelling (409 for another's bytes); the record keeps the name it came with.
	rec, _ := json.Marshal(map[string]any{"name": dist.Name, "version": dist.Version, "summary": dist.Summary,
		"requires_python": dist.RequiresPython, "metadata_version": dist.MetadataVersion, "uploaded_as": filename})
	return s.publish(ctx, c, tmp, store.NewFile{
		ChannelID: c.channel.ID, Kind: "pypi", Package: pypi.NormalizeName(dist.Name), Subdir: store.PyPISubdir, Filename: filename,
		SHA256: sha, MD5: md, Size: size, Version: dist.Version, Build: dist.Filename.Build, Record: rec,
		CoreMetadata: dist.Metadata, RequiresPython: dist.RequiresPython, Labels: labels, UploaderID: c.principal.UserID,
	})
}

// readDist reads an uploaded distribution once a read slot is free.
func (s *Server) readDist(ctx context.Context, r io.ReaderAt, size int64, filename string) (*pypi.Dist, error) {
	select {
	case s.reads <- struct{}{}:
	case <-ctx.Done():
		return nil, errClientGone
	}
	defer func() { <-s.reads }()
	return pypi.ReadDist(r, size, filename, pypi.DefaultLimits())
}

// isPyPIFilename reports whether a filename is a Python distribution's rather than a conda
// package's.
func isPyPIFilename(fn string) bool {
	return strings.HasSuffix(fn, ".whl") || strings.HasSuffix(fn, ".tar.gz") || strings.HasSuffix(fn, ".zip")
}

// ---- yanking

type yankRequest struct {
	Yanked *bool  `json:"yanked"`
	Reason string `json:"reason"`
}

func readYank(r *http.Request) (bool, string, error) {
	var req yankRequest
	if err := readJSON(r, &req); err != nil {
		return false, "", err
	}
	if req.Yanked == nil {
		return false, "", errBadRequest(`send {"yanked": true, "reason": "…"} or {"yanked": false}`)
	}
	if len(req.Reason) > 1000 {
		return false, "", errBadRequest("a yank reason is at most 1000 characters")
	}
	return *req.Yanked, req.Reason, nil
}

func (s *Server) apiYankFile(w http.ResponseWriter, r *http.Request, c *call) error {
	yanked, reason, err := readYank(r)
	if err != nil {
		return err
	}
	if c.file.Kind != "pypi" {
		return errBadRequest("only Python distributions are yanked; remove or relabel a conda package instead")
	}
	if _, err := s.store.SetYanked(r.Context(), c.channel.ID, c.file.Package, nil, c.file.Filename, yanked, reason, c.principal.UserID); err != nil {
		return err
	}
	f, err := s.store.File(r.Context(), c.channel.ID, store.FileRef{Subdir: c.file.Subdir, Filename: c.file.Filename}, "")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fileInfo(c.channel.Name, f))
}

func (s *Server) apiYankRelease(w http.ResponseWriter, r *http.Request, c *call) error {
	yanked, reason, err := readYank(r)
	if err != nil {
		return err
	}
	notFound := &store.NotFoundError{Kind: "release", Name: c.pkg + " " + r.PathValue("version")}
	v, err := pypi.ParseVersion(r.PathValue("version"))
	if err != nil {
		return notFound
	}
	// A release is a version by PEP 440's equality: 1.0 and 1.0.0 are one release, yanked
	// together in one change, whatever the files' labels.
	files, err := s.store.PackageFiles(r.Context(), c.channel.ID, c.pkg)
	if err != nil {
		return err
	}
	var versions []string
	for _, f := range files {
		if f.Kind == "pypi" && !slices.Contains(versions, f.Version) && pypi.CompareVersions(f.Version, v) == 0 {
			versions = append(versions, f.Version)
		}
	}
	if len(versions) == 0 {
		return notFound
	}
	n, err := s.store.SetYanked(r.Context(), c.channel.ID, c.pkg, versions, "", yanked, reason, c.principal.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"channel": c.channel.Name, "project": c.pkg, "version": v, "yanked": yanked, "files": n})
}
