package server

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// apiUpload takes a package file as the raw request body:
// PUT /api/v1/channels/{channel}/files/{filename}?label=main&label=dev[&subdir=linux-64].
// A .conda or .tar.bz2 is a conda package; a .whl, .tar.gz or .zip a Python distribution.
func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	filename := r.PathValue("filename")
	if isPyPIFilename(filename) {
		if _, err := pypi.ParseFilename(filename); err != nil {
			return errBadRequest(err.Error())
		}
	} else if _, _, _, _, err := conda.ParseFilename(filename); err != nil {
		if !strings.HasSuffix(filename, ".conda") && !strings.HasSuffix(filename, ".tar.bz2") {
			return errBadRequest(fmt.Sprintf("%q is neither a conda package (.conda, .tar.bz2) nor a Python distribution (.whl, .tar.gz, .zip)", filename))
		}
		return errBadRequest(err.Error())
	}
	q := r.URL.Query()
	labels := q["label"]
	for _, l := range labels {
		if !conda.ValidLabel(l) {
			return errBadRequest("invalid label " + strconv.Quote(l) + ": start with a letter; then letters, digits, '_', '-', '.', '/'")
		}
	}
	if sd := q.Get("subdir"); sd != "" && !s.validSubdir(sd) {
		return errBadRequest("unknown subdir " + strconv.Quote(sd))
	}
	c.subdir = q.Get("subdir")
	makePrivate := q.Get("private") == "true"
	info, created, err := s.ingest(w, r, c, filename, r.Body, r.ContentLength, labels, nil, nil)
	if err != nil {
		return err
	}
	if makePrivate && !info.PackagePrivate {
		// ?private=true: the package is made private with the upload, by those who may.
		res := packageResource(c.channel, info.Package, false)
		res.Kind = info.Kind
		if !access.May(c.principal, access.PackageManage, res) {
			return errForbidden("the file is uploaded, but you may not make package " + info.Package + " private")
		}
		if err := s.store.SetPackagesPrivate(r.Context(), c.channel.ID, []string{info.Package}, true, c.principal.UserID); err != nil {
			return err
		}
		info.PackagePrivate = true
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", info.location)
	return writeJSON(w, status, info.FileInfo)
}

type ingested struct {
	api.FileInfo
	location string
}

// ingest spools an upload to a temporary file while hashing it, checks it as a package,
// writes the blob (durable first), and only then records it: nothing half-done is ever
// served. extra hashes see the bytes too, and checks run once they are all read.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, c *call, filename string, in io.Reader, contentLength int64,
	labels []string, extra []hash.Hash, checks []func() error) (ingested, bool, error) {
	ctx := r.Context()
	if contentLength > s.opts.MaxUploadBytes {
		return ingested{}, false, errTooLarge(fmt.Sprintf("the file is %d bytes; this server takes at most %d", contentLength, s.opts.MaxUploadBytes))
	}
	tmp, err := os.CreateTemp(s.opts.TempDir, "upload-*")
	if err != nil {
		return ingested{}, false, fmt.Errorf("spool upload: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	sh, mh := sha256.New(), md5.New()
	writers := []io.Writer{tmp, sh, mh}
	for _, h := range extra {
		writers = append(writers, h)
	}
	// The body's deadlines (idle, minimum rate) were put on it by beginUpload.
	spool := &writeErr{w: io.MultiWriter(writers...)}
	size, err := io.Copy(spool, http.MaxBytesReader(w, io.NopCloser(in), s.opts.MaxUploadBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		var timeout *httpError // uploadBody's 408; the failed read also cancelled ctx
		switch {
		case spool.err != nil:
			// The server's disk, not the client: a full disk is a 507, the error path says so.
			return ingested{}, false, fmt.Errorf("spool upload: %w", spool.err)
		case errors.As(err, &mbe):
			return ingested{}, false, errTooLarge(fmt.Sprintf("the file is larger than this server takes (%d bytes)", s.opts.MaxUploadBytes))
		case errors.As(err, &timeout):
			return ingested{}, false, timeout
		case ctx.Err() != nil:
			return ingested{}, false, errClientGone
		}
		return ingested{}, false, errBadRequest("reading the upload failed before its end: " + err.Error())
	}
	if contentLength >= 0 && size != contentLength {
		return ingested{}, false, errBadRequest(fmt.Sprintf("received %d bytes, but Content-Length said %d", size, contentLength))
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return ingested{}, false, err
		}
	}
	sha, md := hex.EncodeToString(sh.Sum(nil)), hex.EncodeToString(mh.Sum(nil))

	var f store.File
	var created bool
	var location string
	if isPyPIFilename(filename) {
		f, created, err = s.ingestPyPI(ctx, c, filename, tmp, size, sha, md, labels)
		location = "/pypi/" + c.channel.Name + "/files/" + sha + "/" + url.PathEscape(f.Filename) // the canonical name the store gave it
	} else {
		f, created, err = s.ingestConda(ctx, c, filename, tmp, size, sha, md, labels)
		location = "/conda/" + c.channel.Name + "/" + f.Subdir + "/" + f.Filename
	}
	if err != nil {
		// An orphaned blob (lost race, other bytes) is left for garbage collection: deleting it
		// here could pull it from under a concurrent upload of the same bytes.
		return ingested{}, false, err
	}
	if created {
		s.log.InfoContext(ctx, "file uploaded", "request_id", requestID(ctx), "channel", c.channel.Name,
			"file", f.Subdir+"/"+f.Filename, "sha256", sha, "size", size, "user", c.principal.Name)
	}
	return ingested{FileInfo: fileInfo(c.channel.Name, f), location: location}, created, nil
}

// publish makes an upload's bytes durable and records its file. Whether the request's
// credential still allows the upload is asked again, of what the store holds then: before the
// blob is written, so that a token revoked, an account disabled or a grant removed while the
// bytes were on their way costs no blob, and in the transaction that publishes the file, so
// that one in the moment between leaves nothing published (the blob then stays, unreferenced
// and content-addressed, as after a lost race).
func (s *Server) publish(ctx context.Context, c *call, tmp *os.File, nf store.NewFile) (store.File, bool, error) {
	check := s.uploadCheck(c, nf.Package, nf.Kind)
	if err := check(ctx, s.store); err != nil {
		return store.File{}, false, err
	}
	if err := s.putBlob(ctx, tmp, nf.Size, nf.SHA256); err != nil {
		return store.File{}, false, err
	}
	nf.Recheck = check
	return s.store.AddFile(ctx, nf)
}

// uploadCheck asks, through rd, whether the request's credential still allows uploading
// package pkg (of kind) to its channel.
func (s *Server) uploadCheck(c *call, pkg, kind string) func(context.Context, store.AccessReader) error {
	return func(ctx context.Context, rd store.AccessReader) error {
		p, err := s.principalNow(ctx, c, rd)
		if err != nil {
			return err
		}
		ch, err := rd.ChannelByID(ctx, c.channel.ID)
		if err != nil {
			return err
		}
		res := packageResource(ch, pkg, false)
		res.Kind = kind
		if !access.May(p, access.ArtifactCreate, res) {
			return refuse(p, access.ArtifactCreate, res)
		}
		return nil
	}
}

// principalNow is who the request's credential stands for now, read through rd rather than
// the identity cache: the token (revoked or reissued: gone) and its owner, or the account,
// whose password must still sign in.
func (s *Server) principalNow(ctx context.Context, c *call, rd store.AccessReader) (access.Principal, error) {
	users := func(ctx context.Context, id int64) (store.User, access.Grants, error) {
		u, err := rd.UserByID(ctx, id)
		if err != nil {
			return u, access.Grants{}, err
		}
		g, err := rd.GrantsOf(ctx, id)
		return u, g, err
	}
	switch cred := c.cred; {
	case cred.tokenHash != "":
		t, err := rd.TokenByHash(ctx, cred.tokenHash)
		if store.IsNotFound(err) {
			return access.Principal{}, errUnauthorized("the token was revoked or reissued while the upload was on its way: nothing was published")
		} else if err != nil {
			return access.Principal{}, err
		}
		p, err := tokenPrincipal(ctx, t, s.opts.Now(), users, rd.OrgByID)
		if err == nil && c.principal.Token != nil {
			p.Token.Surface = c.principal.Token.Surface
		}
		return p, err
	case cred.userID != 0:
		u, g, err := users(ctx, cred.userID)
		switch {
		case store.IsNotFound(err):
			return access.Principal{}, errUnauthorized("the account is gone: nothing was published")
		case err != nil:
			return access.Principal{}, err
		case u.PasswordHash != cred.passwordHash:
			// Another hash: of another password, or of this one (a sign-in made meanwhile
			// upgraded it). Only the password tells; once it has, the hash is the one that
			// matched, so the check in the publishing transaction, which follows the one
			// before the blob, costs no second hash unless it moved again in between.
			ok, _, err := access.VerifyPassword(ctx, u.PasswordHash, cred.password)
			if err != nil {
				return access.Principal{}, err
			}
			if !ok {
				return access.Principal{}, errUnauthorized("the account's password changed while the upload was on its way: nothing was published; sign in again")
			}
			c.cred.passwordHash = u.PasswordHash
		}
		return passwordPrincipal(u, g)
	}
	return c.principal, nil // no credential to ask again about (none can upload)
}

// putBlob makes the spooled bytes durable in the blob store, unless they are there already,
// whole. A blob that is there but damaged (of another size, or other bytes: what wharf admin
// fsck reports) is replaced with the upload's bytes, which were hashed on their way in, so
// that uploading a file again repairs it; a Put replaces a blob whole (blob.Store), so that a
// download reading it meanwhile gets the old bytes or the new, never a mix. Telling a sound
// blob from one with other bytes of its size costs a read of it, only when an upload's bytes
// are stored already.
func (s *Server) putBlob(ctx context.Context, tmp *os.File, size int64, sha string) error {
	key := blob.Key(sha)
	info, err := s.blobs.Stat(ctx, key)
	switch {
	case errors.Is(err, blob.ErrNotFound):
	case err != nil:
		return s.blobError(ctx, "stat blob", err)
	case info.Size != size:
		s.log.WarnContext(ctx, "damaged blob replaced by an upload of its bytes", "request_id", requestID(ctx),
			"blob", key, "size", info.Size, "want_size", size)
	default:
		d, err := blob.Check(ctx, s.blobs, sha, size)
		if err != nil {
			return s.blobError(ctx, "check blob", err)
		}
		if d.OK() {
			return nil
		}
		if !d.Missing {
			s.log.WarnContext(ctx, "damaged blob replaced by an upload of its bytes", "request_id", requestID(ctx),
				"blob", key, "size", d.Size, "sha256", d.SHA256)
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := s.blobs.Put(ctx, key, tmp, size); err != nil {
		return s.blobError(ctx, "store blob", err)
	}
	return nil
}

// blobError is what putBlob answers for a failed blob store call: the client's leaving, or
// the store's error.
func (s *Server) blobError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return errClientGone
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *Server) ingestConda(ctx context.Context, c *call, filename string, tmp *os.File, size int64, sha, md string, labels []string) (store.File, bool, error) {
	pkg, err := s.readPackage(ctx, tmp, size, filename)
	if err != nil {
		return store.File{}, false, err
	}
	if sd := c.subdir; sd != "" && sd != pkg.Subdir {
		return store.File{}, false, errBadRequest(fmt.Sprintf("the package is for subdir %s (info/index.json), but the upload names subdir %s", pkg.Subdir, sd))
	}
	rec, err := pkg.Record(sha, md, size)
	if err != nil {
		return store.File{}, false, err
	}
	shardRec, err := repodata.EncodeShardRecord(rec.JSON)
	if err != nil {
		return store.File{}, false, err
	}
	return s.publish(ctx, c, tmp, store.NewFile{
		ChannelID: c.channel.ID, Kind: "conda", Package: pkg.Name, Subdir: pkg.Subdir, Filename: filename,
		SHA256: sha, MD5: md, Size: size, Version: pkg.Version, Build: pkg.Build, BuildNumber: pkg.BuildNumber,
		Timestamp: pkg.Timestamp, Record: rec.JSON, RecordMsgpack: shardRec, RunExports: pkg.RunExports, About: pkg.About, RecipeSource: pkg.RecipeSource, Flags: pkg.Flags,
		Labels: labels, UploaderID: c.principal.UserID,
	})
}

// writeErr remembers the error of its writer, so that a failed copy tells the server's disk
// from the client's connection.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// readPackage reads an uploaded package once a read slot is free.
func (s *Server) readPackage(ctx context.Context, r io.ReaderAt, size int64, filename string) (*conda.Package, error) {
	select {
	case s.reads <- struct{}{}:
	case <-ctx.Done():
		return nil, errClientGone
	}
	defer func() { <-s.reads }()
	return conda.ReadPackage(r, size, filename, s.opts.Limits)
}
