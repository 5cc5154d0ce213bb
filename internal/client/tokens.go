package client

import (
	"context"
	"net/url"
	"time"
)

// Scope is one scope a token may carry (GET /api/v1/scopes): a name such as "conda:download"
// and the actions it allows.
type Scope struct {
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

// NewToken is the body of POST /api/v1/tokens. Only Name is required: Expires is a duration
// ("30d"), a date ("2027-01-31") or an RFC 3339 time, by default a year; Strength is "strong"
// (the default) or "weak"; Org makes the organization own the token.
type NewToken struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Scopes      []string        `json:"scopes,omitempty"`
	Resources   []TokenResource `json:"resources,omitempty"`
	Expires     string          `json:"expires,omitempty"`
	Strength    string          `json:"strength,omitempty"`
	Org         string          `json:"org,omitempty"`
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

// TokenEdit is the body of PATCH /api/v1/tokens/{token}; empty fields stay as they are.
// Reissue gives the token a new secret and kills the old one at once.
type TokenEdit struct {
	Name    string `json:"name,omitempty"`
	Expires string `json:"expires,omitempty"`
	Reissue bool   `json:"reissue,omitempty"`
}

// tokenAnswer is the answer of creating, editing or reissuing a token; Token is the secret,
// there only when a new one was made.
type tokenAnswer struct {
	Token string    `json:"token"`
	Info  TokenInfo `json:"info"`
}

// tokenPath names a token by id or name as one path segment.
func tokenPath(ref string) string { return "/api/v1/tokens/" + url.PathEscape(ref) }

func orgQuery(org string) url.Values {
	if org == "" {
		return nil
	}
	return url.Values{"org": {org}}
}

// Scopes lists the scopes a token may carry. It sends no credentials: the list is public.
func (c *Client) Scopes(ctx context.Context) ([]Scope, error) {
	anon := *c
	anon.Username, anon.Password, anon.Token = "", "", ""
	var out []Scope
	return out, anon.doJSON(ctx, "GET", "/api/v1/scopes", nil, &out)
}

// CreateToken creates a token and returns its secret, which the server shows only this once.
func (c *Client) CreateToken(ctx context.Context, req NewToken) (secret string, info TokenInfo, err error) {
	var out tokenAnswer
	err = c.doJSON(ctx, "POST", "/api/v1/tokens", req, &out)
	return out.Token, out.Info, err
}

// Tokens lists the caller's tokens, or with org set that organization's.
func (c *Client) Tokens(ctx context.Context, org string) ([]TokenInfo, error) {
	var out []TokenInfo
	_, err := c.do(ctx, "GET", "/api/v1/tokens", orgQuery(org), nil, -1, "", &out)
	return out, err
}

// CurrentToken shows the token the client signs in with (Client.Token).
func (c *Client) CurrentToken(ctx context.Context) (TokenInfo, error) {
	var out TokenInfo
	return out, c.doJSON(ctx, "GET", "/api/v1/tokens/current", nil, &out)
}

// EditToken renames, extends or reissues a token named by id or name (of org, when set). secret
// is the new secret of a reissue, empty otherwise.
func (c *Client) EditToken(ctx context.Context, ref, org string, edit TokenEdit) (info TokenInfo, secret string, err error) {
	var out tokenAnswer
	_, err = c.doBody(ctx, "PATCH", tokenPath(ref), orgQuery(org), edit, &out)
	return out.Info, out.Token, err
}

// RemoveToken revokes a token named by id or name (of org, when set); it stops working at once.
func (c *Client) RemoveToken(ctx context.Context, ref, org string) error {
	_, err := c.do(ctx, "DELETE", tokenPath(ref), orgQuery(org), nil, -1, "", nil)
	return err
}
