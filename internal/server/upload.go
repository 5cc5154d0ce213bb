package server

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// apiUpload takes a package file as the raw request body:
// PUT /api/v1/channels/{channel}/files/{filename}?label=main&label=dev[&subdir=linux-64].
// The body is spooled to a temporary file while hashing, checked as a package, written to the
// blob store (durable first), and only then recorded; nothing half-done is ever served.
func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	filename := r.PathValue("filename")
	if _, _, _, _, err := conda.ParseFilename(filename); err != nil {
		drain(r.Body)
		return errBadRequest(err.Error())
	}
	q := r.URL.Query()
	labels := q["label"]
	for _, l := range labels {
		if !conda.ValidLabel(l) {
			drain(r.Body)
			return errBadRequest("invalid label " + strconv.Quote(l) + ": start with a letter; then letters, digits, '_', '-', '.', '/'")
		}
	}
	if sd := q.Get("subdir"); sd != "" && !s.validSubdir(sd) {
		drain(r.Body)
		return errBadRequest("unknown subdir " + strconv.Quote(sd))
	}
	if r.ContentLength > s.opts.MaxUploadBytes {
		return errTooLarge(fmt.Sprintf("the file is %d bytes; this server takes at most %d", r.ContentLength, s.opts.MaxUploadBytes))
	}

	tmp, err := os.CreateTemp(s.opts.TempDir, "upload-*")
	if err != nil {
		return fmt.Errorf("spool upload: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	sh, mh := sha256.New(), md5.New()
	body := &idleReader{r: http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes), rc: http.NewResponseController(w), idle: s.opts.UploadIdleTimeout}
	size, err := io.Copy(io.MultiWriter(tmp, sh, mh), body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge(fmt.Sprintf("the file is larger than this server takes (%d bytes)", s.opts.MaxUploadBytes))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return &httpError{status: http.StatusRequestTimeout, code: "timeout", message: fmt.Sprintf("no upload data arrived for %s; the upload was dropped", s.opts.UploadIdleTimeout)}
		}
		if ctx.Err() != nil {
			return errClientGone
		}
		return errBadRequest("reading the upload failed before its end: " + err.Error())
	}
	if r.ContentLength >= 0 && size != r.ContentLength {
		return errBadRequest(fmt.Sprintf("received %d bytes, but Content-Length said %d", size, r.ContentLength))
	}
	sha, md := hex.EncodeToString(sh.Sum(nil)), hex.EncodeToString(mh.Sum(nil))

	pkg, err := s.readPackage(ctx, tmp, size, filename)
	if err != nil {
		return err
	}
	if sd := q.Get("subdir"); sd != "" && sd != pkg.Subdir {
		return errBadRequest(fmt.Sprintf("the package is for subdir %s (info/index.json), but the upload names subdir %s", pkg.Subdir, sd))
	}
	rec, err := pkg.Record(sha, md, size)
	if err != nil {
		return err
	}
	shardRec, err := repodata.EncodeShardRecord(rec.JSON)
	if err != nil {
		return err
	}

	key := blob.Key(sha)
	if _, err := s.blobs.Stat(ctx, key); errors.Is(err, blob.ErrNotFound) {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := s.blobs.Put(ctx, key, tmp, size); err != nil {
			if ctx.Err() != nil {
				return errClientGone
			}
			return fmt.Errorf("store blob: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("stat blob: %w", err)
	}

	f, created, err := s.store.AddFile(ctx, store.NewFile{
		ChannelID: c.channel.ID, Kind: "conda", Package: pkg.Name, Subdir: pkg.Subdir, Filename: filename,
		SHA256: sha, MD5: md, Size: size, Version: pkg.Version, Build: pkg.Build, BuildNumber: pkg.BuildNumber,
		Timestamp: pkg.Timestamp, Record: rec.JSON, RecordMsgpack: shardRec, RunExports: pkg.RunExports, About: pkg.About, Flags: pkg.Flags,
		Labels: labels, UploaderID: c.principal.UserID,
	})
	if err != nil {
		// An orphaned blob (lost race, other bytes) is left for garbage collection: deleting it
		// here could pull it from under a concurrent upload of the same bytes.
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.log.InfoContext(ctx, "file uploaded", "request_id", requestID(ctx), "channel", c.channel.Name,
			"file", f.Subdir+"/"+f.Filename, "sha256", sha, "size", size, "user", c.principal.Name)
	}
	w.Header().Set("Location", "/conda/"+c.channel.Name+"/"+f.Subdir+"/"+f.Filename)
	return writeJSON(w, status, fileInfo(c.channel.Name, f))
}

// idleReader moves the connection's read deadline on before every read, so an upload may take
// as long as it needs while data flows, but a client that stops sending is dropped.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	if i.idle > 0 {
		i.rc.SetReadDeadline(time.Now().Add(i.idle)) // unsupported writers just keep no deadline
	}
	return i.r.Read(p)
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
