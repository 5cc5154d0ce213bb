// Package access decides who may do what. It is pure: a request becomes (principal, action,
// resource) and May answers. The next issues fill in organizations, groups and tokens; every
// route already asks through this one function.
package access

// Action is one thing a principal can do. Scopes (later) are named sets of actions.
type Action string

const (
	Anyone           Action = "anyone"            // sign-up, password reset, public documents
	ChannelList      Action = "channel:list"      // list channels (each filtered by ChannelView)
	ChannelView      Action = "channel:view"      // see a channel and its index
	ChannelCreate    Action = "channel:create"    // create a channel (on the server, an org) or a subchannel (on its parent)
	ChannelManage    Action = "channel:manage"    // change a channel's privacy
	ChannelHistory   Action = "channel:history"   // read a channel's history
	ArtifactDownload Action = "artifact:download" // fetch repodata and package files
	ArtifactCreate   Action = "artifact:create"   // upload
	ArtifactEdit     Action = "artifact:edit"     // label, copy, move
	ArtifactDelete   Action = "artifact:delete"   // remove
	PackageManage    Action = "package:manage"    // change a package's privacy
	UserView         Action = "user:view"         // who am I, change my password
	OrgCreate        Action = "org:create"        // create an organization
	OrgView          Action = "org:view"          // see an org's members, groups and history
	OrgManage        Action = "org:manage"        // members, owners, groups, grants
	AdminUsers       Action = "admin:users"       // create, list, disable accounts; invitations
)

// Actions lists every action, for tables and documentation.
var Actions = []Action{Anyone, ChannelList, ChannelView, ChannelCreate, ChannelManage, ChannelHistory, ArtifactDownload,
	ArtifactCreate, ArtifactEdit, ArtifactDelete, PackageManage, UserView, OrgCreate, OrgView, OrgManage, AdminUsers}

// Org roles, as the store keeps them.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// PackageKey names a package inside a channel.
type PackageKey struct {
	ChannelID int64
	Package   string
}

// Grants is what a user holds through organizations and their groups.
type Grants struct {
	OrgRoles map[int64]string // org id → RoleOwner or RoleMember
	Channels map[int64]Level  // channel id → level from groups
	Packages map[PackageKey]Level
}

// Principal is who is asking, with what they hold at this moment.
type Principal struct {
	UserID   int64 // 0 for anonymous
	Name     string
	Admin    bool
	Disabled bool
	Grants
}

// Anonymous reports whether no one is signed in.
func (p Principal) Anonymous() bool { return p.UserID == 0 }

// Resource is what an action is on: the server (zero value), an org (Org set), a channel
// (Channel set), or one package of a channel (Package set too).
type Resource struct {
	Org int64 // for org actions and channel creation in an org

	Channel     string
	ChannelID   int64
	ParentID    int64 // a subchannel's parent: grants on the parent reach the subchannel
	Private     bool  // the channel, or its parent, is private
	OwnerUserID int64
	OwnerOrgID  int64

	Package        string
	PackagePrivate bool
}

// ChannelLevel is p's level on r's channel as a whole.
func ChannelLevel(p Principal, r Resource) Level {
	switch {
	case p.Disabled || p.Anonymous() || r.Channel == "":
		return None
	case p.Admin, r.OwnerUserID == p.UserID, r.OwnerOrgID != 0 && p.OrgRoles[r.OwnerOrgID] == RoleOwner:
		return Manage
	}
	return max(p.Channels[r.ChannelID], p.Channels[r.ParentID])
}

// PackageLevel is p's level on r's package: the channel's level or a grant on the package.
func PackageLevel(p Principal, r Resource) Level {
	l := ChannelLevel(p, r)
	if r.Package != "" && !p.Disabled {
		l = max(l, p.Packages[PackageKey{r.ChannelID, r.Package}])
	}
	return l
}

// hasPackageGrant reports whether p holds a grant on some package of r's channel, which
// makes a private channel visible to them (showing only what they may read).
func hasPackageGrant(p Principal, r Resource) bool {
	for k, l := range p.Packages {
		if k.ChannelID == r.ChannelID && l >= Read {
			return true
		}
	}
	return false
}

// May reports whether p may do a on r.
func May(p Principal, a Action, r Resource) bool {
	if p.Disabled {
		return false
	}
	switch a {
	case Anyone:
		return true
	case ChannelList:
		return true // the answer holds only what ChannelView lets p see
	case UserView, OrgCreate:
		return !p.Anonymous()
	case AdminUsers:
		return p.Admin
	case OrgView:
		return p.Admin || r.Org != 0 && p.OrgRoles[r.Org] != ""
	case OrgManage:
		return p.Admin || r.Org != 0 && p.OrgRoles[r.Org] == RoleOwner
	case ChannelCreate:
		switch {
		case r.Channel != "": // a subchannel, on its parent
			return ChannelLevel(p, r) >= Manage
		case r.Org != 0:
			return p.Admin || p.OrgRoles[r.Org] == RoleOwner
		default:
			return !p.Anonymous()
		}
	}
	if r.Channel == "" {
		return p.Admin
	}
	switch a {
	case ChannelView:
		return Visible(p, r)
	case ArtifactDownload:
		if r.Package == "" {
			return Visible(p, r) // the index: filtered per package by CanRead
		}
		return CanRead(p, r)
	case ArtifactCreate, ArtifactEdit:
		return PackageLevel(p, r) >= Write
	case ArtifactDelete, PackageManage:
		return PackageLevel(p, r) >= Manage
	case ChannelManage, ChannelHistory:
		return ChannelLevel(p, r) >= Manage
	}
	return false
}

// Visible reports whether p may know that r's channel exists; a refusal of something
// invisible is a 404, never a 403.
func Visible(p Principal, r Resource) bool {
	if p.Disabled {
		return false
	}
	return !r.Private || ChannelLevel(p, r) >= Read || hasPackageGrant(p, r)
}

// CanRead reports whether p may see and download r's package (Package set).
func CanRead(p Principal, r Resource) bool {
	if p.Disabled {
		return false
	}
	if !r.Private && !r.PackagePrivate {
		return true
	}
	return PackageLevel(p, r) >= Read
}

// Level is a permission level on a channel or a package. Each includes the ones below it.
type Level int

const (
	None   Level = iota
	Read         // see and download
	Write        // upload, label, edit files
	Manage       // delete, settings, grants, history
)

var levelNames = [...]string{"none", "read", "write", "manage"}

func (l Level) String() string {
	if l < None || l > Manage {
		return "invalid"
	}
	return levelNames[l]
}

// ParseLevel reads "read", "write" or "manage".
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames[1:] {
		if s == n {
			return Level(i + 1), true
		}
	}
	return None, false
}
