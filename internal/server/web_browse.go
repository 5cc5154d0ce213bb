package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/store"
)

// The browsing pages: the dashboard, users, channels and packages, and a channel's settings,
// history and bulk package access. Every list is filtered for the viewer: a private channel or
// package appears only to those who may see it.

// channelPage is the page of a channel: "acme/dev" travels as one segment.
func channelPage(name string) string { return "/channels/" + url.PathEscape(name) }

// ---- the dashboard

// recentUploads is how many uploads the dashboard shows.
const recentUploads = 20

type channelRow struct {
	Name    string
	Private bool
	Via     string // how the viewer comes to it: "yours", "org acme", "group grant: write"
}

type uploadRow struct {
	Channel, Package, Kind, Version, Subdir, Filename, Uploader string
	Size                                                        int64
	When                                                        time.Time
	Private                                                     bool
}

type homeData struct {
	Channels []channelRow
	Orgs     []store.OrgRole
	Uploads  []uploadRow
	Owners   []string // where the viewer may create a channel: themselves, then orgs they own
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, p := r.Context(), c.principal
	visible, err := s.visibleChannels(ctx, p, nil)
	if err != nil {
		return err
	}
	var d homeData
	if d.Uploads, err = s.recent(ctx, p, visible); err != nil {
		return err
	}
	if p.Anonymous() {
		for _, ch := range visible {
			d.Channels = append(d.Channels, channelRow{Name: ch.Name})
		}
		return s.render(w, r, http.StatusOK, "home", s.page(c, "Channels", d))
	}
	orgNames := map[int64]string{}
	for id := range p.OrgRoles {
		o, err := s.orgByID(ctx, id, time.Now()) // remembered with the viewer's identity
		if err != nil && !store.IsNotFound(err) {
			return err
		}
		orgNames[id] = o.Name
	}
	for _, ch := range visible {
		if via := viaOf(p, ch, orgNames); via != "" {
			d.Channels = append(d.Channels, channelRow{Name: ch.Name, Private: private(ch), Via: via})
		}
	}
	if d.Orgs, err = s.store.UserOrgs(ctx, p.UserID); err != nil {
		return err
	}
	d.Owners = []string{p.Name}
	for _, o := range d.Orgs {
		if o.Role == store.RoleOwner {
			d.Owners = append(d.Owners, o.Org)
		}
	}
	return s.render(w, r, http.StatusOK, "home", s.page(c, "Dashboard", d))
}

// viaOf says how a channel is the viewer's own: owned, through an org, or through a group's
// grant; "" when it is not.
func viaOf(p access.Principal, ch store.Channel, orgNames map[int64]string) string {
	var via []string
	switch {
	case ch.OwnerUserID != 0 && ch.OwnerUserID == p.UserID:
		return "yours"
	case ch.OwnerOrgID != 0 && p.OrgRoles[ch.OwnerOrgID] == access.RoleOwner:
		return "organization " + orgNames[ch.OwnerOrgID] + " (owner)"
	case ch.OwnerOrgID != 0 && p.OrgRoles[ch.OwnerOrgID] != "":
		via = append(via, "organization "+orgNames[ch.OwnerOrgID])
	}
	if l := max(p.Channels[ch.ID], p.Channels[ch.ParentID]); l > access.None {
		via = append(via, "group grant: "+l.String())
	} else {
		for k, l := range p.Packages {
			if k.ChannelID == ch.ID && l > access.None {
				via = append(via, "group grant on packages")
				break
			}
		}
	}
	return strings.Join(via, ", ")
}

// recent lists the newest uploads the viewer may read in the channels given (all visible to
// them), reading page by page past files they may not see, within bounds.
func (s *Server) recent(ctx context.Context, p access.Principal, channels []store.Channel) ([]uploadRow, error) {
	byID := make(map[int64]store.Channel, len(channels))
	ids := make([]int64, 0, len(channels))
	for _, ch := range channels {
		byID[ch.ID] = ch
		ids = append(ids, ch.ID)
	}
	out := []uploadRow{}
	var before int64
	for page := 0; page < 10 && len(out) < recentUploads && len(ids) > 0; page++ {
		ups, err := s.store.RecentUploads(ctx, ids, before, 100)
		if err != nil {
			return nil, err
		}
		for _, u := range ups {
			ch := byID[u.ChannelID]
			res := fileResource(ch, u.File)
			if !access.CanRead(p, res) || len(out) == recentUploads {
				continue
			}
			out = append(out, uploadRow{Channel: u.Channel, Package: u.Package, Kind: u.Kind, Version: u.Version, Subdir: u.Subdir,
				Filename: u.Filename, Uploader: u.Uploader, Size: u.Size, When: u.CreatedAt, Private: res.Private || res.PackagePrivate})
		}
		if len(ups) < 100 {
			break
		}
		before = ups[len(ups)-1].ID
	}
	return out, nil
}

// ---- a user's page

type userData struct {
	User     store.User
	Channels []channelRow
}

func (s *Server) pageUser(w http.ResponseWriter, r *http.Request, c *call) error {
	// userNamed finds accounts named before the naming rules too (admin), as the links to
	// this page from uploads and members expect.
	u, err := s.userNamed(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	if !u.EmailVerified && !c.principal.Admin {
		// A sign-up not confirmed (yet, or ever) has no page but for administrators.
		return &store.NotFoundError{Kind: "user", Name: r.PathValue("user")}
	}
	owned, err := s.visibleChannels(r.Context(), c.principal, func(ch store.Channel) bool { return ch.OwnerUserID == u.ID })
	if err != nil {
		return err
	}
	d := userData{User: u}
	for _, ch := range owned {
		d.Channels = append(d.Channels, channelRow{Name: ch.Name, Private: private(ch)})
	}
	return s.render(w, r, http.StatusOK, "user", s.page(c, u.Name, d))
}

// ---- creating channels

// resolveWebNewChannel reads the dashboard's form (name, owner: the user or an org, private)
// and names what creating it is an action on, as resolveNewChannel does for the API.
func (s *Server) resolveWebNewChannel(r *http.Request, c *call) (access.Resource, error) {
	if err := form(nil, r); err != nil {
		return access.Resource{}, err
	}
	if c.principal.Anonymous() {
		return access.Resource{}, nil // refused as the server's: sign in first
	}
	req := api.NewChannelRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Private: checked(r.PostFormValue("private"))}
	if owner := strings.TrimSpace(r.PostFormValue("owner")); owner != "" && owner != c.principal.Name {
		if names.Account(owner) != nil {
			return access.Resource{}, &store.NotFoundError{Kind: "organization", Name: owner}
		}
		req.Org = owner
	}
	// A name that is no channel's is told in the page the form is on (pageCreateChannel).
	return s.newChannelResource(r, c, req)
}

// checked reads a checkbox (or a "true"/"false" field).
func checked(v string) bool { return v == "on" || v == "true" || v == "1" }

func (s *Server) pageCreateChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := names.Channel(c.newChannel.Name); err != nil {
		return s.redirectError(w, r, "/", errBadRequest(err.Error()))
	}
	ch, err := s.createChannel(r.Context(), c)
	if err != nil {
		return s.redirectError(w, r, "/", err)
	}
	return s.redirect(w, r, channelPage(ch.Name), "Channel "+ch.Name+" created.")
}

// resolveWebSubchannel reads the settings page's form (name of the child, private) and names
// the parent, on which creating a subchannel is an action.
func (s *Server) resolveWebSubchannel(r *http.Request, c *call) (access.Resource, error) {
	res, err := s.resolveChannel(r, c)
	if err != nil {
		return res, err
	}
	if err := form(nil, r); err != nil {
		return access.Resource{}, err
	}
	child := strings.TrimSpace(r.PostFormValue("name"))
	child = strings.TrimPrefix(child, c.channel.Name+"/")
	c.newChannel = api.NewChannelRequest{Name: c.channel.Name + "/" + child, Private: checked(r.PostFormValue("private"))}
	return res, nil
}

func (s *Server) pageCreateSubchannel(w http.ResponseWriter, r *http.Request, c *call) error {
	back := channelPage(c.channel.Name) + "/settings"
	if c.channel.ParentID != 0 {
		return s.redirectError(w, r, back, errBadRequest("a subchannel has no subchannels of its own: one level only (parent/child)"))
	}
	if err := names.Channel(c.newChannel.Name); err != nil {
		return s.redirectError(w, r, back, errBadRequest(err.Error()))
	}
	ch, err := s.createChannel(r.Context(), c)
	if err != nil {
		return s.redirectError(w, r, back, err)
	}
	return s.redirect(w, r, back, "Subchannel "+ch.Name+" created.")
}

// ---- a channel's page

// channelHead is the top of every page of a channel: where it is, its privacy, and tabs to
// the pages of it the viewer may use.
type channelHead struct {
	Name, Parent              string
	Private                   bool
	Current                   string // "packages", "access", "history" or "settings"
	Access, History, Settings bool
}

func headOf(p access.Principal, ch store.Channel, current string, canAccess bool) channelHead {
	res := resourceOf(ch)
	h := channelHead{Name: ch.Name, Private: private(ch), Current: current, Access: canAccess,
		History: access.May(p, access.ChannelHistory, res), Settings: access.May(p, access.ChannelManage, res)}
	if ch.ParentID != 0 {
		h.Parent, _, _ = cut(ch.Name, "/")
	}
	return h
}

type packageRow struct {
	Name, Kind, Latest string
	// Private is the privacy its readers meet: its own, its channel's or its parent's.
	Private    bool
	Versions   int
	Files      int64
	LastUpload time.Time
}

type channelData struct {
	Head        channelHead
	Channel     store.Channel
	Owner       string
	OwnerIsOrg  bool
	Packages    []packageRow
	Subchannels []channelRow
	Labels      []store.LabelCount
	Subdirs     []string
	Install     []installLine
}

func (s *Server) pageChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, p, ch := r.Context(), c.principal, c.channel
	res := resourceOf(ch)
	d := channelData{Channel: ch}
	canAccess := access.ChannelLevel(p, res) >= access.Manage
	var err error
	if d.Owner, d.OwnerIsOrg, err = s.ownerOf(ctx, ch); err != nil {
		return err
	}
	pkgs, err := s.store.ChannelPackages(ctx, ch.ID)
	if err != nil {
		return err
	}
	subdirs := map[string]bool{}
	kinds := map[string]bool{}
	for _, pk := range pkgs {
		pres := packageResource(ch, pk.Name, pk.Private)
		pres.Kind = pk.Kind
		if !access.CanRead(p, pres) {
			continue
		}
		if access.May(p, access.PackageManage, pres) {
			canAccess = true
		}
		d.Packages = append(d.Packages, packageRow{Name: pk.Name, Kind: pk.Kind, Latest: latest(pk.Kind, pk.Versions), Private: pk.Private || private(ch),
			Versions: len(pk.Versions), Files: pk.Files, LastUpload: pk.LastUpload})
		kinds[pk.Kind] = true
		for _, sd := range pk.Subdirs {
			if sd != store.PyPISubdir {
				subdirs[sd] = true
			}
		}
	}
	d.Head = headOf(p, ch, "packages", canAccess)
	for sd := range subdirs {
		d.Subdirs = append(d.Subdirs, sd)
	}
	slices.Sort(d.Subdirs)
	if d.Labels, err = s.labelsFor(ctx, p, ch); err != nil {
		return err
	}
	if d.Subchannels, err = s.subchannels(ctx, p, ch); err != nil {
		return err
	}
	token := private(ch)
	if kinds["conda"] || len(kinds) == 0 {
		d.Install = append(d.Install, installLine{ID: "install-conda", What: "conda", Command: "conda install -c " + s.condaURL(ch.Name, "main", placeholderIf(token)) + " PACKAGE"})
	}
	if kinds["pypi"] {
		d.Install = append(d.Install, installLine{ID: "install-pip", What: "pip", Command: "pip install --index-url " + s.pipURL(ch.Name, placeholderIf(token)) + " PACKAGE"})
	}
	return s.render(w, r, http.StatusOK, "channel", s.page(c, ch.Name, d))
}

// subchannels lists a channel's subchannels the viewer may see.
func (s *Server) subchannels(ctx context.Context, p access.Principal, ch store.Channel) ([]channelRow, error) {
	if ch.ParentID != 0 {
		return nil, nil
	}
	subs, err := s.visibleChannels(ctx, p, func(sub store.Channel) bool { return sub.ParentID == ch.ID })
	if err != nil {
		return nil, err
	}
	var out []channelRow
	for _, sub := range subs {
		out = append(out, channelRow{Name: sub.Name, Private: private(sub)})
	}
	return out, nil
}

// ownerOf names a channel's owner, a user or an org.
func (s *Server) ownerOf(ctx context.Context, ch store.Channel) (string, bool, error) {
	switch {
	case ch.OwnerOrgID != 0:
		o, err := s.store.OrgByID(ctx, ch.OwnerOrgID)
		if store.IsNotFound(err) {
			return "", true, nil
		}
		return o.Name, true, err
	case ch.OwnerUserID != 0:
		u, err := s.store.UserByID(ctx, ch.OwnerUserID)
		if store.IsNotFound(err) {
			return "", false, nil
		}
		return u.Name, false, err
	}
	return "", false, nil
}

// compareVersions orders versions by the rules of a package kind.
func compareVersions(kind string) func(a, b string) int {
	if kind == "pypi" {
		return pypi.CompareVersions
	}
	return conda.CompareVersions
}

// latest is the highest of a package's versions.
func latest(kind string, versions []string) string {
	if len(versions) == 0 {
		return ""
	}
	return slices.MaxFunc(versions, compareVersions(kind))
}

// ---- install instructions

type installLine struct {
	ID      string // the element's id, for the copy button
	What    string
	Command string
}

// tokenPlaceholder stands where a token goes in the instructions for private channels and
// packages.
const tokenPlaceholder = "<TOKEN>"

// placeholderIf is where a token goes in an install line: the placeholder when one is needed.
func placeholderIf(needed bool) string {
	if needed {
		return tokenPlaceholder
	}
	return ""
}

func (s *Server) publicURL() string { return strings.TrimRight(s.opts.PublicURL, "/") }

// channelSegments is a channel name in a URL path: "acme/dev" stays two segments.
func channelSegments(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// condaURL is the channel URL conda is given (docs/cli.md): SERVER/conda/CHANNEL, with a
// token (a secret, or tokenPlaceholder; "" for none) as SERVER/t/TOKEN/conda/CHANNEL, and
// /label/LABEL for another label than main.
func (s *Server) condaURL(channel, label, token string) string {
	u := s.publicURL()
	if token != "" {
		u += "/t/" + token
	}
	u += "/conda/" + channelSegments(channel)
	if label != "" && label != "main" {
		u += "/label/" + channelSegments(label)
	}
	return u
}

// pipURL is the index URL pip is given (docs/cli.md): SERVER/pypi/CHANNEL/simple/, with a
// token ("" for none) as the password of __token__, which pip hides when it prints the URL.
func (s *Server) pipURL(channel, token string) string {
	u := s.publicURL() + "/pypi/" + channelSegments(channel) + "/simple/"
	if token == "" {
		return u
	}
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		return scheme + "://__token__:" + token + "@" + rest
	}
	return u
}

// downloadURL is where the package page downloads a file from: a page of the web UI, so that
// the session signs the download in (the conda and PyPI surfaces never read the cookie).
func downloadURL(channel string, f store.File) string {
	return "/channels/" + url.PathEscape(channel) + "/files/" + url.PathEscape(f.Subdir) + "/" + url.PathEscape(f.Filename)
}

// pageDownload sends a file to a browser, as an attachment under its own name.
func (s *Server) pageDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": c.file.Filename}))
	cc := "private, no-cache"
	if !private(c.channel) && !c.file.PackagePrivate {
		cc = "public, max-age=30"
	}
	return s.serveFile(w, r, c.channel.Name, c.file, cc)
}

// ---- a package's page

type versionRow struct {
	Version  string
	Files    int
	Uploaded time.Time
	Selected bool
	Yanked   bool // every file of it is yanked
}

type fileRow struct {
	store.Upload
	URL            string
	Depends        []string
	Constrains     []string
	RequiresPython string
}

type packageData struct {
	Channel        store.Channel
	Name           string
	Private        bool // the package
	ChannelPrivate bool
	Kinds          []string
	Summary        string
	Versions       []versionRow // newest first
	Version        string       // the one shown
	Files          []fileRow    // of Version
	Install        []installLine
	NeedsToken     bool
	CanManage      bool
	// PrivateWhy says why the package is private to its readers ("the channel is private",
	// ...), "" when anyone may read it.
	PrivateWhy string
}

func (s *Server) pagePackage(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, p, ch := r.Context(), c.principal, c.channel
	files, err := s.store.PackageFiles(ctx, ch.ID, c.pkg)
	if err != nil {
		return err
	}
	priv, err := s.store.PackagePrivacy(ctx, ch.ID, c.pkg)
	if err != nil {
		return err
	}
	res := packageResource(ch, c.pkg, priv)
	d := packageData{Channel: ch, Name: c.pkg, Private: priv, ChannelPrivate: private(ch), NeedsToken: private(ch) || priv,
		PrivateWhy: privateWhy(ch, priv)}
	kind := "conda"
	for _, f := range files {
		if !slices.Contains(d.Kinds, f.Kind) {
			d.Kinds = append(d.Kinds, f.Kind)
		}
	}
	slices.Sort(d.Kinds)
	if len(d.Kinds) == 1 {
		kind = d.Kinds[0]
		res.Kind = kind // a grant in another spelling is matched by its kind's rules
	}
	d.CanManage = access.May(p, access.PackageManage, res)
	// Versions, newest first.
	byVersion := map[string]*versionRow{}
	for _, f := range files {
		v := byVersion[f.Version]
		if v == nil {
			v = &versionRow{Version: f.Version, Yanked: true}
			byVersion[f.Version] = v
		}
		v.Files++
		v.Yanked = v.Yanked && f.Yanked
		if f.CreatedAt.After(v.Uploaded) {
			v.Uploaded = f.CreatedAt
		}
	}
	cmpv := compareVersions(kind)
	for _, v := range byVersion {
		d.Versions = append(d.Versions, *v)
	}
	sort.Slice(d.Versions, func(i, j int) bool { return cmpv(d.Versions[i].Version, d.Versions[j].Version) > 0 })
	d.Version = r.URL.Query().Get("version")
	if byVersion[d.Version] == nil {
		d.Version = ""
		for _, v := range d.Versions { // the newest that is not yanked, else the newest
			if !v.Yanked {
				d.Version = v.Version
				break
			}
		}
		if d.Version == "" && len(d.Versions) > 0 {
			d.Version = d.Versions[0].Version
		}
	}
	for i := range d.Versions {
		d.Versions[i].Selected = d.Versions[i].Version == d.Version
	}
	// The files of the version shown, with what they depend on.
	for _, f := range files {
		if f.Version != d.Version {
			continue
		}
		fr := fileRow{Upload: f, URL: downloadURL(ch.Name, f.File)}
		if err := s.dependencies(ctx, ch, &fr, &d.Summary); err != nil {
			return err
		}
		d.Files = append(d.Files, fr)
	}
	if slices.Contains(d.Kinds, "conda") {
		d.Install = append(d.Install, s.condaInstallLines(ch.Name, c.pkg, files, placeholderIf(d.NeedsToken))...)
	}
	if slices.Contains(d.Kinds, "pypi") {
		d.Install = append(d.Install, installLine{ID: "install-pip", What: "pip",
			Command: "pip install --index-url " + s.pipURL(ch.Name, placeholderIf(d.NeedsToken)) + " " + c.pkg})
	}
	return s.render(w, r, http.StatusOK, "package", s.page(c, c.pkg+" · "+ch.Name, d))
}

// privateWhy says why a package is private to its readers, "" if it is public: its channel,
// the channel's parent, the package itself, each that applies.
func privateWhy(ch store.Channel, pkgPrivate bool) string {
	var why []string
	if ch.Private {
		why = append(why, "the channel is private")
	}
	if ch.ParentPrivate {
		why = append(why, "the parent channel is private")
	}
	if pkgPrivate {
		why = append(why, "the package is private")
	}
	return strings.Join(why, "; ")
}

// condaInstallLines are the conda install lines of a package: one per label its files carry,
// main first and then the others by name, each saying the newest version it installs.
func (s *Server) condaInstallLines(channel, pkg string, files []store.Upload, token string) []installLine {
	newest := map[string]string{}
	for _, f := range files {
		if f.Kind != "conda" {
			continue
		}
		for _, l := range f.Labels {
			if v, ok := newest[l]; !ok || conda.CompareVersions(f.Version, v) > 0 {
				newest[l] = f.Version
			}
		}
	}
	labels := slices.Sorted(maps.Keys(newest))
	if i := slices.Index(labels, "main"); i > 0 {
		labels = append(append([]string{"main"}, labels[:i]...), labels[i+1:]...)
	}
	if len(labels) == 0 {
		labels = []string{"main"} // files on no label: the channel's own URL
	}
	out := make([]installLine, 0, len(labels))
	for i, l := range labels {
		id, what := "install-conda", "conda"
		if i > 0 {
			id = "install-conda-" + strconv.Itoa(i+1)
		}
		switch v, ok := newest[l]; {
		case !ok:
		case l == "main":
			what = "conda (main: " + v + ")"
		default:
			what = "conda (label " + l + ": " + v + ")"
		}
		out = append(out, installLine{ID: id, What: what, Command: "conda install -c " + s.condaURL(channel, l, token) + " " + pkg})
	}
	return out
}

// dependencies fills in what a file depends on: a conda package's depends and constrains
// from its record, a Python distribution's Requires-Dist from its core metadata.
func (s *Server) dependencies(ctx context.Context, ch store.Channel, fr *fileRow, summary *string) error {
	rec, err := s.store.FileRecord(ctx, ch.ID, store.FileRef{Subdir: fr.Subdir, Filename: fr.Filename})
	if err != nil {
		return err
	}
	var meta struct {
		Depends        []string `json:"depends"`
		Constrains     []string `json:"constrains"`
		Summary        string   `json:"summary"`
		RequiresPython string   `json:"requires_python"`
	}
	json.Unmarshal(rec, &meta) // a record the store kept is JSON; what is not understood is left out
	if meta.Summary != "" && *summary == "" {
		*summary = meta.Summary
	}
	if fr.Kind != "pypi" {
		fr.Depends, fr.Constrains = meta.Depends, meta.Constrains
		return nil
	}
	fr.RequiresPython = meta.RequiresPython
	md, err := s.store.CoreMetadata(ctx, ch.ID, fr.Filename)
	if store.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	fr.Depends = requiresDist(md)
	return nil
}

// requiresDist reads the Requires-Dist fields of core metadata (an email-style header block).
func requiresDist(md []byte) []string {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(md)))
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil
	}
	return h.Values("Requires-Dist")
}

func (s *Server) pagePackagePrivacy(w http.ResponseWriter, r *http.Request, c *call) error {
	back := channelPage(c.channel.Name) + "/packages/" + url.PathEscape(c.pkg)
	priv, err := formPrivacy(w, r)
	if err != nil {
		return err
	}
	if err := s.store.SetPackagesPrivate(r.Context(), c.channel.ID, []string{c.pkg}, priv, c.principal.UserID); err != nil {
		return err
	}
	return s.redirect(w, r, back, "Package "+c.pkg+" is now "+privacyWord(priv)+".")
}

// formPrivacy reads a form's "private" field: "true" or "false".
func formPrivacy(w http.ResponseWriter, r *http.Request) (bool, error) {
	if err := form(w, r); err != nil {
		return false, err
	}
	return postedPrivacy(r)
}

// postedPrivacy reads a parsed form's choice of privacy.
func postedPrivacy(r *http.Request) (bool, error) {
	switch r.PostFormValue("private") {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errBadRequest("choose private or public (private=true or private=false)")
}

func privacyWord(priv bool) string {
	if priv {
		return "private"
	}
	return "public"
}

// ---- a channel's history

type eventRow struct {
	When   time.Time
	Actor  string
	Action string
	Detail string
}

type historyData struct {
	Head   channelHead
	Events []eventRow
}

func (s *Server) pageChannelHistory(w http.ResponseWriter, r *http.Request, c *call) error {
	evs, err := s.store.Events(r.Context(), c.channel.ID, historyLimit(r))
	if err != nil {
		return err
	}
	d := historyData{Head: headOf(c.principal, c.channel, "history", true)}
	for _, e := range evs {
		d.Events = append(d.Events, eventRow{When: e.CreatedAt, Actor: e.Actor, Action: e.Action, Detail: eventDetail(e.Detail)})
	}
	return s.render(w, r, http.StatusOK, "channel_history", s.page(c, "History of "+c.channel.Name, d))
}

// eventDetail writes an event's detail for people: "file: linux-64/x.conda, size: 1234".
func eventDetail(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return string(raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+detailValue(m[k]))
	}
	return strings.Join(parts, "; ")
}

func detailValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = detailValue(x)
		}
		return strings.Join(s, ", ")
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return "none"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// ---- a channel's settings

type grantRow struct {
	Group    string
	Channel  string // this channel, or its parent, whose grants reach it
	Package  string // "" for the whole channel
	Level    string
	OnParent bool
}

type channelSettingsData struct {
	Head         channelHead
	Channel      store.Channel
	Org          string // the owning org, whose groups hold the grants
	Subchannels  []channelRow
	CanCreateSub bool
	Grants       []grantRow
	// CanDelete: the viewer may remove the channel, and it is not an account's or org's own.
	CanDelete bool
}

func (s *Server) pageChannelSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, p, ch := r.Context(), c.principal, c.channel
	d := channelSettingsData{Head: headOf(p, ch, "settings", true), Channel: ch, CanCreateSub: ch.ParentID == 0 && access.May(p, access.ChannelCreate, resourceOf(ch))}
	var err error
	if d.Subchannels, err = s.subchannels(ctx, p, ch); err != nil {
		return err
	}
	if ch.OwnerOrgID != 0 {
		// Grants are on an org's own channels: the owning org's groups hold them all.
		o, err := s.store.OrgByID(ctx, ch.OwnerOrgID)
		if err != nil {
			return err
		}
		d.Org = o.Name
		groups, err := s.store.Groups(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, g := range groups {
			for _, gr := range g.Grants {
				if gr.ChannelID == ch.ID || (ch.ParentID != 0 && gr.ChannelID == ch.ParentID && gr.Package == "") {
					d.Grants = append(d.Grants, grantRow{Group: g.Name, Channel: gr.Channel, Package: gr.Package, Level: gr.LevelName, OnParent: gr.ChannelID != ch.ID})
				}
			}
		}
	}
	d.CanDelete = access.May(p, access.ChannelDelete, resourceOf(ch)) && s.deletableChannel(ctx, ch) == nil
	return s.render(w, r, http.StatusOK, "channel_settings", s.page(c, "Settings of "+ch.Name, d))
}

// pageDeleteChannel removes a channel with everything in it, once its name is typed again.
func (s *Server) pageDeleteChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	back := "/channels/" + url.PathEscape(c.channel.Name) + "/settings"
	if r.PostFormValue("confirm") != c.channel.Name {
		return s.redirectError(w, r, back, errBadRequest("type the channel's name, "+c.channel.Name+", to remove it"))
	}
	if err := s.deleteChannel(r.Context(), c); err != nil {
		return s.redirectError(w, r, back, err)
	}
	return s.redirect(w, r, "/", "The channel "+c.channel.Name+" is removed, with its subchannels and files.")
}

func (s *Server) pageChannelPrivacy(w http.ResponseWriter, r *http.Request, c *call) error {
	priv, err := formPrivacy(w, r)
	if err != nil {
		return err
	}
	if err := s.store.SetChannelPrivate(r.Context(), c.channel.ID, priv, c.principal.UserID); err != nil {
		return err
	}
	return s.redirect(w, r, channelPage(c.channel.Name)+"/settings", "Channel "+c.channel.Name+" is now "+privacyWord(priv)+".")
}

// ---- bulk package access

type accessRow struct {
	Name    string
	Kinds   []string
	Latest  string
	Private bool
}

type accessData struct {
	Head     channelHead
	Type     string // "all", "conda" or "pypi"
	Packages []accessRow
}

// manageable lists a channel's packages the viewer may manage (access.PackageManage), one row
// per name (privacy is per name), and whether there is any.
func (s *Server) manageable(ctx context.Context, p access.Principal, ch store.Channel) ([]accessRow, error) {
	pkgs, err := s.store.ChannelPackages(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	var out []accessRow
	for _, pk := range pkgs {
		pres := packageResource(ch, pk.Name, pk.Private)
		pres.Kind = pk.Kind
		if !access.May(p, access.PackageManage, pres) {
			continue
		}
		v := latest(pk.Kind, pk.Versions)
		if n := len(out); n > 0 && out[n-1].Name == pk.Name {
			out[n-1].Kinds = append(out[n-1].Kinds, pk.Kind)
			out[n-1].Private = out[n-1].Private || pk.Private
			if compareVersions(pk.Kind)(v, out[n-1].Latest) > 0 {
				out[n-1].Latest = v
			}
			continue
		}
		out = append(out, accessRow{Name: pk.Name, Kinds: []string{pk.Kind}, Latest: v, Private: pk.Private})
	}
	return out, nil
}

// mayManageSome refuses a viewer who may manage nothing in the channel.
func mayManageSome(p access.Principal, ch store.Channel, rows []accessRow) error {
	if len(rows) > 0 || access.ChannelLevel(p, resourceOf(ch)) >= access.Manage {
		return nil
	}
	if p.Anonymous() {
		return errUnauthorized("sign in first")
	}
	return errForbidden("you may not change the access of any package of channel " + ch.Name)
}

func accessType(t string) string {
	if t == "conda" || t == "pypi" {
		return t
	}
	return "all"
}

func (s *Server) pagePackageAccess(w http.ResponseWriter, r *http.Request, c *call) error {
	rows, err := s.manageable(r.Context(), c.principal, c.channel)
	if err != nil {
		return err
	}
	if err := mayManageSome(c.principal, c.channel, rows); err != nil {
		return err
	}
	d := accessData{Head: headOf(c.principal, c.channel, "access", true), Type: accessType(r.URL.Query().Get("type"))}
	for _, row := range rows {
		if d.Type == "all" || slices.Contains(row.Kinds, d.Type) {
			d.Packages = append(d.Packages, row)
		}
	}
	return s.render(w, r, http.StatusOK, "package_access", s.page(c, "Package access in "+c.channel.Name, d))
}

// pagePackageAccessPost makes the packages named private or public, all of them or, when any
// is not the viewer's to manage, none.
func (s *Server) pagePackageAccessPost(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, p, ch := r.Context(), c.principal, c.channel
	if err := form(w, r); err != nil {
		return err
	}
	rows, err := s.manageable(ctx, p, ch)
	if err != nil {
		return err
	}
	if err := mayManageSome(p, ch, rows); err != nil {
		return err
	}
	var pkgs []string
	for _, n := range r.PostForm["package"] {
		if !slices.Contains(pkgs, n) {
			pkgs = append(pkgs, n)
		}
	}
	if len(pkgs) == 0 {
		return errBadRequest("choose the packages to change")
	}
	priv, err := postedPrivacy(r)
	if err != nil {
		return err
	}
	for _, n := range pkgs {
		if !slices.ContainsFunc(rows, func(row accessRow) bool { return row.Name == n }) {
			// Missing and not the viewer's read the same: no private name is confirmed.
			return errForbidden(fmt.Sprintf("you may not change the access of package %q in channel %s: nothing was changed", n, ch.Name))
		}
	}
	if err := s.store.SetPackagesPrivate(ctx, ch.ID, pkgs, priv, p.UserID); err != nil {
		return err
	}
	what := "1 package is"
	if len(pkgs) > 1 {
		what = fmt.Sprintf("%d packages are", len(pkgs))
	}
	back := channelPage(ch.Name) + "/access"
	if t := accessType(r.PostFormValue("type")); t != "all" {
		back += "?type=" + t
	}
	return s.redirect(w, r, back, what+" now "+privacyWord(priv)+": "+strings.Join(pkgs, ", ")+".")
}
