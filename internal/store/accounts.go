package store

import (
	"context"
	"slices"
	"time"

	"github.com/wharfhq/wharf/internal/access"
)

// Org is an organization: a namespace owned by users, holding groups.
type Org struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Org roles.
const (
	RoleOwner  = access.RoleOwner
	RoleMember = access.RoleMember
)

// Member is a user in an org.
type Member struct {
	UserID int64  `json:"-"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	// Unconfirmed: the account has not confirmed its address, and cannot sign in yet.
	Unconfirmed bool `json:"unconfirmed,omitempty"`
}

// Group is a set of an org's members with grants on the org's channels and packages.
type Group struct {
	ID      int64    `json:"-"`
	OrgID   int64    `json:"-"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
	// Unconfirmed are the members whose account has not confirmed its address.
	Unconfirmed []string `json:"unconfirmed,omitempty"`
	Grants      []Grant  `json:"grants"`
}

// IsUnconfirmed reports whether member name of g has not confirmed its address.
func (g Group) IsUnconfirmed(name string) bool { return slices.Contains(g.Unconfirmed, name) }

// Grant gives a group a level on a channel, or on one package of it when Package is set.
type Grant struct {
	GroupID   int64        `json:"-"`
	ChannelID int64        `json:"-"`
	Channel   string       `json:"channel"`
	Package   string       `json:"package,omitempty"`
	Level     access.Level `json:"-"`
	LevelName string       `json:"level"`
}

// UserUpdate changes an account; nil fields stay as they are.
type UserUpdate struct {
	PasswordHash  *string // also kills every outstanding password-reset link
	EmailVerified *bool
	Disabled      *bool
	Admin         *bool
}

// EmailToken is a single-use link mailed to someone. Only the hash of its secret is stored.
type EmailToken struct {
	Hash      string
	Purpose   string // "verify", "reset", "invite"
	UserID    int64  // 0 for an invitation
	Email     string
	CreatedBy int64
	ExpiresAt time.Time
	CreatedAt time.Time
}

// ChannelPackage names a package in a channel.
type ChannelPackage = access.PackageKey

// Grants is what a user holds through org membership and groups, read afresh for each
// request so that a removal takes effect on the next one.
type Grants = access.Grants

// AccountStore is the part of Store that holds accounts, orgs, groups and grants.
type AccountStore interface {
	// UserByEmail finds an account by its address, compared without case.
	UserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, id int64, up UserUpdate) (User, error)
	// RehashPassword replaces the hash of an account's password with another hash of the same
	// password (access.VerifyPassword's rehash), only if the account still has hash old: a
	// password changed in the meantime stays. Unlike a new password it keeps the sessions and
	// reset links. It reports whether it replaced the hash.
	RehashPassword(ctx context.Context, id int64, old, new string) (bool, error)

	// CreateEmailToken stores a mailed link; UseEmailToken consumes one: it returns the token
	// and deletes it, or a *NotFoundError when it is unknown, used or expired.
	CreateEmailToken(ctx context.Context, t EmailToken) error
	UseEmailToken(ctx context.Context, purpose, hash string, now time.Time) (EmailToken, error)

	// CreateOrg creates an org with owner as its first owner, and the org's channel.
	CreateOrg(ctx context.Context, name string, ownerID int64) (Org, error)
	OrgByName(ctx context.Context, name string) (Org, error)
	OrgByID(ctx context.Context, id int64) (Org, error)
	// SetOrgMember adds a user to an org or changes their role. Demoting the last owner is a
	// *ConflictError.
	SetOrgMember(ctx context.Context, orgID, userID int64, role string, actorID int64) error
	// RemoveOrgMember takes a user out of an org and all its groups. Removing the last owner
	// is a *ConflictError.
	RemoveOrgMember(ctx context.Context, orgID, userID, actorID int64) error
	OrgMembers(ctx context.Context, orgID int64) ([]Member, error)
	// UserOrgs lists the orgs a user belongs to with their role.
	UserOrgs(ctx context.Context, userID int64) ([]OrgRole, error)

	CreateGroup(ctx context.Context, orgID int64, name string, actorID int64) (Group, error)
	DeleteGroup(ctx context.Context, orgID int64, name string, actorID int64) error
	Groups(ctx context.Context, orgID int64) ([]Group, error)
	// AddGroupMember adds a user to a group, making them an org member if they were not.
	AddGroupMember(ctx context.Context, orgID int64, group string, userID, actorID int64) error
	RemoveGroupMember(ctx context.Context, orgID int64, group string, userID, actorID int64) error
	// SetGrant gives a group a level on one of the org's channels (or a package of it),
	// replacing the level it had there. RemoveGrant takes it away.
	SetGrant(ctx context.Context, orgID int64, group string, channelID int64, pkg string, level access.Level, actorID int64) error
	RemoveGrant(ctx context.Context, orgID int64, group string, channelID int64, pkg string, actorID int64) error

	// GrantsOf is what a user holds through orgs and groups.
	GrantsOf(ctx context.Context, userID int64) (Grants, error)

	// SetChannelPrivate changes a channel's privacy, recorded in history; a package's is
	// SetPackagesPrivate's.
	SetChannelPrivate(ctx context.Context, channelID int64, private bool, actorID int64) error
	// PackagePrivacy says whether a package of a channel is private; a *NotFoundError when the
	// channel has no package of that name.
	PackagePrivacy(ctx context.Context, channelID int64, pkg string) (bool, error)
	// PackageKinds lists the kinds ("conda", "pypi") of a channel's packages named pkg,
	// sorted; none when there is no such package.
	PackageKinds(ctx context.Context, channelID int64, pkg string) ([]string, error)
	// PrivatePackages lists the names of a channel's private packages.
	PrivatePackages(ctx context.Context, channelID int64) ([]string, error)

	OrgEvents(ctx context.Context, orgID int64, limit int) ([]Event, error)
}

// OrgRole is an org and a user's role in it.
type OrgRole struct {
	Org  string `json:"org"`
	Role string `json:"role"`
}
