package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/store"
)

func (s *Server) resolveOrg(r *http.Request, c *call) (access.Resource, error) {
	name := r.PathValue("org")
	if names.Lookup(name) != nil {
		return access.Resource{}, &store.NotFoundError{Kind: "organization", Name: name}
	}
	org, err := s.store.OrgByName(r.Context(), name)
	if err != nil {
		return access.Resource{}, err
	}
	c.org = org
	return access.Resource{Org: org.ID}, nil
}

type orgRequest struct {
	Name string `json:"name"`
}

func (s *Server) apiCreateOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	var req orgRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	org, err := s.createOrg(r.Context(), c, req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, api.OrgInfo{Name: org.Name, Members: []store.Member{{Name: c.principal.Name, Role: store.RoleOwner}}, Groups: []store.Group{}})
}

// The operations on orgs and groups, shared by the API and the web pages. The route table has
// already asked access.May for the action; these check the request's content.

// createOrg creates an org with the caller as its first owner.
func (s *Server) createOrg(ctx context.Context, c *call, name string) (store.Org, error) {
	if err := names.Account(name); err != nil {
		return store.Org{}, errBadRequest("organization " + err.Error())
	}
	return s.store.CreateOrg(ctx, name, c.principal.UserID)
}

// setMember adds a user to c.org or changes their role. warning is for the caller, when the
// account has not confirmed its address (unconfirmedWarning).
func (s *Server) setMember(ctx context.Context, c *call, user, role string) (warning string, err error) {
	if role != store.RoleOwner && role != store.RoleMember {
		return "", errBadRequest(`role must be "owner" or "member"`)
	}
	u, err := s.userNamed(ctx, user)
	if err != nil {
		return "", err
	}
	if err := s.store.SetOrgMember(ctx, c.org.ID, u.ID, role, c.principal.UserID); err != nil {
		return "", err
	}
	return unconfirmedWarning(u), nil
}

// unconfirmedWarning is what to tell whoever adds u to an org or a group when u has not
// confirmed its address: anyone can sign up with any free name, so the name alone does not
// say who it is; the addition stands.
func unconfirmedWarning(u store.User) string {
	if u.EmailVerified {
		return ""
	}
	return u.Name + " has not confirmed their email address: the account cannot sign in until it does, and whoever signed up chose the name, so make sure it is the person you mean"
}

// removeMember takes a user out of c.org and its groups.
func (s *Server) removeMember(ctx context.Context, c *call, user string) error {
	u, err := s.userNamed(ctx, user)
	if err != nil {
		return err
	}
	return s.store.RemoveOrgMember(ctx, c.org.ID, u.ID, c.principal.UserID)
}

func (s *Server) createGroup(ctx context.Context, c *call, name string) (store.Group, error) {
	if err := names.Segment(name); err != nil {
		return store.Group{}, errBadRequest("group name: " + err.Error())
	}
	return s.store.CreateGroup(ctx, c.org.ID, name, c.principal.UserID)
}

// checkGroup refuses a group name no group can have, as a group that is not there.
func checkGroup(g string) error {
	if names.Segment(g) != nil {
		return &store.NotFoundError{Kind: "group", Name: g}
	}
	return nil
}

func (s *Server) deleteGroup(ctx context.Context, c *call, group string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	return s.store.DeleteGroup(ctx, c.org.ID, group, c.principal.UserID)
}

// addGroupMember adds a user to a group (and to c.org); warning as setMember's.
func (s *Server) addGroupMember(ctx context.Context, c *call, group, user string) (warning string, err error) {
	if err := checkGroup(group); err != nil {
		return "", err
	}
	u, err := s.userNamed(ctx, user)
	if err != nil {
		return "", err
	}
	if err := s.store.AddGroupMember(ctx, c.org.ID, group, u.ID, c.principal.UserID); err != nil {
		return "", err
	}
	return unconfirmedWarning(u), nil
}

func (s *Server) removeGroupMember(ctx context.Context, c *call, group, user string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	u, err := s.userNamed(ctx, user)
	if err != nil {
		return err
	}
	return s.store.RemoveGroupMember(ctx, c.org.ID, group, u.ID, c.principal.UserID)
}

// setGrant gives a group a level on one of c.org's channels, or on a package of it.
func (s *Server) setGrant(ctx context.Context, c *call, group string, req grantRequest) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	level, ok := access.ParseLevel(req.Level)
	if !ok {
		return errBadRequest(`level must be "read", "write" or "manage"`)
	}
	ch, err := s.grantTarget(ctx, c, req.Channel, req.Package)
	if err != nil {
		return err
	}
	return s.store.SetGrant(ctx, c.org.ID, group, ch.ID, req.Package, level, c.principal.UserID)
}

func (s *Server) removeGrant(ctx context.Context, c *call, group, channel, pkg string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if channel == "" {
		return errBadRequest("name the grant to remove: ?channel=NAME[&package=NAME]")
	}
	ch, err := s.grantTarget(ctx, c, channel, pkg)
	if err != nil {
		return err
	}
	return s.store.RemoveGrant(ctx, c.org.ID, group, ch.ID, pkg, c.principal.UserID)
}

// groupsFor lists an org's groups as the caller may see them: owners see every grant;
// members see only grants on channels and packages they may read, so that a listing never
// names a private channel or package they could not find otherwise.
func (s *Server) groupsFor(r *http.Request, c *call) ([]store.Group, error) {
	groups, err := s.store.Groups(r.Context(), c.org.ID)
	if err != nil || access.May(c.principal, access.OrgManage, access.Resource{Org: c.org.ID}) {
		return groups, err
	}
	channels := map[string]store.Channel{}
	privates := map[int64][]string{} // a channel's private packages, read once
	for i := range groups {
		kept := groups[i].Grants[:0]
		for _, g := range groups[i].Grants {
			ch, ok := channels[g.Channel]
			if !ok {
				if ch, err = s.store.ChannelByName(r.Context(), g.Channel); err != nil {
					return nil, err
				}
				channels[g.Channel] = ch
			}
			res := resourceOf(ch)
			if g.Package != "" {
				priv, ok := privates[ch.ID]
				if !ok {
					if priv, err = s.store.PrivatePackages(r.Context(), ch.ID); err != nil {
						return nil, err
					}
					privates[ch.ID] = priv
				}
				if !access.CanRead(c.principal, packageResource(ch, g.Package, slices.Contains(priv, g.Package))) {
					continue
				}
			} else if !access.Visible(c.principal, res) {
				continue
			}
			kept = append(kept, g)
		}
		groups[i].Grants = kept
	}
	return groups, nil
}

func (s *Server) apiShowOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	info, err := s.orgInfo(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// orgInfo is c.org with its members and the groups the caller may see.
func (s *Server) orgInfo(r *http.Request, c *call) (api.OrgInfo, error) {
	members, err := s.store.OrgMembers(r.Context(), c.org.ID)
	if err != nil {
		return api.OrgInfo{}, err
	}
	groups, err := s.groupsFor(r, c)
	if err != nil {
		return api.OrgInfo{}, err
	}
	return api.OrgInfo{Name: c.org.Name, Members: members, Groups: groups}, nil
}

func (s *Server) apiOrgHistory(w http.ResponseWriter, r *http.Request, c *call) error {
	evs, err := s.store.OrgEvents(r.Context(), c.org.ID, historyLimit(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evs)
}

type memberRequest struct {
	Role string `json:"role"`
}

func (s *Server) apiSetMember(w http.ResponseWriter, r *http.Request, c *call) error {
	var req memberRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	warning, err := s.setMember(r.Context(), c, r.PathValue("user"), req.Role)
	if err != nil {
		return err
	}
	info, err := s.orgInfo(r, c)
	if err != nil {
		return err
	}
	info.Warning = warning
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) apiRemoveMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.removeMember(r.Context(), c, r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	groups, err := s.groupsFor(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, groups)
}

func (s *Server) apiCreateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	var req orgRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	g, err := s.createGroup(r.Context(), c, req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, g)
}

func (s *Server) apiDeleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.deleteGroup(r.Context(), c, r.PathValue("group")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiAddGroupMember answers 204, or 200 with {"warning"} when there is something to tell.
func (s *Server) apiAddGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	warning, err := s.addGroupMember(r.Context(), c, r.PathValue("group"), r.PathValue("user"))
	if err != nil {
		return err
	}
	if warning != "" {
		return writeJSON(w, http.StatusOK, api.Warning{Warning: warning})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiRemoveGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.removeGroupMember(r.Context(), c, r.PathValue("group"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type grantRequest struct {
	Channel string `json:"channel"`
	Package string `json:"package,omitempty"`
	Level   string `json:"level"`
}

// grantTarget checks that a grant names one of the org's own channels: an org hands out
// access only to what it owns.
func (s *Server) grantTarget(ctx context.Context, c *call, channel, pkg string) (store.Channel, error) {
	ch, err := s.channelByName(ctx, channel)
	if err != nil {
		return ch, err
	}
	if ch.OwnerOrgID != c.org.ID && !access.Visible(c.principal, resourceOf(ch)) {
		return ch, &store.NotFoundError{Kind: "channel", Name: channel} // another's private channel: as if missing
	}
	if ch.OwnerOrgID != c.org.ID {
		return ch, errBadRequest("channel " + channel + " does not belong to organization " + c.org.Name + ": grants are on the organization's own channels")
	}
	if pkg != "" && !validPackageName(pkg) {
		return ch, errBadRequest("invalid package name " + strconv.Quote(pkg))
	}
	return ch, nil
}

func (s *Server) apiSetGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	var req grantRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := s.setGrant(r.Context(), c, r.PathValue("group"), req); err != nil {
		return err
	}
	return s.apiGroups(w, r, c)
}

func (s *Server) apiRemoveGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	if err := s.removeGrant(r.Context(), c, r.PathValue("group"), q.Get("channel"), q.Get("package")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- privacy

type privacyRequest struct {
	Private *bool `json:"private"`
}

func readPrivacy(r *http.Request) (bool, error) {
	var req privacyRequest
	if err := readJSON(r, &req); err != nil {
		return false, err
	}
	if req.Private == nil {
		return false, errBadRequest(`send {"private": true} or {"private": false}`)
	}
	return *req.Private, nil
}

func (s *Server) apiUpdateChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	priv, err := readPrivacy(r)
	if err != nil {
		return err
	}
	if err := s.store.SetChannelPrivate(r.Context(), c.channel.ID, priv, c.principal.UserID); err != nil {
		return err
	}
	ch, err := s.store.ChannelByName(r.Context(), c.channel.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, channelInfo(ch))
}

// resolvePackage names a package of a channel for actions on the package as a whole. A
// package that is missing, or private to the caller, gets the same 404.
func (s *Server) resolvePackage(r *http.Request, c *call) (access.Resource, error) {
	if _, err := s.resolveChannel(r, c); err != nil {
		return access.Resource{}, err
	}
	// Knows, not Visible: a token whose owner may see the channel is refused for its scopes
	// (403), or let through when they allow the action, as on a file of the channel.
	if !access.Knows(c.principal, resourceOf(c.channel)) {
		return access.Resource{}, &store.NotFoundError{Kind: "channel", Name: c.channel.Name}
	}
	name := r.PathValue("package")
	notFound := &store.NotFoundError{Kind: "package", Name: name}
	if !validPackageName(name) {
		return access.Resource{}, notFound
	}
	priv, err := s.store.PackagePrivacy(r.Context(), c.channel.ID, name)
	if norm := pypi.NormalizeName(name); store.IsNotFound(err) && norm != name {
		// A Python project may be named in any spelling; it is kept normalized.
		name = norm
		priv, err = s.store.PackagePrivacy(r.Context(), c.channel.ID, name)
	}
	if store.IsNotFound(err) {
		return access.Resource{}, notFound // the same words for every spelling
	} else if err != nil {
		return access.Resource{}, err
	}
	res := packageResource(c.channel, name, priv)
	if res.Kind, err = s.packageKind(r.Context(), c.channel.ID, name); err != nil {
		return access.Resource{}, err
	}
	if !access.KnowsPackage(c.principal, res) {
		return access.Resource{}, notFound
	}
	c.pkg = name
	return res, nil
}

// packageKind is the kind of a channel's packages named pkg when they are of one kind, ""
// when of both: a grant on the package in another spelling is matched by its kind's rules
// (access.PackageLevel).
func (s *Server) packageKind(ctx context.Context, channelID int64, pkg string) (string, error) {
	kinds, err := s.store.PackageKinds(ctx, channelID, pkg)
	if err != nil || len(kinds) != 1 {
		return "", err
	}
	return kinds[0], nil
}

func (s *Server) apiUpdatePackage(w http.ResponseWriter, r *http.Request, c *call) error {
	priv, err := readPrivacy(r)
	if err != nil {
		return err
	}
	if err := s.store.SetPackagesPrivate(r.Context(), c.channel.ID, []string{c.pkg}, priv, c.principal.UserID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"channel": c.channel.Name, "package": c.pkg, "private": priv})
}

// validPackageName accepts conda and PyPI package names: letters, digits, '.', '_', '-',
// '+', at most 200 bytes.
func validPackageName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// historyLimit reads ?limit=, 100 by default, at most 1000.
func historyLimit(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 {
		return 100
	}
	return min(n, 1000)
}

func (s *Server) apiDeleteChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.deleteChannel(r.Context(), c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deletableChannel says why a channel may not be removed on its own, or nil.
func (s *Server) deletableChannel(ctx context.Context, ch store.Channel) error {
	if ch.ParentID == 0 {
		// An account's own channel goes with the account, not alone. The names must match
		// exactly: a look-up finds a look-alike's account too.
		if u, err := s.store.UserByName(ctx, ch.Name); err == nil && u.ID == ch.OwnerUserID && u.Name == ch.Name {
			return errBadRequest("channel " + ch.Name + " is the account's own channel: it cannot be removed by itself")
		}
		if o, err := s.store.OrgByName(ctx, ch.Name); err == nil && o.ID == ch.OwnerOrgID && o.Name == ch.Name {
			return errBadRequest("channel " + ch.Name + " is the organization's own channel: it cannot be removed by itself")
		}
	}
	return nil
}

// deleteChannel removes the call's channel with its subchannels and files.
func (s *Server) deleteChannel(ctx context.Context, c *call) error {
	ch := c.channel
	if err := s.deletableChannel(ctx, ch); err != nil {
		return err
	}
	if err := s.store.DeleteChannel(ctx, ch.ID); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "channel removed", "request_id", requestID(ctx), "channel", ch.Name, "by", c.principal.Name)
	return nil
}
