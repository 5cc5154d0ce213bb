package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/store"
)

// The organization pages. The route table asks for the action of each; the forms call the
// same operations as the API (orgs.go), and every POST answers with a 303 back to the page the
// form is on.

type orgsData struct {
	Orgs []store.OrgRole
}

func (s *Server) pageOrgs(w http.ResponseWriter, r *http.Request, c *call) error {
	orgs, err := s.store.UserOrgs(r.Context(), c.principal.UserID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "orgs", s.page(c, "Organizations", orgsData{Orgs: orgs}))
}

func (s *Server) pageCreateOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	org, err := s.createOrg(r.Context(), c, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		return s.redirectError(w, r, "/orgs", err)
	}
	s.log.InfoContext(r.Context(), "organization created", "request_id", requestID(r.Context()), "org", org.Name, "by", c.principal.Name)
	return s.redirect(w, r, orgPath(org.Name), "The organization "+org.Name+" is created, with its channel "+org.Name+"; you are its owner.")
}

func orgPath(org string) string { return "/orgs/" + url.PathEscape(org) }

func groupPath(org, group string) string { return orgPath(org) + "/groups/" + url.PathEscape(group) }

// orgChannels lists the org's channels and subchannels that p may see.
func (s *Server) orgChannels(r *http.Request, p access.Principal, org store.Org) ([]store.Channel, error) {
	return s.visibleChannels(r.Context(), p, func(ch store.Channel) bool { return ch.OwnerOrgID == org.ID })
}

type memberRow struct {
	store.Member
	Groups []string
	Self   bool
}

type orgData struct {
	Org       store.Org
	Channels  []store.Channel
	Role      string // the viewer's role in the org, "" for none
	CanView   bool   // members, groups
	CanManage bool   // the forms
	Members   []memberRow
	Groups    []store.Group
}

// pageOrg shows an org to anyone: its channels the viewer may see; to those who may view the
// org, its members and groups; to those who may manage it, the forms that change them.
func (s *Server) pageOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	res := access.Resource{Org: c.org.ID}
	d := orgData{Org: c.org, Role: c.principal.OrgRoles[c.org.ID],
		CanView: access.May(c.principal, access.OrgView, res), CanManage: access.May(c.principal, access.OrgManage, res)}
	var err error
	if d.Channels, err = s.orgChannels(r, c.principal, c.org); err != nil {
		return err
	}
	if d.CanView {
		members, err := s.store.OrgMembers(r.Context(), c.org.ID)
		if err != nil {
			return err
		}
		if d.Groups, err = s.groupsFor(r, c); err != nil {
			return err
		}
		for _, m := range members {
			row := memberRow{Member: m, Self: m.UserID == c.principal.UserID}
			for _, g := range d.Groups {
				if slices.Contains(g.Members, m.Name) {
					row.Groups = append(row.Groups, g.Name)
				}
			}
			d.Members = append(d.Members, row)
		}
	}
	return s.render(w, r, http.StatusOK, "org", s.page(c, c.org.Name, d))
}

func (s *Server) pageSetMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	user, role := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("role")
	if role == "" {
		role = store.RoleMember
	}
	back := orgPath(c.org.Name)
	if user == "" {
		return s.redirectError(w, r, back, errBadRequest("name the user to add"))
	}
	warning, err := s.setMember(r.Context(), c, user, role)
	if err != nil {
		return s.redirectError(w, r, back, err)
	}
	return s.redirectWarning(w, r, back, user+" is now "+article(role)+" of "+c.org.Name+".", warning)
}

func article(role string) string {
	if role == store.RoleOwner {
		return "an owner"
	}
	return "a member"
}

func (s *Server) pageRemoveMember(w http.ResponseWriter, r *http.Request, c *call) error {
	user := r.PathValue("user")
	back := orgPath(c.org.Name)
	if err := s.removeMember(r.Context(), c, user); err != nil {
		return s.redirectError(w, r, back, err)
	}
	if user == c.principal.Name && !c.principal.Admin {
		return s.redirect(w, r, "/orgs", "You left "+c.org.Name+".")
	}
	return s.redirect(w, r, back, user+" is no longer in "+c.org.Name+" or any of its groups.")
}

func (s *Server) pageCreateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	g, err := s.createGroup(r.Context(), c, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		return s.redirectError(w, r, orgPath(c.org.Name), err)
	}
	return s.redirect(w, r, groupPath(c.org.Name, g.Name), "The group "+g.Name+" is created: add its members and grants.")
}

type groupData struct {
	Org       store.Org
	Group     store.Group
	CanManage bool
	Channels  []store.Channel // the org's channels, for the grant form
	Members   []store.Member  // the org's members, offered to the member form
}

// pageGroup shows a group's members and grants to those who may view the org (grants on what
// they may not read left out, as in the API), with the forms for those who may manage it.
func (s *Server) pageGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("group")
	if err := checkGroup(name); err != nil {
		return err
	}
	groups, err := s.groupsFor(r, c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(groups, func(g store.Group) bool { return g.Name == name })
	if i < 0 {
		return &store.NotFoundError{Kind: "group", Name: name}
	}
	d := groupData{Org: c.org, Group: groups[i], CanManage: access.May(c.principal, access.OrgManage, access.Resource{Org: c.org.ID})}
	if d.CanManage {
		if d.Channels, err = s.orgChannels(r, c.principal, c.org); err != nil {
			return err
		}
		members, err := s.store.OrgMembers(r.Context(), c.org.ID)
		if err != nil {
			return err
		}
		for _, m := range members {
			if !slices.Contains(d.Group.Members, m.Name) {
				d.Members = append(d.Members, m)
			}
		}
	}
	return s.render(w, r, http.StatusOK, "group", s.page(c, c.org.Name+"/"+name, d))
}

// groupBack is where a group's form goes back to: the group's page, or the org's when the
// group is not there.
func groupBack(c *call, g string, err error) string {
	var nf *store.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "group" {
		return orgPath(c.org.Name)
	}
	return groupPath(c.org.Name, g)
}

func (s *Server) pageDeleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	g := r.PathValue("group")
	if err := s.deleteGroup(r.Context(), c, g); err != nil {
		return s.redirectError(w, r, groupBack(c, g, err), err)
	}
	return s.redirect(w, r, orgPath(c.org.Name), "The group "+g+" is deleted, with its grants.")
}

func (s *Server) pageAddGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	g, user := r.PathValue("group"), strings.TrimSpace(r.PostFormValue("user"))
	back := groupPath(c.org.Name, g)
	if user == "" {
		return s.redirectError(w, r, back, errBadRequest("name the user to add"))
	}
	warning, err := s.addGroupMember(r.Context(), c, g, user)
	if err != nil {
		return s.redirectError(w, r, groupBack(c, g, err), err)
	}
	return s.redirectWarning(w, r, back, user+" is in the group "+g+".", warning)
}

func (s *Server) pageRemoveGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	g, user := r.PathValue("group"), r.PathValue("user")
	back := groupPath(c.org.Name, g)
	if err := s.removeGroupMember(r.Context(), c, g, user); err != nil {
		return s.redirectError(w, r, groupBack(c, g, err), err)
	}
	return s.redirect(w, r, back, user+" is out of the group "+g+" (and still in "+c.org.Name+").")
}

func (s *Server) pageSetGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	g := r.PathValue("group")
	back := groupPath(c.org.Name, g)
	req := grantRequest{Channel: strings.TrimSpace(r.PostFormValue("channel")), Package: strings.TrimSpace(r.PostFormValue("package")),
		Level: r.PostFormValue("level")}
	if req.Channel == "" {
		return s.redirectError(w, r, back, errBadRequest("choose a channel"))
	}
	if err := s.setGrant(r.Context(), c, g, req); err != nil {
		return s.redirectError(w, r, groupBack(c, g, err), err)
	}
	on := "the channel " + req.Channel
	if req.Package != "" {
		on = "the package " + req.Package + " of " + req.Channel
	}
	return s.redirect(w, r, back, "The group "+g+" has "+req.Level+" on "+on+".")
}

func (s *Server) pageRemoveGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	g := r.PathValue("group")
	back := groupPath(c.org.Name, g)
	ch, pkg := r.PostFormValue("channel"), r.PostFormValue("package")
	if ch == "" {
		return s.redirectError(w, r, back, errBadRequest("name the grant to remove"))
	}
	if err := s.removeGrant(r.Context(), c, g, ch, pkg); err != nil {
		return s.redirectError(w, r, groupBack(c, g, err), err)
	}
	on := "the channel " + ch
	if pkg != "" {
		on = "the package " + pkg + " of " + ch
	}
	return s.redirect(w, r, back, "The group "+g+" no longer has a grant on "+on+".")
}
