package client

import (
	"context"
	"net/url"

	"github.com/wharfhq/wharf/internal/api"
)

// The token types are the API's own (package api); these names stay for the client's users.
type (
	Scope         = api.ScopeInfo
	TokenResource = api.TokenResource
	NewToken      = api.NewTokenRequest
	TokenInfo     = api.TokenInfo
)

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
	Token string        `json:"token"`
	Info  api.TokenInfo `json:"info"`
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
func (c *Client) Scopes(ctx context.Context) ([]api.ScopeInfo, error) {
	anon := *c
	anon.Username, anon.Password, anon.Token = "", "", ""
	var out []api.ScopeInfo
	return out, anon.doJSON(ctx, "GET", "/api/v1/scopes", nil, &out)
}

// CreateToken creates a token and returns its secret, which the server shows only this once.
func (c *Client) CreateToken(ctx context.Context, req api.NewTokenRequest) (secret string, info api.TokenInfo, err error) {
	var out tokenAnswer
	err = c.doJSON(ctx, "POST", "/api/v1/tokens", req, &out)
	return out.Token, out.Info, err
}

// Tokens lists the caller's tokens, or with org set that organization's.
func (c *Client) Tokens(ctx context.Context, org string) ([]api.TokenInfo, error) {
	var out []api.TokenInfo
	_, err := c.do(ctx, "GET", "/api/v1/tokens", orgQuery(org), nil, -1, "", &out)
	return out, err
}

// CurrentToken shows the token the client signs in with (Client.Token).
func (c *Client) CurrentToken(ctx context.Context) (api.TokenInfo, error) {
	var out api.TokenInfo
	return out, c.doJSON(ctx, "GET", "/api/v1/tokens/current", nil, &out)
}

// EditToken renames, extends or reissues a token named by id or name (of org, when set). secret
// is the new secret of a reissue, empty otherwise.
func (c *Client) EditToken(ctx context.Context, ref, org string, edit TokenEdit) (info api.TokenInfo, secret string, err error) {
	var out tokenAnswer
	_, err = c.doBody(ctx, "PATCH", tokenPath(ref), orgQuery(org), edit, &out)
	return out.Info, out.Token, err
}

// RemoveToken revokes a token named by id or name (of org, when set); it stops working at once.
func (c *Client) RemoveToken(ctx context.Context, ref, org string) error {
	_, err := c.do(ctx, "DELETE", tokenPath(ref), orgQuery(org), nil, -1, "", nil)
	return err
}
