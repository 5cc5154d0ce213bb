package access_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/access"
)

// resourceFor builds a resource on which scope sc can apply action a. The channel is private,
// so that what the scope allows is not also what anyone may.
func resourceFor(sc access.Scope, a access.Action) access.Resource {
	r := access.Resource{Channel: "acme", ChannelID: pubID, OwnerOrgID: orgID, Surface: "conda", Kind: "conda", Package: "tool", Org: orgID, Private: true}
	switch {
	case strings.HasPrefix(sc.Name, "api"):
		r.Surface = "api"
	case strings.HasPrefix(sc.Name, "pypi"):
		r.Surface, r.Kind = "pypi", "pypi"
	case strings.HasPrefix(sc.Name, "subchannel"):
		r.Channel, r.ChannelID, r.ParentID = "acme/dev", pubSubID, pubID
		if a == access.ChannelCreate {
			r.Channel, r.ChannelID, r.ParentID = "acme", pubID, 0 // on the parent
		}
	}
	if a == access.ChannelCreate && !strings.HasPrefix(sc.Name, "subchannel") {
		r.Channel, r.ChannelID, r.Package = "", 0, "" // a top-level channel, on the server
	}
	if a == access.ChannelList || a == access.UserView || a == access.TokenView || a == access.TokenEdit || a == access.OrgView || a == access.OrgManage || a == access.OrgCreate {
		r.Channel, r.ChannelID, r.Package = "", 0, ""
	}
	return r
}

// Every scope lets through exactly the actions its table line names, for an owner who may do
// everything (an admin): each listed action is allowed, and every other one refused.
func TestEachScopeAllowsItsActionsOnly(t *testing.T) {
	owner := access.Principal{UserID: 1, Name: "root", Admin: true}
	for _, sc := range access.Scopes {
		p := owner
		p.Token = &access.TokenLimits{ID: 1, Scopes: []string{sc.Name}}
		for _, a := range access.Actions {
			if a == access.Anyone {
				continue
			}
			// Anyone may list channels (the list holds what each may see).
			want := slices.Contains(sc.Actions, a) || a == access.ChannelList
			if got := access.May(p, a, resourceFor(sc, a)); got != want {
				t.Errorf("scope %s / %s: May = %v, want %v", sc.Name, a, got, want)
			}
		}
	}
}

func TestScopesTellKindsSurfacesAndSubchannelsApart(t *testing.T) {
	admin := access.Principal{UserID: 1, Admin: true}
	with := func(scopes ...string) access.Principal {
		p := admin
		p.Token = &access.TokenLimits{Scopes: scopes}
		return p
	}
	// Private channels: on public ones anyone may read, token or not.
	conda := access.Resource{Channel: "acme", ChannelID: pubID, Surface: "conda", Kind: "conda", Package: "tool", Private: true}
	pypi := access.Resource{Channel: "acme", ChannelID: pubID, Surface: "pypi", Kind: "pypi", Package: "tool", Private: true}
	apiConda := conda
	apiConda.Surface = "api"
	sub := access.Resource{Channel: "acme/dev", ChannelID: pubSubID, ParentID: pubID, Surface: "api", Private: true}
	top := access.Resource{Channel: "acme", ChannelID: pubID, Surface: "api", Private: true}
	publicPyPI := pypi
	publicPyPI.Private = false
	publicTop := top
	publicTop.Private = false
	for _, c := range []struct {
		p    access.Principal
		a    access.Action
		r    access.Resource
		want bool
		why  string
	}{
		{with("conda:download"), access.ArtifactDownload, conda, true, "conda download"},
		{with("conda:download"), access.ArtifactDownload, pypi, false, "conda scope on a Python package"},
		{with("conda:download"), access.ArtifactCreate, conda, false, "download scope cannot upload"},
		{with("conda"), access.ArtifactCreate, conda, true, "conda may upload"},
		{with("pypi:upload"), access.ArtifactCreate, pypi, true, "twine upload"},
		{with("pypi:upload"), access.ArtifactDownload, pypi, false, "upload scope cannot download"},
		{with("repos"), access.ArtifactDownload, pypi, true, "repos covers pypi"},
		{with("repos"), access.ArtifactDownload, conda, true, "repos covers conda"},
		{with("repos"), access.ArtifactDelete, conda, false, "repos cannot delete"},
		{with("api:read"), access.ArtifactDownload, conda, false, "api scope on the conda surface"},
		{with("api:read"), access.ArtifactDownload, apiConda, true, "api scope on the API"},
		{with("api:read"), access.ArtifactCreate, apiConda, false, "api:read cannot upload"},
		{with("api:write"), access.ArtifactCreate, apiConda, true, "api:write uploads"},
		{with("subchannel:view"), access.ChannelView, sub, true, "subchannel scope on a subchannel"},
		{with("subchannel:view"), access.ChannelView, top, false, "subchannel scope on a channel"},
		{with("channel:view"), access.ChannelView, sub, false, "channel scope on a subchannel"},
		{with("conda:download", "api:write"), access.ArtifactCreate, apiConda, true, "scopes add up"},
		{with("cve:view"), access.ChannelView, top, false, "a recognised scope with no feature"},
		{with("subchannel:create"), access.ChannelCreate, access.Resource{}, false, "subchannel:create making a top-level channel"},
		{with("subchannel:create"), access.ChannelCreate, access.Resource{Org: orgID}, false, "subchannel:create making an org channel"},
		{with("subchannel:create"), access.ChannelCreate, top, true, "subchannel:create under a channel"},
		{with("channel:create"), access.ChannelCreate, top, false, "channel:create making a subchannel"},
		{with("all"), access.AdminUsers, access.Resource{}, true, "all is everything the owner may do"},
		{with("conda:download"), access.ArtifactDownload, publicPyPI, true, "a conda scope on a public Python package: as anyone"},
		{with("cve:view"), access.ChannelView, publicTop, true, "a recognised scope on a public channel: as anyone"},
		{with("conda:download"), access.ArtifactCreate, publicPyPI, false, "anyone may not upload"},
	} {
		if got := access.May(c.p, c.a, c.r); got != c.want {
			t.Errorf("%s: May(%v, %s) = %v, want %v", c.why, c.p.Token.Scopes, c.a, got, c.want)
		}
	}
}

// Effective permission = what the token allows ∩ what its owner may do now.
func TestTokenNeverExceedsItsOwner(t *testing.T) {
	reader := groupMember(access.Read)
	reader.Token = &access.TokenLimits{Scopes: []string{"all"}}
	if access.May(reader, access.ArtifactCreate, privChannel) {
		t.Error("an 'all' token of a reader may upload")
	}
	if !access.May(reader, access.ArtifactDownload, pkg(privChannel, "x", false)) {
		t.Error("an 'all' token of a reader may not read")
	}
	gone := reader
	gone.Grants = access.Grants{}
	if access.May(gone, access.ChannelView, privChannel) {
		t.Error("a token still reads after its owner left the group")
	}
	dis := reader
	dis.Disabled = true
	if access.May(dis, access.ArtifactDownload, pubChannel) {
		t.Error("a disabled owner's token reads")
	}
}

func TestResourceTokens(t *testing.T) {
	otherPrivate := access.Resource{Channel: "acme-other", ChannelID: 400, OwnerOrgID: orgID, Private: true}
	owner := access.Principal{UserID: aliceID, Name: "alice", Grants: access.Grants{OrgRoles: map[int64]string{orgID: access.RoleOwner}}}
	for _, lvl := range []access.Level{access.Read, access.Write, access.Manage} {
		p := owner
		p.Token = &access.TokenLimits{Resources: map[int64]access.Level{privID: lvl}}
		for a, need := range map[access.Action]access.Level{
			access.ChannelView: access.Read, access.ArtifactDownload: access.Read, access.ArtifactCreate: access.Write,
			access.ArtifactEdit: access.Write, access.ArtifactDelete: access.Manage, access.ChannelManage: access.Manage,
			access.ChannelHistory: access.Manage, access.PackageManage: access.Manage,
		} {
			if got, want := access.May(p, a, privChannel), lvl >= need; got != want {
				t.Errorf("%s token / %s on its channel: %v, want %v", lvl, a, got, want)
			}
			if got, want := access.May(p, a, privSub), lvl >= need; got != want {
				t.Errorf("%s token / %s on its channel's subchannel: %v, want %v", lvl, a, got, want)
			}
			if access.May(p, a, otherPrivate) {
				t.Errorf("%s token / %s on another private channel: allowed", lvl, a)
			}
			// Another public channel: what anyone may, and nothing more.
			if got, want := access.May(p, a, pubChannel), a == access.ChannelView || a == access.ArtifactDownload; got != want {
				t.Errorf("%s token / %s on a public channel: %v, want %v", lvl, a, got, want)
			}
		}
		for _, a := range []access.Action{access.OrgManage, access.OrgCreate, access.ChannelCreate, access.AdminUsers, access.TokenEdit} {
			if access.May(p, a, access.Resource{Org: orgID}) {
				t.Errorf("%s resource token may %s", lvl, a)
			}
		}
		if !access.May(p, access.TokenView, access.Resource{}) || !access.May(p, access.ChannelList, access.Resource{}) {
			t.Errorf("%s resource token may not list its tokens or channels", lvl)
		}
		// Both parts: a resource token with a download scope cannot upload even with write.
		p.Token.Scopes = []string{"conda:download"}
		r := pkg(privChannel, "x", false)
		r.Kind = "conda"
		if access.May(p, access.ArtifactCreate, r) {
			t.Errorf("%s resource token with conda:download may upload", lvl)
		}
	}
	// Visible and CanRead follow the token: the repodata filter uses them.
	p := owner
	p.Token = &access.TokenLimits{Resources: map[int64]access.Level{pubID: access.Read}}
	if access.Visible(p, privChannel) || access.ChannelLevel(p, privChannel) != access.None {
		t.Error("a token for acme sees acme-private")
	}
	if access.ChannelLevel(p, pubChannel) != access.Read {
		t.Errorf("level through a read token = %v, want read", access.ChannelLevel(p, pubChannel))
	}
}

func TestOrgTokensActForTheirOrg(t *testing.T) {
	org := access.Principal{ActingOrg: orgID, Name: "acme"}
	if org.Anonymous() {
		t.Fatal("an org token is anonymous")
	}
	if !access.May(org, access.ArtifactCreate, privChannel) || !access.May(org, access.OrgManage, access.Resource{Org: orgID}) {
		t.Error("an org token cannot act on its org's channels")
	}
	if access.May(org, access.ArtifactCreate, access.Resource{Channel: "x", ChannelID: 999, OwnerUserID: 5}) {
		t.Error("an org token acts on another's channel")
	}
	if access.May(org, access.UserView, access.Resource{}) || access.May(org, access.OrgCreate, access.Resource{}) {
		t.Error("an org token acts as a user")
	}
}

func TestScopeTable(t *testing.T) {
	names := access.ScopeNames()
	for _, want := range []string{"all", "api", "api:read", "api:write", "api:modify-group", "conda", "conda:download", "pypi", "pypi:download", "pypi:upload", "repos",
		"artifact:create", "artifact:delete", "artifact:download", "artifact:edit", "artifact:view", "channel:create", "channel:delete", "channel:edit",
		"channel:history", "channel:view", "channel:view-artifacts", "channel.default-channel:edit", "channel.group:edit", "channel.group:view",
		"channel.mirror:edit", "channel.mirror:view", "subchannel:create", "subchannel:delete", "subchannel:edit", "subchannel:history", "subchannel:view",
		"subchannel:view-artifacts", "subchannel.group:edit", "subchannel.group:view", "subchannel.mirror:edit", "subchannel.mirror:view", "mirror:view",
		"system.license:edit", "system.license:view", "cve:edit", "cve:view", "role:edit", "role:view", "system.settings:edit", "system:delete-blobs",
		"user.token:edit", "user.token:view"} {
		if !slices.Contains(names, want) {
			t.Errorf("scope %s is missing", want)
		}
	}
	for _, s := range access.Scopes {
		if s.Description == "" {
			t.Errorf("scope %s has no description", s.Name)
		}
	}
}

// KnowsPackage hides what the owner or the token's resources may not read, not what only the
// token's scopes refuse.
func TestKnowsPackage(t *testing.T) {
	member := groupMember(access.Read)
	secret := pkg(privChannel, "secret", true)
	noScope := member
	noScope.Token = &access.TokenLimits{Scopes: []string{"pypi:upload"}}
	if !access.KnowsPackage(noScope, secret) || access.CanRead(noScope, secret) {
		t.Error("a token lacking the read scope: want known (403), not readable")
	}
	elsewhere := member
	elsewhere.Token = &access.TokenLimits{Resources: map[int64]access.Level{pubID: access.Read}}
	if access.KnowsPackage(elsewhere, secret) {
		t.Error("a token for another channel knows the package")
	}
	if access.KnowsPackage(roles[1].p, secret) {
		t.Error("a stranger knows a private package")
	}
	if !access.KnowsPackage(roles[0].p, pkg(pubChannel, "tool", false)) {
		t.Error("anonymous does not know a public package")
	}
}
