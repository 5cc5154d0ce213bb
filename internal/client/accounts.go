package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/store"
)

// Account is the signed-in account (GET /api/v1/user).
type Account struct {
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

// The account and organization types are the API's own (package api); these names stay for
// the client's users.
type (
	User       = api.UserInfo
	Signup     = api.SignupRequest
	NewUser    = api.NewUserRequest
	UserUpdate = api.UserUpdateRequest
	Org        = api.OrgInfo
)

// PackagePrivacy is the answer of PATCH /api/v1/channels/{channel}/packages/{package}.
type PackagePrivacy struct {
	Channel string `json:"channel"`
	Package string `json:"package"`
	Private bool   `json:"private"`
}

type message struct {
	Message string `json:"message"`
}

func userPath(name string) string { return "/api/v1/users/" + url.PathEscape(name) }
func orgPath(name string) string  { return "/api/v1/orgs/" + url.PathEscape(name) }
func groupPath(org, group string) string {
	return orgPath(org) + "/groups/" + url.PathEscape(group)
}

// Whoami returns the signed-in account.
func (c *Client) Whoami(ctx context.Context) (Account, error) {
	var out Account
	return out, c.doJSON(ctx, "GET", "/api/v1/user", nil, &out)
}

// Signup asks for an account. The server's message is the same whether or not the address
// has an account already; active is true when the account may sign in at once (an invitation
// to the same address), false when a confirmation link was mailed.
func (c *Client) Signup(ctx context.Context, req api.SignupRequest) (msg string, active bool, err error) {
	var out message
	status, err := c.doBody(ctx, "POST", "/api/v1/signup", nil, req, &out)
	return out.Message, status == http.StatusCreated, err
}

// VerifyEmail confirms an address with the token from the sign-up mail.
func (c *Client) VerifyEmail(ctx context.Context, token string) (string, error) {
	var out message
	return out.Message, c.doJSON(ctx, "POST", "/api/v1/account/verify", map[string]string{"token": token}, &out)
}

// ResendVerification asks for a new confirmation link.
func (c *Client) ResendVerification(ctx context.Context, email string) (string, error) {
	var out message
	return out.Message, c.doJSON(ctx, "POST", "/api/v1/account/verify/resend", map[string]string{"email": email}, &out)
}

// RequestPasswordReset asks for a password-reset link.
func (c *Client) RequestPasswordReset(ctx context.Context, email string) (string, error) {
	var out message
	return out.Message, c.doJSON(ctx, "POST", "/api/v1/password-reset", map[string]string{"email": email}, &out)
}

// ConfirmPasswordReset sets a new password with the token from the reset mail.
func (c *Client) ConfirmPasswordReset(ctx context.Context, token, password string) error {
	return c.doJSON(ctx, "POST", "/api/v1/password-reset/confirm", map[string]string{"token": token, "password": password}, nil)
}

// ChangePassword changes the signed-in account's password.
func (c *Client) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	return c.doJSON(ctx, "PUT", "/api/v1/user/password", map[string]string{"old_password": oldPassword, "new_password": newPassword}, nil)
}

// Users lists every account (administrators).
func (c *Client) Users(ctx context.Context) ([]api.UserInfo, error) {
	var out []api.UserInfo
	return out, c.doJSON(ctx, "GET", "/api/v1/users", nil, &out)
}

// CreateUser creates a confirmed account (administrators). password is the generated one,
// shown once, when req.Password was empty.
func (c *Client) CreateUser(ctx context.Context, req api.NewUserRequest) (u api.UserInfo, password string, err error) {
	var out struct {
		User     api.UserInfo `json:"user"`
		Password string       `json:"password"`
	}
	err = c.doJSON(ctx, "POST", "/api/v1/users", req, &out)
	return out.User, out.Password, err
}

// UpdateUser disables, enables, promotes or demotes an account (administrators).
func (c *Client) UpdateUser(ctx context.Context, name string, up api.UserUpdateRequest) (api.UserInfo, error) {
	var out api.UserInfo
	return out, c.doJSON(ctx, "PATCH", userPath(name), up, &out)
}

// Invite mails an invitation to sign up (administrators).
func (c *Client) Invite(ctx context.Context, email string) (string, error) {
	var out message
	return out.Message, c.doJSON(ctx, "POST", "/api/v1/invites", map[string]string{"email": email}, &out)
}

// CreateOrg creates an organization with the caller as its owner.
func (c *Client) CreateOrg(ctx context.Context, name string) (api.OrgInfo, error) {
	var out api.OrgInfo
	return out, c.doJSON(ctx, "POST", "/api/v1/orgs", map[string]string{"name": name}, &out)
}

// Org shows an organization's members and groups.
func (c *Client) Org(ctx context.Context, name string) (api.OrgInfo, error) {
	var out api.OrgInfo
	return out, c.doJSON(ctx, "GET", orgPath(name), nil, &out)
}

// OrgHistory lists an organization's events, newest first.
func (c *Client) OrgHistory(ctx context.Context, name string, limit int) ([]store.Event, error) {
	var out []store.Event
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	_, err := c.do(ctx, "GET", orgPath(name)+"/history", q, nil, -1, "", &out)
	return out, err
}

// SetOrgMember adds a user to an organization or changes their role ("owner" or "member").
func (c *Client) SetOrgMember(ctx context.Context, org, user, role string) (api.OrgInfo, error) {
	var out api.OrgInfo
	return out, c.doJSON(ctx, "PUT", orgPath(org)+"/members/"+url.PathEscape(user), map[string]string{"role": role}, &out)
}

// RemoveOrgMember takes a user out of an organization and all its groups.
func (c *Client) RemoveOrgMember(ctx context.Context, org, user string) error {
	return c.doJSON(ctx, "DELETE", orgPath(org)+"/members/"+url.PathEscape(user), nil, nil)
}

// Groups lists an organization's groups with their members and grants.
func (c *Client) Groups(ctx context.Context, org string) ([]store.Group, error) {
	var out []store.Group
	return out, c.doJSON(ctx, "GET", orgPath(org)+"/groups", nil, &out)
}

// CreateGroup creates a group in an organization.
func (c *Client) CreateGroup(ctx context.Context, org, group string) (store.Group, error) {
	var out store.Group
	return out, c.doJSON(ctx, "POST", orgPath(org)+"/groups", map[string]string{"name": group}, &out)
}

// DeleteGroup deletes a group and its grants.
func (c *Client) DeleteGroup(ctx context.Context, org, group string) error {
	return c.doJSON(ctx, "DELETE", groupPath(org, group), nil, nil)
}

// AddGroupMember adds a user to a group, and to the organization if they were not in it. The
// warning is the server's, when there is something to know (an account that has not
// confirmed its address); the user is added all the same.
func (c *Client) AddGroupMember(ctx context.Context, org, group, user string) (warning string, err error) {
	var out api.Warning
	err = c.doJSON(ctx, "PUT", groupPath(org, group)+"/members/"+url.PathEscape(user), nil, &out)
	return out.Warning, err
}

// RemoveGroupMember takes a user out of a group.
func (c *Client) RemoveGroupMember(ctx context.Context, org, group, user string) error {
	return c.doJSON(ctx, "DELETE", groupPath(org, group)+"/members/"+url.PathEscape(user), nil, nil)
}

// SetGrant gives a group a level ("read", "write", "manage") on one of the organization's
// channels, or on one package of it when pkg is set. It returns the organization's groups.
func (c *Client) SetGrant(ctx context.Context, org, group, channel, pkg, level string) ([]store.Group, error) {
	var out []store.Group
	body := map[string]string{"channel": channel, "level": level}
	if pkg != "" {
		body["package"] = pkg
	}
	return out, c.doJSON(ctx, "PUT", groupPath(org, group)+"/grants", body, &out)
}

// RemoveGrant takes a group's grant on a channel (or on one package of it) away.
func (c *Client) RemoveGrant(ctx context.Context, org, group, channel, pkg string) error {
	q := url.Values{"channel": {channel}}
	if pkg != "" {
		q.Set("package", pkg)
	}
	_, err := c.do(ctx, "DELETE", groupPath(org, group)+"/grants", q, nil, -1, "", nil)
	return err
}

// SetChannelPrivate makes a channel private or public.
func (c *Client) SetChannelPrivate(ctx context.Context, channel string, private bool) (api.ChannelInfo, error) {
	var out api.ChannelInfo
	return out, c.doJSON(ctx, "PATCH", channelPath(channel), map[string]bool{"private": private}, &out)
}

// SetPackagePrivate makes one package of a channel private or public.
func (c *Client) SetPackagePrivate(ctx context.Context, channel, pkg string, private bool) (PackagePrivacy, error) {
	var out PackagePrivacy
	return out, c.doJSON(ctx, "PATCH", channelPath(channel)+"/packages/"+url.PathEscape(pkg), map[string]bool{"private": private}, &out)
}
