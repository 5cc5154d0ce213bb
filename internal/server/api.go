package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/store"
)

func channelInfo(ch store.Channel) api.ChannelInfo {
	ci := api.ChannelInfo{Name: ch.Name, Private: ch.Private, Revision: ch.Revision, CreatedAt: ch.CreatedAt, UpdatedAt: ch.UpdatedAt}
	if ch.ParentID != 0 {
		ci.Parent, _, _ = cut(ch.Name, "/")
	}
	return ci
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func fileInfo(channel string, f store.File) api.FileInfo {
	return api.FileInfo{Channel: channel, Package: f.Package, Kind: f.Kind, Subdir: f.Subdir, Filename: f.Filename,
		Version: f.Version, Build: f.Build, SHA256: f.SHA256, MD5: f.MD5, Size: f.Size, Labels: f.Labels, CreatedAt: f.CreatedAt,
		Yanked: f.Yanked, YankedReason: f.YankedReason, PackagePrivate: f.PackagePrivate}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// A length makes the answer whole once flushed, before any work queued after it
	// (afterAnswer); a chunked one would end only when the handler returns.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// readJSON decodes a small JSON body strictly.
func readJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return errBadRequest("send the body as application/json")
		}
	}
	// The body is read whole before it is parsed: one that stops short of its length is
	// answered 408 when its deadline passes, whatever came before (bytes that are no JSON yet,
	// or a whole value with the rest missing), not 400 for bytes the client had not finished.
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil && dec.More() {
			err = errors.New("more than one JSON value")
		} else if err == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				err = errors.New("data after the JSON value")
			}
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge("the JSON body is larger than 1 MiB")
	}
	if err != nil {
		return bodyReadError("invalid JSON body", err)
	}
	return nil
}

const maxJSONBody = 1 << 20

func (s *Server) apiWhoami(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.store.UserByID(r.Context(), c.principal.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"name": u.Name, "email": u.Email, "admin": u.Admin, "created_at": u.CreatedAt})
}

func (s *Server) apiListChannels(w http.ResponseWriter, r *http.Request, c *call) error {
	visible, err := s.visibleChannels(r.Context(), c.principal, nil)
	if err != nil {
		return err
	}
	out := []api.ChannelInfo{}
	for _, ch := range visible {
		out = append(out, s.channelInfoFor(c.principal, ch))
	}
	return writeJSON(w, http.StatusOK, out)
}

// visibleChannels lists the channels p may see, of those keep accepts (nil: all), by name.
// Channels of accounts that have not confirmed their address (sign-ups that may never be)
// are listed to administrators only: a name anyone could have signed up for is not shown
// next to real ones.
func (s *Server) visibleChannels(ctx context.Context, p access.Principal, keep func(store.Channel) bool) ([]store.Channel, error) {
	all, err := s.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := []store.Channel{}
	for _, ch := range all {
		if ch.OwnerUnconfirmed && !p.Admin {
			continue
		}
		if (keep == nil || keep(ch)) && access.Visible(p, resourceOf(ch)) {
			out = append(out, ch)
		}
	}
	return out, nil
}

// resolveNewChannel decides what creating a channel is an action on: the server for a
// top-level channel, the parent for a subchannel (whose owner may then create it).
func (s *Server) resolveNewChannel(r *http.Request, c *call) (access.Resource, error) {
	var req api.NewChannelRequest
	if err := readJSON(r, &req); err != nil {
		return access.Resource{}, err
	}
	if err := names.Channel(req.Name); err != nil {
		return access.Resource{}, errBadRequest(err.Error())
	}
	return s.newChannelResource(r, c, req)
}

// newChannelResource is what creating the channel req names is an action on; it keeps req
// in c for createChannel.
func (s *Server) newChannelResource(r *http.Request, c *call, req api.NewChannelRequest) (access.Resource, error) {
	c.newChannel = req
	if parent, _, ok := cut(req.Name, "/"); ok {
		if req.Org != "" {
			return access.Resource{}, errBadRequest("a subchannel belongs to its parent's owner: leave out \"org\"")
		}
		ch, err := s.channelFor(r.Context(), c.principal, parent)
		if err != nil {
			return access.Resource{}, err
		}
		// Found by another spelling of its name, the parent is named as it is: the store
		// wants the parent's exact name, and the child is kept as asked.
		_, child, _ := cut(req.Name, "/")
		c.channel, c.newChannel.Name = ch, ch.Name+"/"+child
		return resourceOf(ch), nil
	}
	if req.Org != "" {
		org, err := s.store.OrgByName(r.Context(), req.Org)
		if err != nil {
			return access.Resource{}, err
		}
		c.org = org
		return access.Resource{Org: org.ID}, nil
	}
	return access.Resource{}, nil
}

func (s *Server) apiCreateChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	ch, err := s.createChannel(r.Context(), c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, channelInfo(ch))
}

// createChannel creates the channel a resolver put in c.newChannel (its name checked), owned
// by the caller, by c.org, or for a subchannel by its parent's owner.
func (s *Server) createChannel(ctx context.Context, c *call) (store.Channel, error) {
	nc := store.NewChannel{Name: c.newChannel.Name, Private: c.newChannel.Private, OwnerUserID: c.principal.UserID, ActorID: c.principal.UserID}
	switch {
	case c.channel.ID != 0: // a subchannel belongs to its parent's owner
		nc.OwnerUserID, nc.OwnerOrgID = c.channel.OwnerUserID, c.channel.OwnerOrgID
	case c.org.ID != 0:
		nc.OwnerUserID, nc.OwnerOrgID = 0, c.org.ID
	}
	return s.store.CreateChannel(ctx, nc)
}

func (s *Server) apiShowChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, http.StatusOK, s.channelInfoFor(c.principal, c.channel))
}

// channelInfoFor hides the revision and last change from readers who may not see every
// package: both move with changes to private packages.
func (s *Server) channelInfoFor(p access.Principal, ch store.Channel) api.ChannelInfo {
	ci := channelInfo(ch)
	if !access.ReadsAll(p, resourceOf(ch)) {
		ci.Revision, ci.UpdatedAt = 0, ci.CreatedAt
	}
	return ci
}

func (s *Server) apiListFiles(w http.ResponseWriter, r *http.Request, c *call) error {
	label := r.URL.Query().Get("label")
	if label != "" && !conda.ValidLabel(label) {
		return errBadRequest("invalid label " + strconv.Quote(label) + ": start with a letter; then letters, digits, '_', '-', '.', '/'")
	}
	files, err := s.store.ListFiles(r.Context(), c.channel.ID, label)
	if err != nil {
		return err
	}
	out := make([]api.FileInfo, 0, len(files))
	for _, f := range files {
		if access.CanRead(c.principal, fileResource(c.channel, f)) {
			out = append(out, fileInfo(c.channel.Name, f))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// resolveFile names one file of a channel: actions on it are actions on its package. A file
// the caller may not see is not found, in the same words as one that is not there.
func (s *Server) resolveFile(r *http.Request, c *call) (access.Resource, error) {
	if _, err := s.resolveChannel(r, c); err != nil {
		return access.Resource{}, err
	}
	if !access.Knows(c.principal, resourceOf(c.channel)) {
		return access.Resource{}, &store.NotFoundError{Kind: "channel", Name: c.channel.Name}
	}
	ref, err := s.fileRef(r)
	if err != nil {
		return access.Resource{}, err
	}
	f, err := s.store.File(r.Context(), c.channel.ID, ref, "")
	if err != nil {
		return access.Resource{}, err
	}
	res := fileResource(c.channel, f)
	if !access.KnowsPackage(c.principal, res) {
		return access.Resource{}, &store.NotFoundError{Kind: "file", Name: ref.String()}
	}
	c.file = f
	return res, nil
}

// resolveUpload names the package an upload is for, from its filename, so that a grant on
// that one package is enough to upload to it.
func (s *Server) resolveUpload(r *http.Request, c *call) (access.Resource, error) {
	if _, err := s.resolveChannel(r, c); err != nil {
		return access.Resource{}, err
	}
	fn := r.PathValue("filename")
	if isPyPIFilename(fn) {
		f, err := pypi.ParseFilename(fn)
		if err != nil {
			return access.Resource{}, errBadRequest(err.Error())
		}
		res := packageResource(c.channel, pypi.NormalizeName(f.Project), false)
		res.Kind = "pypi"
		c.pkg = res.Package
		return res, nil
	}
	name, _, _, _, err := conda.ParseFilename(fn)
	if err != nil {
		return access.Resource{}, errBadRequest(err.Error())
	}
	res := packageResource(c.channel, name, false)
	res.Kind = "conda"
	return res, nil
}

func (s *Server) fileRef(r *http.Request) (store.FileRef, error) {
	ref := store.FileRef{Subdir: r.PathValue("subdir"), Filename: r.PathValue("filename")}
	if ref.Subdir == store.PyPISubdir {
		if _, err := pypi.ParseFilename(ref.Filename); err != nil {
			return ref, &store.NotFoundError{Kind: "file", Name: ref.String()}
		}
		return ref, nil
	}
	if !s.validSubdir(ref.Subdir) {
		return ref, errNotFound("unknown subdir " + strconv.Quote(ref.Subdir))
	}
	if _, _, _, _, err := conda.ParseFilename(ref.Filename); err != nil {
		return ref, &store.NotFoundError{Kind: "file", Name: ref.String()}
	}
	return ref, nil
}

func (s *Server) apiShowFile(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, http.StatusOK, fileInfo(c.channel.Name, c.file))
}

func (s *Server) apiRemoveFile(w http.ResponseWriter, r *http.Request, c *call) error {
	ref := store.FileRef{Subdir: c.file.Subdir, Filename: c.file.Filename}
	if err := s.store.RemoveFile(r.Context(), c.channel.ID, ref, c.principal.UserID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiCopy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.CopyRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	for _, l := range append(append([]string{}, req.ToLabels...), req.FromLabel) {
		if l != "" && !conda.ValidLabel(l) {
			return errBadRequest("invalid label " + strconv.Quote(l) + ": start with a letter; letters, digits, '_', '-', '.', '/'")
		}
	}
	for _, f := range req.Files {
		if f.Subdir == store.PyPISubdir {
			if _, err := pypi.ParseFilename(f.Filename); err != nil {
				return errBadRequest("name each file as {\"subdir\": …, \"filename\": …}: " + err.Error())
			}
			continue
		}
		if _, _, _, _, err := conda.ParseFilename(f.Filename); !s.validSubdir(f.Subdir) || err != nil {
			return errBadRequest("name each file as {\"subdir\": …, \"filename\": …}")
		}
	}
	if len(req.Files) == 0 && req.FromLabel == "" {
		return errBadRequest("name the files to copy, or the label whose files to copy (from_label)")
	}
	target := c.channel
	if req.ToChannel != "" && req.ToChannel != c.channel.Name {
		ch, err := s.channelFor(r.Context(), c.principal, req.ToChannel)
		if err != nil {
			return err
		}
		// Writing into the target is an upload there: ask the policy about it too.
		if !access.May(c.principal, access.ArtifactCreate, resourceOf(ch)) {
			return refuse(c.principal, access.ArtifactCreate, resourceOf(ch))
		}
		target = ch
	}
	if req.Move && target.ID == c.channel.ID && req.FromLabel == "" {
		return errBadRequest("a move inside one channel needs from_label, the label to move the files off")
	}
	if req.Move && (target.ID != c.channel.ID || req.FromLabel == "") && !access.May(c.principal, access.ArtifactDelete, resourceOf(c.channel)) {
		return errForbidden("moving files out of channel " + c.channel.Name + " removes them there, which you may not do; copy them instead")
	}
	files, err := s.store.CopyFiles(r.Context(), store.CopyRequest{
		FromChannelID: c.channel.ID, FromLabel: req.FromLabel, Files: req.Files,
		ToChannelID: target.ID, ToLabels: req.ToLabels, Move: req.Move, ActorID: c.principal.UserID,
	})
	if err != nil {
		return err
	}
	out := make([]api.FileInfo, 0, len(files))
	for _, f := range files {
		out = append(out, fileInfo(target.Name, f))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiLabels(w http.ResponseWriter, r *http.Request, c *call) error {
	labels, err := s.labelsFor(r.Context(), c.principal, c.channel)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, labels)
}

// labelsFor lists a channel's labels with their file counts as p may see them.
func (s *Server) labelsFor(ctx context.Context, p access.Principal, ch store.Channel) ([]store.LabelCount, error) {
	if access.ReadsAll(p, resourceOf(ch)) {
		return s.store.Labels(ctx, ch.ID)
	}
	// Counted over the files the caller may see: counts must not betray private packages.
	files, err := s.store.ListFiles(ctx, ch.ID, "")
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, f := range files {
		if access.CanRead(p, fileResource(ch, f)) {
			for _, l := range f.Labels {
				counts[l]++
			}
		}
	}
	out := make([]store.LabelCount, 0, len(counts))
	for l, n := range counts {
		out = append(out, store.LabelCount{Label: l, Files: n})
	}
	slices.SortFunc(out, func(a, b store.LabelCount) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request, c *call) error {
	evs, err := s.store.Events(r.Context(), c.channel.ID, historyLimit(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evs)
}
