// Package api holds the REST API's wire types, shared by the server and the wharf client.
package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// ChannelInfo is a channel as the API shows it.
type ChannelInfo struct {
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	Parent    string    `json:"parent,omitempty"`
	Revision  int64     `json:"revision,omitempty"` // only for readers of the whole channel
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FileInfo is a stored file as the API shows it.
type FileInfo struct {
	Channel   string    `json:"channel"`
	Package   string    `json:"package"`
	Kind      string    `json:"kind"`
	Subdir    string    `json:"subdir"`
	Filename  string    `json:"filename"`
	Version   string    `json:"version"`
	Build     string    `json:"build"`
	SHA256    string    `json:"sha256"`
	MD5       string    `json:"md5"`
	Size      int64     `json:"size"`
	Labels    []string  `json:"labels"`
	CreatedAt time.Time `json:"created_at"`
	// PackagePrivate: the file's package is private.
	PackagePrivate bool `json:"package_private,omitempty"`
	// Python distributions: PEP 592 yanking.
	Yanked       bool   `json:"yanked,omitempty"`
	YankedReason string `json:"yanked_reason,omitempty"`
}

// CopyRequest is the body of POST /api/v1/channels/{channel}/copy.
type CopyRequest struct {
	Files     []store.FileRef `json:"files"`
	FromLabel string          `json:"from_label"`
	ToChannel string          `json:"to_channel"`
	ToLabels  []string        `json:"to_labels"`
	Move      bool            `json:"move"`
}

// NewChannelRequest is the body of POST /api/v1/channels.
type NewChannelRequest struct {
	Name    string `json:"name"`
	Private bool   `json:"private"`
	// Org makes an organization own the new top-level channel (its owners may do this).
	Org string `json:"org,omitempty"`
}

// ScopeInfo is one scope a token may carry (GET /api/v1/scopes): a name such as
// "conda:download" and the actions it allows.
type ScopeInfo struct {
	Scope       string   `json:"scope"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
}

// TokenResource is one channel a resource token may reach, and the level it has there
// ("read", "write" or "manage").
type TokenResource struct {
	Channel string `json:"channel"`
	Level   string `json:"level"`
}

// TokenInfo is a token as the API shows it: everything but its secret.
type TokenInfo struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Owner       string          `json:"owner"`
	Org         bool            `json:"org"` // Owner is an organization
	Kind        string          `json:"kind"`
	Scopes      []string        `json:"scopes"`
	Resources   []TokenResource `json:"resources"`
	Strength    string          `json:"strength"`
	CreatedAt   time.Time       `json:"created_at"`
	ExpiresAt   time.Time       `json:"expires_at"`
	LastUsedAt  *time.Time      `json:"last_used_at"`
}

// NewTokenRequest is the body of POST /api/v1/tokens. Only Name is required: Expires is a
// duration ("30d"), a date ("2027-01-31") or an RFC 3339 time, by default a year; Strength is
// "strong" (the default) or "weak"; Org makes the organization own the token.
type NewTokenRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Scopes      []string        `json:"scopes,omitempty"`
	Resources   []TokenResource `json:"resources,omitempty"`
	Expires     string          `json:"expires,omitempty"`
	Strength    string          `json:"strength,omitempty"`
	Org         string          `json:"org,omitempty"`
}

// UserInfo is an account as administrators see it.
type UserInfo struct {
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Admin         bool      `json:"admin"`
	Disabled      bool      `json:"disabled"`
	CreatedAt     time.Time `json:"created_at"`
}

// SignupRequest is the body of POST /api/v1/signup.
type SignupRequest struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Invite   string `json:"invite,omitempty"`
}

// NewUserRequest is the body of POST /api/v1/users; an empty Password has the server
// generate one.
type NewUserRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Password string `json:"password,omitempty"`
	Admin    bool   `json:"admin"`
}

// UserUpdateRequest is the body of PATCH /api/v1/users/{user}; nil fields stay as they are.
type UserUpdateRequest struct {
	Disabled *bool `json:"disabled,omitempty"`
	Admin    *bool `json:"admin,omitempty"`
}

// OrgInfo is an organization with its members and groups. Warning, in the answer to adding a
// member, says what the caller should know about it (an account that has not confirmed its
// address).
type OrgInfo struct {
	Name    string         `json:"name"`
	Members []store.Member `json:"members"`
	Groups  []store.Group  `json:"groups"`
	Warning string         `json:"warning,omitempty"`
}

// Warning is the answer to a change that was made but that the caller should know about.
type Warning struct {
	Warning string `json:"warning"`
}

// ParseLifetime reads a lifetime as tokens and the server's settings take it: a number of days
// ("30d", at most 100 years) or a positive Go duration ("12h").
func ParseLifetime(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 && d <= 100*366 {
			return time.Duration(d) * 24 * time.Hour, true
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, true
	}
	return 0, false
}

// VersionInfo is GET /api/v1/version: which Wharf answers. Version is "devel" for a build
// that is not a release; Commit is empty when the build did not record it.
type VersionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Modified bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	Go       string `json:"go"`
}
