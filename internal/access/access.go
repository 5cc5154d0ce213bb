// Package access decides who may do what. It is pure: a request becomes (principal, action,
// resource) and May answers. The next issues fill in organizations, groups and tokens; every
// route already asks through this one function.
package access

import "slices"

// Action is one thing a principal can do. Scopes (later) are named sets of actions.
type Action string

const (
	Anyone           Action = "anyone"            // sign-up, password reset, public documents
	ChannelList      Action = "channel:list"      // list channels (each filtered by ChannelView)
	ChannelView      Action = "channel:view"      // see a channel and its index
	ChannelCreate    Action = "channel:create"    // create a channel (on the server, an org) or a subchannel (on its parent)
	ChannelManage    Action = "channel:manage"    // change a channel's privacy
	ChannelDelete    Action = "channel:delete"    // remove a channel or subchannel with everything in it
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
	TokenView        Action = "token:view"        // list one's tokens
	TokenEdit        Action = "token:edit"        // create, rename, extend, reissue, revoke tokens
)

// Actions lists every action, for tables and documentation.
var Actions = []Action{Anyone, ChannelList, ChannelView, ChannelCreate, ChannelManage, ChannelDelete, ChannelHistory, ArtifactDownload,
	ArtifactCreate, ArtifactEdit, ArtifactDelete, PackageManage, UserView, OrgCreate, OrgView, OrgManage, AdminUsers,
	TokenView, TokenEdit}

// Org roles, as the store keeps them.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// PackageKey names a package inside a channel. A grant on a package is kept under its name
// as typed (Kind empty) and under the spelling of each kind's names (Kind "conda": lowercase;
// "pypi": PEP 503's), so that it reaches the package of either kind it names, in any spelling
// (the store files it so).
type PackageKey struct {
	ChannelID int64
	Package   string
	Kind      string
}

// Grants is what a user holds through organizations and their groups.
type Grants struct {
	OrgRoles map[int64]string // org id → RoleOwner or RoleMember
	Channels map[int64]Level  // channel id → level from groups
	Packages map[PackageKey]Level
}

// Principal is who is asking, with what they hold at this moment.
type Principal struct {
	UserID    int64 // 0 for anonymous and for an org token
	ActingOrg int64 // an org token acts for its org
	Name      string
	Admin     bool
	Disabled  bool
	Grants
	// Token is the token the request came with, nil for a password or no credentials. What
	// p may do is what its owner may do, and what the token allows.
	Token *TokenLimits
}

// Anonymous reports whether no one is signed in.
func (p Principal) Anonymous() bool { return p.UserID == 0 && p.ActingOrg == 0 }

// Resource is what an action is on: the server (zero value), an org (Org set), a channel
// (Channel set), or one package of a channel (Package set too).
type Resource struct {
	Org int64 // for org actions and channel creation in an org

	// Surface is where the request came in: "api", "conda" or "pypi"; Kind is the kind of
	// package it is about ("conda", "pypi"), "" when none. Scopes tell them apart.
	Surface string
	Kind    string

	Channel     string
	ChannelID   int64
	ParentID    int64 // a subchannel's parent: grants on the parent reach the subchannel
	Private     bool  // the channel, or its parent, is private
	OwnerUserID int64
	OwnerOrgID  int64

	Package        string
	PackagePrivate bool
}

// ChannelLevel is p's level on r's channel as a whole: what p's owner holds, capped by the
// token's resources when p acts through a resource token.
func ChannelLevel(p Principal, r Resource) Level {
	return min(ownerChannelLevel(p, r), p.Token.channelCap(r))
}

func ownerChannelLevel(p Principal, r Resource) Level {
	switch {
	case p.Disabled || p.Anonymous() || r.Channel == "":
		return None
	case p.Admin, p.UserID != 0 && r.OwnerUserID == p.UserID, r.OwnerOrgID != 0 && (p.OrgRoles[r.OwnerOrgID] == RoleOwner || p.ActingOrg == r.OwnerOrgID):
		return Manage
	}
	return max(p.Channels[r.ChannelID], p.Channels[r.ParentID])
}

// PackageLevel is p's level on r's package: the channel's level or a grant on the package.
func PackageLevel(p Principal, r Resource) Level {
	l := ChannelLevel(p, r)
	if r.Package != "" && !p.Disabled {
		l = max(l, min(packageGrant(p, r), p.Token.channelCap(r)))
	}
	return l
}

// packageGrant is the level p's grants give on r's package: one on its name as typed, or on
// its spelling for r's kind. A resource of no kind (a package name, of either kind or of
// both) is reached by the conda spelling, the name lowercased: for a name that is a Python
// project's too (stored normalized), that is within PEP 503's as well.
func packageGrant(p Principal, r Resource) Level {
	return max(p.Packages[PackageKey{ChannelID: r.ChannelID, Package: r.Package}],
		p.Packages[PackageKey{ChannelID: r.ChannelID, Package: r.Package, Kind: grantKind(r)}])
}

// grantKind is the kind whose spelling of package names a grant lookup for r uses.
func grantKind(r Resource) string {
	if r.Kind == "pypi" {
		return "pypi"
	}
	return "conda"
}

// hasPackageGrant reports whether p holds a grant on some package of r's channel, which
// makes a private channel visible to them (showing only what they may read).
func hasPackageGrant(p Principal, r Resource) bool {
	if p.Token.channelCap(r) < Read {
		return false
	}
	for k, l := range p.Packages {
		if k.ChannelID == r.ChannelID && l >= Read {
			return true
		}
	}
	return false
}

// May reports whether p may do a on r. A token only ever adds: what a request with a token
// may do is what an anonymous request may do, and what its owner may do within what the
// token allows. A token limited to some channels or actions therefore still reads every
// public channel (conda sends the token kept for channel_alias to every channel under it).
func May(p Principal, a Action, r Resource) bool {
	if p.Disabled {
		return false
	}
	if a == Anyone {
		return true
	}
	return anyoneMay(a, r) || ownerMay(p, a, r) && p.Token.allows(a, r)
}

// anyoneMay is what an anonymous request may do: list channels, see public channels, and
// read their public packages.
func anyoneMay(a Action, r Resource) bool {
	return ownerMay(Principal{}, a, r)
}

func ownerMay(p Principal, a Action, r Resource) bool {
	switch a {
	case ChannelList:
		return true // the answer holds only what ChannelView lets p see
	case UserView:
		return p.UserID != 0
	case OrgCreate:
		return p.UserID != 0
	case TokenView, TokenEdit:
		return !p.Anonymous()
	case AdminUsers:
		return p.Admin
	case OrgView:
		return p.Admin || r.Org != 0 && (p.OrgRoles[r.Org] != "" || p.ActingOrg == r.Org)
	case OrgManage:
		return p.Admin || r.Org != 0 && (p.OrgRoles[r.Org] == RoleOwner || p.ActingOrg == r.Org)
	case ChannelCreate:
		switch {
		case r.Channel != "": // a subchannel, on its parent
			return ChannelLevel(p, r) >= Manage
		case r.Org != 0:
			return p.Admin || p.OrgRoles[r.Org] == RoleOwner || p.ActingOrg == r.Org
		default:
			return p.UserID != 0
		}
	}
	if r.Channel == "" {
		return p.Admin
	}
	switch a {
	case ChannelView:
		return ownerVisible(p, r)
	case ArtifactDownload:
		if r.Package == "" {
			return ownerVisible(p, r) // the index: filtered per package by CanRead
		}
		return ownerCanRead(p, r)
	case ArtifactCreate, ArtifactEdit:
		return PackageLevel(p, r) >= Write
	case ArtifactDelete, PackageManage:
		return PackageLevel(p, r) >= Manage
	case ChannelManage, ChannelHistory, ChannelDelete:
		return ChannelLevel(p, r) >= Manage
	}
	return false
}

// Visible reports whether p may know that r's channel exists; a refusal of something
// invisible is a 404, never a 403. Public channels are visible to everyone.
func Visible(p Principal, r Resource) bool {
	return !p.Disabled && (!r.Private || ownerVisible(p, r) && p.Token.allows(ChannelView, r))
}

// Knows reports whether p may know that r's channel exists, whatever the token's scopes:
// a token that lacks a scope is refused (403), not told the channel is missing (404).
func Knows(p Principal, r Resource) bool {
	return !p.Disabled && (!r.Private || ownerVisible(p, r) && p.Token.channelCap(r) >= Read)
}

// KnowsPackage is Knows for r's package: a token without the scope to read it is refused
// (403); one whose owner or resources may not read it finds nothing (404). A public package
// of a public channel is known to everyone.
func KnowsPackage(p Principal, r Resource) bool {
	return !p.Disabled && (public(r) || ownerCanRead(p, r) && p.Token.channelCap(r) >= Read)
}

func ownerVisible(p Principal, r Resource) bool {
	return !r.Private || ChannelLevel(p, r) >= Read || hasPackageGrant(p, r)
}

// CanRead reports whether p may see and download r's package (Package set): anyone may a
// public package of a public channel; others need their owner's read and the token's leave.
func CanRead(p Principal, r Resource) bool {
	return !p.Disabled && (public(r) || ownerCanRead(p, r) && p.Token.allows(ArtifactDownload, r))
}

func public(r Resource) bool { return !r.Private && !r.PackagePrivate }

func ownerCanRead(p Principal, r Resource) bool {
	return public(r) || PackageLevel(p, r) >= Read
}

// ReadsAll reports whether p may read every package of r's channel, private ones too, so
// that a list of the channel's contents needs no filtering per package. r.Kind (or the
// surface) says which packages a scope is asked about; with neither, a scope limited to one
// kind does not read all, and the list is filtered with CanRead per package.
func ReadsAll(p Principal, r Resource) bool {
	return !p.Disabled && ChannelLevel(p, r) >= Read && p.Token.allows(ArtifactDownload, r)
}

// Readable is what p may read of the packages of one channel: all of them, or the public
// ones (of a public channel) and the private ones granted one by one.
type Readable struct {
	All     bool
	Public  bool
	Granted []string // sorted; packages p may read through grants on them, private or not
}

// ReadableIn says which packages of r's channel p may read; it costs O(p's package grants),
// never O(the channel's size). Indexes (repodata, channeldata, the Simple API) are filtered
// with it, and it agrees with CanRead package by package.
func ReadableIn(p Principal, r Resource) Readable {
	if p.Disabled {
		return Readable{}
	}
	if ReadsAll(p, r) {
		return Readable{All: true}
	}
	rd := Readable{Public: !r.Private}
	for k := range p.Packages {
		if k.ChannelID != r.ChannelID || k.Kind != "" && k.Kind != grantKind(r) {
			continue
		}
		pr := r
		pr.Package, pr.PackagePrivate = k.Package, true
		if CanRead(p, pr) {
			rd.Granted = append(rd.Granted, k.Package)
		}
	}
	slices.Sort(rd.Granted)
	rd.Granted = slices.Compact(rd.Granted) // a grant's name as typed and as spelt may be one
	return rd
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
