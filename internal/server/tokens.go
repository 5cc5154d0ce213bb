package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/token"
)

// identityCache keeps tokens by hash and accounts with their grants, so that a request with a
// token costs no database round trip. Every change that could alter who may do what goes
// through a non-GET request, and each such request moves the epoch, which empties it.
type identityCache struct {
	epoch atomic.Int64
	ttl   time.Duration

	// mu guards the maps' contents. The four cache maps are made once and only ever cleared,
	// so cached may be handed them outside mu; used is replaced by flushUsed, so never is.
	mu     sync.Mutex
	tokens map[string]*ttlEntry[store.Token] // by hash
	users  map[int64]*ttlEntry[userGrants]
	names  map[string]*ttlEntry[int64] // user name → id, for Basic sign-ins
	orgs   map[int64]*ttlEntry[store.Org]
	// used collects last-use times, written to the store in batches, not per request.
	used map[int64]time.Time
}

// ttlEntry is a loaded value with the epoch read before the load and the time of it. It is
// never changed once in a map, so it may be read after mu is let go; the maps hold pointers
// so that a hit copies a pointer, not a whole store.Token, through the generic code.
type ttlEntry[V any] struct {
	v     V
	epoch int64
	at    time.Time
}

type userGrants struct {
	user   store.User
	grants access.Grants
}

// maxCached bounds each map: past it the map is emptied rather than grown, so that many
// distinct keys (made-up user names, many accounts) cannot take the memory.
const maxCached = 100_000

func newIdentityCache(ttl time.Duration) *identityCache {
	return &identityCache{ttl: ttl, tokens: map[string]*ttlEntry[store.Token]{}, users: map[int64]*ttlEntry[userGrants]{},
		names: map[string]*ttlEntry[int64]{}, orgs: map[int64]*ttlEntry[store.Org]{}, used: map[int64]time.Time{}}
}

// changed is called after every request that may have changed accounts, grants or tokens.
func (c *identityCache) changed() {
	c.epoch.Add(1)
	c.mu.Lock()
	clear(c.tokens)
	clear(c.users)
	clear(c.names)
	clear(c.orgs)
	c.mu.Unlock()
}

func (c *identityCache) fresh(epoch int64, at, now time.Time) bool {
	return epoch == c.epoch.Load() && now.Sub(at) < c.ttl
}

// cached returns m[k] while it is fresh, else what load gives (with its error), kept in m if
// there was none. m must be one of c's maps. The result may be shared: copy it, never write
// through it.
func cached[K comparable, V any](c *identityCache, m map[K]*ttlEntry[V], k K, now time.Time, load func() (V, error)) (*V, error) {
	c.mu.Lock()
	e := m[k]
	c.mu.Unlock()
	if e != nil && c.fresh(e.epoch, e.at, now) {
		return &e.v, nil
	}
	// The epoch is read before the load, so that a change made during it makes the entry stale.
	e = &ttlEntry[V]{epoch: c.epoch.Load(), at: now}
	var err error
	if e.v, err = load(); err != nil {
		return &e.v, err
	}
	c.mu.Lock()
	// If the epoch moved during the load, changed() has emptied m or will once it has mu:
	// storing would only put back a dead entry, or replace a fresh one that a request loaded
	// since the change with this one, which may predate it.
	if e.epoch == c.epoch.Load() {
		if len(m) >= maxCached {
			clear(m)
		}
		m[k] = e
	}
	c.mu.Unlock()
	return &e.v, nil
}

func (s *Server) tokenByHash(ctx context.Context, hash string, now time.Time) (store.Token, error) {
	t, err := cached(s.ids, s.ids.tokens, hash, now, func() (store.Token, error) {
		return s.store.TokenByHash(ctx, hash)
	})
	return *t, err
}

// userByName is userByID for a name, as Basic sign-ins give it: one look-up of the name per
// cache lifetime, not one per request.
func (s *Server) userByName(ctx context.Context, name string, now time.Time) (store.User, access.Grants, error) {
	id, err := cached(s.ids, s.ids.names, name, now, func() (int64, error) {
		u, err := s.store.UserByName(ctx, name)
		return u.ID, err
	})
	if err != nil {
		return store.User{}, access.Grants{}, err
	}
	return s.userByID(ctx, *id, now)
}

func (s *Server) userByID(ctx context.Context, id int64, now time.Time) (store.User, access.Grants, error) {
	ug, err := cached(s.ids, s.ids.users, id, now, func() (userGrants, error) {
		u, err := s.store.UserByID(ctx, id)
		if err != nil {
			return userGrants{user: u}, err
		}
		g, err := s.store.GrantsOf(ctx, id)
		return userGrants{user: u, grants: g}, err
	})
	return ug.user, ug.grants, err
}

func (s *Server) orgByID(ctx context.Context, id int64, now time.Time) (store.Org, error) {
	o, err := cached(s.ids, s.ids.orgs, id, now, func() (store.Org, error) {
		return s.store.OrgByID(ctx, id)
	})
	return *o, err
}

// flushUsed writes the collected last-use times.
func (s *Server) flushUsed(ctx context.Context) {
	c := s.ids
	c.mu.Lock()
	used := c.used
	c.used = map[int64]time.Time{}
	c.mu.Unlock()
	if err := s.store.TouchTokens(ctx, used); err != nil {
		s.log.WarnContext(ctx, "recording token use failed", "tokens", len(used), "err", err)
	}
}

// presentedToken finds the token a request carries: in the path (/t/<token>/), as
// "Authorization: token …" or "Bearer …", or in HTTP Basic as the password (any user name,
// __token__ for twine) or as the user name with the password "x-auth-token". Two different
// tokens are an error; no token is "".
func presentedToken(r *http.Request) (string, error) {
	var found []string
	if t, ok := pathToken(r.Context()); ok {
		found = append(found, t)
	}
	if len(r.Header.Values("Authorization")) > 1 {
		return "", errBadRequest("the request has two Authorization headers; send one")
	}
	h := r.Header.Get("Authorization")
	if scheme, rest, ok := strings.Cut(h, " "); ok && (strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer")) {
		found = append(found, strings.TrimSpace(rest))
	}
	if user, pass, ok := r.BasicAuth(); ok {
		switch {
		case pass == "x-auth-token":
			found = append(found, user)
		case token.Looks(pass) && token.Looks(user) && user != pass:
			return "", errBadRequest("HTTP Basic carries a token as the user name and another as the password; send one")
		case token.Looks(pass):
			found = append(found, pass)
		case user == "__token__":
			found = append(found, pass) // twine: the password must be a token
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	for _, t := range found[1:] {
		if t != found[0] {
			return "", errBadRequest("the request carries two different tokens; send one")
		}
	}
	return found[0], nil
}

var errBadToken = errUnauthorized("the token is not valid: it is unknown, revoked, reissued or expired")

// identifyToken makes the principal a token acts as: its owner now, limited by the token,
// with the credential to ask again at an upload's commit (the token's hash, hashed once).
func (s *Server) identifyToken(r *http.Request, secret string) (access.Principal, credential, error) {
	ctx := r.Context()
	// A made-up or mistyped token costs no look-up.
	if _, err := token.Parse(secret); err != nil {
		return access.Principal{}, credential{}, errUnauthorized("the token is malformed: Wharf tokens start with wrfs- or wrfr-; copy it whole")
	}
	now, wall := s.opts.Now(), time.Now() // expiry by the server's clock; limits by the wall's
	addr := clientAddr(r)
	t, err := s.tokenByHash(ctx, token.Hash(secret), wall)
	if store.IsNotFound(err) {
		// Guessing a token is hopeless (128 or 256 bits), so a token that is found is never
		// held up; unknown ones (stale, revoked, made up) spend the address's budget, so that
		// a client stuck on one is told to slow down.
		if ok, retry := s.unknownTokens.Allow(addr, wall); !ok {
			return access.Principal{}, credential{}, &httpError{status: http.StatusTooManyRequests, code: "too_many_attempts", retryAfter: retry,
				message: fmt.Sprintf("too many requests with an unknown, revoked or expired token from this address: fix the token the client sends, then retry in %d seconds", int(retry.Seconds()))}
		}
		s.unknownTokens.Spend(addr, wall)
		return access.Principal{}, credential{}, errBadToken
	} else if err != nil {
		return access.Principal{}, credential{}, err
	}
	p, err := tokenPrincipal(ctx, t, now, func(ctx context.Context, id int64) (store.User, access.Grants, error) {
		return s.userByID(ctx, id, wall)
	}, func(ctx context.Context, id int64) (store.Org, error) {
		return s.orgByID(ctx, id, wall)
	})
	if err != nil {
		return access.Principal{}, credential{}, err
	}
	s.ids.mu.Lock()
	s.ids.used[t.ID] = now
	s.ids.mu.Unlock()
	noteToken(ctx, t.ID)
	return p, credential{tokenHash: t.Hash}, nil
}

// tokenPrincipal is who a token acts as at now: its owner with what they hold (users and orgs
// give them), limited by the token; an expired token, or one whose owner (or, for an
// organization token, whose maker) may no longer use it, is refused.
func tokenPrincipal(ctx context.Context, t store.Token, now time.Time, users func(context.Context, int64) (store.User, access.Grants, error),
	orgs func(context.Context, int64) (store.Org, error)) (access.Principal, error) {
	if !now.Before(t.ExpiresAt) {
		return access.Principal{}, errUnauthorized("the token expired on " + t.ExpiresAt.Format(time.DateOnly) + ": extend it or make a new one")
	}
	p := access.Principal{Token: limitsOf(t)}
	if t.OwnerOrgID != 0 {
		// An org token acts for the org only while the owner who made it is one.
		if t.CreatedBy == 0 {
			return access.Principal{}, errUnauthorized("the organization token's maker is gone: an owner must make a new one")
		}
		maker, g, err := users(ctx, t.CreatedBy)
		if err != nil {
			return access.Principal{}, err
		}
		if maker.Disabled || g.OrgRoles[t.OwnerOrgID] != access.RoleOwner {
			return access.Principal{}, errUnauthorized("the organization token's maker is no longer an owner of it: an owner must make a new one")
		}
		org, err := orgs(ctx, t.OwnerOrgID)
		if err != nil {
			return access.Principal{}, err
		}
		p.ActingOrg, p.Name = org.ID, org.Name
		return p, nil
	}
	u, g, err := users(ctx, t.OwnerUserID)
	if err != nil {
		return access.Principal{}, err
	}
	if u.Disabled {
		return access.Principal{}, errUnauthorized("the token's account is disabled; ask an administrator")
	}
	p.UserID, p.Name, p.Admin, p.Grants = u.ID, u.Name, u.Admin, g
	return p, nil
}

// ---- the API

func (s *Server) apiScopes(w http.ResponseWriter, r *http.Request, c *call) error {
	out := make([]api.ScopeInfo, 0, len(access.Scopes))
	for _, sc := range access.Scopes {
		acts := make([]string, 0, len(sc.Actions))
		for _, a := range sc.Actions {
			acts = append(acts, string(a))
		}
		out = append(out, api.ScopeInfo{Scope: sc.Name, Description: sc.Description, Actions: acts})
	}
	return writeJSON(w, http.StatusOK, out)
}

// tokenInfo describes a token. names remembers channel names across the tokens of one list
// (nil: one token).
func (s *Server) tokenInfo(ctx context.Context, t store.Token, owner string, names map[int64]string) (api.TokenInfo, error) {
	ti := api.TokenInfo{ID: t.ID, Name: t.Name, Description: t.Description, Owner: owner, Org: t.OwnerOrgID != 0, Kind: t.Kind,
		Scopes: t.Scopes, Resources: []api.TokenResource{}, Strength: t.Strength, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	last := t.LastUsedAt
	s.ids.mu.Lock()
	if u, ok := s.ids.used[t.ID]; ok && u.After(last) {
		last = u // not written yet
	}
	s.ids.mu.Unlock()
	if !last.IsZero() {
		ti.LastUsedAt = &last
	}
	if names == nil {
		names = map[int64]string{}
	}
	for _, res := range t.Resources {
		name, ok := names[res.ChannelID]
		if !ok {
			name = "(deleted channel)"
			if ch, err := s.store.ChannelByID(ctx, res.ChannelID); err == nil {
				name = ch.Name
			} else if !store.IsNotFound(err) {
				return ti, err
			}
			names[res.ChannelID] = name
		}
		ti.Resources = append(ti.Resources, api.TokenResource{Channel: name, Level: res.Level.String()})
	}
	return ti, nil
}

// tokenOwner is whose tokens a request is about: the caller's own, or an org's (?org=, or
// "org" in a body) when the caller may manage that org.
func (s *Server) tokenOwner(r *http.Request, c *call, orgName string) (userID, orgID int64, owner string, err error) {
	if orgName == "" {
		orgName = r.URL.Query().Get("org")
	}
	if orgName == "" {
		if c.principal.ActingOrg != 0 {
			return 0, c.principal.ActingOrg, c.principal.Name, nil
		}
		return c.principal.UserID, 0, c.principal.Name, nil
	}
	org, err := s.store.OrgByName(r.Context(), orgName)
	if err != nil {
		return 0, 0, "", err
	}
	if !access.May(c.principal, access.OrgManage, access.Resource{Org: org.ID, Surface: "api"}) {
		return 0, 0, "", errForbidden("only the owners of organization " + org.Name + " may manage its tokens")
	}
	return 0, org.ID, org.Name, nil
}

// parseExpiry reads "30d", "12h", "2027-01-31" or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := api.ParseLifetime(s); ok {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil // through the end of that day, UTC
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expiry %q: give a number of days (30d), a duration (12h), a date (2027-01-31) or an RFC 3339 time", s)
}

func validTokenName(n string) error {
	if n == "" || len(n) > 100 || !utf8.ValidString(n) || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("a token's name is 1 to 100 characters of text")
	}
	return nil
}

// maxExpiry is the latest a new or extended token may live to.
func (s *Server) maxExpiry(c *call, now time.Time) time.Time {
	limit := now.Add(s.opts.MaxTokenLifetime)
	if c.principal.Token != nil && c.principal.Token.ExpiresAt.Before(limit) {
		limit = c.principal.Token.ExpiresAt // no longer-lived than the token making it
	}
	return limit
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.NewTokenRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	secret, ti, err := s.createToken(r, c, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "info": ti})
}

// createToken makes a token as req asks, for its owner (the caller, or req.Org), with every
// check: the API and the web form both come here. The secret is returned once and kept
// nowhere.
func (s *Server) createToken(r *http.Request, c *call, req api.NewTokenRequest) (string, api.TokenInfo, error) {
	ctx := r.Context()
	if err := validTokenName(req.Name); err != nil {
		return "", api.TokenInfo{}, errBadRequest(err.Error())
	}
	if len(req.Description) > 1000 || !utf8.ValidString(req.Description) || strings.ContainsRune(req.Description, 0) {
		return "", api.TokenInfo{}, errBadRequest("a token's description is at most 1000 characters of text")
	}
	userID, orgID, owner, err := s.tokenOwner(r, c, req.Org)
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	limits := &access.TokenLimits{Scopes: req.Scopes}
	for _, sc := range req.Scopes {
		if !access.KnownScope(sc) {
			return "", api.TokenInfo{}, errUnknownScope(sc)
		}
	}
	var resources []store.TokenResource
	channels := map[int64]store.Channel{} // the new token's, by id
	if len(req.Resources) > 0 {
		limits.Resources = map[int64]access.Level{}
		for _, res := range req.Resources {
			lvl, ok := access.ParseLevel(res.Level)
			if !ok {
				return "", api.TokenInfo{}, errBadRequest("resource " + strconv.Quote(res.Channel) + `: level must be "read", "write" or "manage"`)
			}
			ch, err := s.channelByName(ctx, res.Channel)
			if err != nil {
				return "", api.TokenInfo{}, err
			}
			if !access.Visible(c.principal, resourceOf(ch)) {
				return "", api.TokenInfo{}, &store.NotFoundError{Kind: "channel", Name: res.Channel}
			}
			resources = append(resources, store.TokenResource{ChannelID: ch.ID, Level: lvl})
			limits.Resources[ch.ID] = max(limits.Resources[ch.ID], lvl)
			channels[ch.ID] = ch
		}
	}
	// Compared as asked: with no scopes, "it has no scope limits", as the docs say.
	if b := access.Compare(limits, c.principal.Token, func(id int64) int64 { return channels[id].ParentID }); b.Wider() {
		fix := ""
		if len(limits.Scopes) == 0 && len(b.Actions) > 0 {
			fix = "Give it scopes within those of the token asking (\"scopes\" in the API; wharf auth --create --scopes '" +
				strings.Join(c.principal.Token.Scopes, " ") + "')"
		}
		return "", api.TokenInfo{}, broaderError("a token may only make tokens no broader than itself, and the new one would be broader", b, c.principal.Token, fix)
	}
	if limits.Scopes == nil && limits.Resources == nil {
		limits.Scopes = []string{"all"} // as the owner, and say so
	}
	now := s.opts.Now()
	expires := now.Add(365 * 24 * time.Hour)
	if req.Expires != "" {
		if expires, err = parseExpiry(req.Expires, now); err != nil {
			return "", api.TokenInfo{}, errBadRequest(err.Error())
		}
	}
	if maxExp := s.maxExpiry(c, now); expires.After(maxExp) {
		if req.Expires != "" {
			return "", api.TokenInfo{}, errBadRequest(pastMaxExpiry(c, maxExp))
		}
		expires = maxExp // the default year, shortened to what the server or the token allows
	}
	if !expires.After(now) {
		return "", api.TokenInfo{}, errBadRequest("the expiry is in the past")
	}
	strength := req.Strength
	switch strength {
	case "", "strong":
		strength = "strong"
	case "weak":
	default:
		return "", api.TokenInfo{}, errBadRequest(`strength must be "strong" (256 bits) or "weak" (128 bits)`)
	}
	kind := byte(token.KindScope)
	kindName := "scope"
	if len(resources) > 0 {
		kind, kindName = token.KindResource, "resource"
	}
	secret, err := newSecret(kind, strength)
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	maker, err := s.tokenMaker(ctx, c)
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	t, err := s.store.CreateToken(ctx, store.Token{OwnerUserID: userID, OwnerOrgID: orgID, CreatedBy: maker, Name: req.Name,
		Description: req.Description, Hash: token.Hash(secret), Kind: kindName, Strength: strength, Scopes: limits.Scopes,
		Resources: resources, ExpiresAt: expires})
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	s.log.InfoContext(ctx, "token created", "request_id", requestID(ctx), "token_id", t.ID, "owner", owner, "by", c.principal.Name)
	ti, err := s.tokenInfo(ctx, t, owner, nil)
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	return secret, ti, nil
}

// tokenMaker is who a new token is made by: the signed-in user, or for an organization token
// making one, that token's own maker, so that the new one works while that owner is one.
func (s *Server) tokenMaker(ctx context.Context, c *call) (int64, error) {
	if c.principal.ActingOrg == 0 || c.principal.Token == nil {
		return c.principal.UserID, nil
	}
	t, err := s.store.TokenOf(ctx, 0, c.principal.ActingOrg, strconv.FormatInt(c.principal.Token.ID, 10))
	if store.IsNotFound(err) {
		return 0, errBadToken // revoked while this request was on its way
	}
	return t.CreatedBy, err
}

// pastMaxExpiry says why an expiry is too late: the server's longest lifetime, or the
// expiry of the token asking.
func pastMaxExpiry(c *call, maxExp time.Time) string {
	if tok := c.principal.Token; tok != nil && tok.ExpiresAt.Equal(maxExp) {
		return "the expiry is past that of the token making the request (" + maxExp.Format(time.RFC3339) +
			"): a token may not make or extend one that outlives itself; ask for an earlier expiry, or sign in with your password"
	}
	return "the expiry is past the latest this server allows now (" + maxExp.Format(time.RFC3339) + ")"
}

// broaderError is the refusal of a token that would allow more than the one asking: it says
// which part is broader, and how to do it anyway.
// fix, when not empty, is a first way out, said before the others.
func broaderError(what string, b access.Breadth, asking *access.TokenLimits, fix string) error {
	var parts []string
	if len(b.Actions) > 0 {
		acts := b.Actions
		more := ""
		if len(acts) > 4 {
			acts, more = acts[:4], fmt.Sprintf(" and %d more", len(b.Actions)-4)
		}
		by := "it has no scope limits, so it allows "
		if len(b.Scopes) > 0 {
			by = "its scopes " + strings.Join(b.Scopes, " ") + " allow "
		}
		parts = append(parts, by+strings.Join(acts, ", ")+more+", which the scopes of the token asking ("+strings.Join(asking.Scopes, " ")+") do not")
	}
	if b.AllChannels || len(b.Channels) > 0 {
		// Only scope tokens make tokens (resource tokens may not), so this is for safety.
		parts = append(parts, "it reaches channels the token asking does not")
	}
	ways := "Sign in with your password instead"
	if fix != "" {
		ways = fix + ", or sign in with your password instead"
	}
	return errForbidden(what + ": " + strings.Join(parts, "; ") +
		". " + ways + " (wharf: --username NAME with WHARF_PASSWORD), or with a token that allows it (wharf login --scopes …)")
}

func newSecret(kind byte, strength string) (string, error) {
	n := token.StrongLen
	if strength == "weak" {
		n = token.WeakLen
	}
	return token.New(kind, n)
}

func (s *Server) apiListTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	userID, orgID, owner, err := s.tokenOwner(r, c, "")
	if err != nil {
		return err
	}
	out, err := s.listTokens(r.Context(), userID, orgID, owner)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// listTokens lists an owner's tokens (as tokenOwner names them) for the API and the pages.
func (s *Server) listTokens(ctx context.Context, userID, orgID int64, owner string) ([]api.TokenInfo, error) {
	toks, err := s.store.Tokens(ctx, userID, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]api.TokenInfo, 0, len(toks))
	names := map[int64]string{}
	for _, t := range toks {
		ti, err := s.tokenInfo(ctx, t, owner, names)
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, nil
}

func (s *Server) apiCurrentToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.principal.Token == nil {
		return errBadRequest("this request carries no token: send one to see what it is")
	}
	userID, orgID := c.principal.UserID, c.principal.ActingOrg
	if orgID != 0 {
		userID = 0
	}
	t, err := s.store.TokenOf(r.Context(), userID, orgID, strconv.FormatInt(c.principal.Token.ID, 10))
	if err != nil {
		return err
	}
	ti, err := s.tokenInfo(r.Context(), t, c.principal.Name, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ti)
}

type editTokenRequest struct {
	Name    *string `json:"name"`
	Expires *string `json:"expires"`
	Reissue bool    `json:"reissue"`
}

// ownToken finds the token a PATCH or DELETE names, among the owner's.
func (s *Server) ownToken(r *http.Request, c *call) (store.Token, string, error) {
	return s.ownTokenOf(r, c, "")
}

// ownTokenOf is ownToken among the tokens of org (when not ""), which the caller must manage.
func (s *Server) ownTokenOf(r *http.Request, c *call, org string) (store.Token, string, error) {
	userID, orgID, owner, err := s.tokenOwner(r, c, org)
	if err != nil {
		return store.Token{}, "", err
	}
	t, err := s.store.TokenOf(r.Context(), userID, orgID, r.PathValue("token"))
	return t, owner, err
}

// resourceParents gives, for Compare, the parents of the channels t's resources name.
func (s *Server) resourceParents(ctx context.Context, t store.Token) (func(int64) int64, error) {
	parents := map[int64]int64{}
	for _, res := range t.Resources {
		ch, err := s.store.ChannelByID(ctx, res.ChannelID)
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		parents[res.ChannelID] = ch.ParentID
	}
	return func(id int64) int64 { return parents[id] }, nil
}

func limitsOf(t store.Token) *access.TokenLimits {
	l := &access.TokenLimits{ID: t.ID, Scopes: t.Scopes, ExpiresAt: t.ExpiresAt}
	if len(t.Resources) > 0 {
		l.Resources = map[int64]access.Level{}
		for _, res := range t.Resources {
			l.Resources[res.ChannelID] = max(l.Resources[res.ChannelID], res.Level)
		}
	}
	return l
}

func (s *Server) apiEditToken(w http.ResponseWriter, r *http.Request, c *call) error {
	var req editTokenRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	t, owner, err := s.ownToken(r, c)
	if err != nil {
		return err
	}
	secret, ti, err := s.editToken(r.Context(), c, t, owner, req)
	if err != nil {
		return err
	}
	out := map[string]any{"info": ti}
	if secret != "" {
		out["token"] = secret
	}
	return writeJSON(w, http.StatusOK, out)
}

// editToken renames, extends or reissues (new secret, returned once) the token t of owner,
// with every check: the API and the pages both come here.
func (s *Server) editToken(ctx context.Context, c *call, t store.Token, owner string, req editTokenRequest) (string, api.TokenInfo, error) {
	// A token may not lengthen or reissue a broader one: it would hand out more than it holds.
	if req.Reissue || req.Expires != nil {
		parents, err := s.resourceParents(ctx, t)
		if err != nil {
			return "", api.TokenInfo{}, err
		}
		lim := limitsOf(t)
		if b := access.Compare(lim, c.principal.Token, parents); b.Wider() {
			return "", api.TokenInfo{}, broaderError("a token may only extend or reissue tokens no broader than itself, and token "+t.Name+" is broader", b, c.principal.Token, "")
		}
	}
	var up store.TokenUpdate
	if req.Name != nil {
		if err := validTokenName(*req.Name); err != nil {
			return "", api.TokenInfo{}, errBadRequest(err.Error())
		}
		up.Name = req.Name
	}
	now := s.opts.Now()
	if req.Expires != nil {
		exp, err := parseExpiry(*req.Expires, now)
		if err != nil {
			return "", api.TokenInfo{}, errBadRequest(err.Error())
		}
		if maxExp := s.maxExpiry(c, now); exp.After(maxExp) {
			return "", api.TokenInfo{}, errBadRequest(pastMaxExpiry(c, maxExp))
		}
		if !exp.After(now) {
			return "", api.TokenInfo{}, errBadRequest("the expiry is in the past: to end a token now, revoke it")
		}
		up.ExpiresAt = &exp
	}
	// A new secret must not outlive the token that asks for it.
	if req.Reissue && c.principal.Token != nil && t.ExpiresAt.After(c.principal.Token.ExpiresAt) && (up.ExpiresAt == nil || up.ExpiresAt.After(c.principal.Token.ExpiresAt)) {
		return "", api.TokenInfo{}, errForbidden("a token may only reissue tokens that expire no later than itself (" + c.principal.Token.ExpiresAt.Format(time.RFC3339) +
			"): give the reissued one an earlier expiry (expires), or sign in with your password")
	}
	var secret string
	var err error
	if req.Reissue {
		kind := byte(token.KindScope)
		if t.Kind == "resource" {
			kind = token.KindResource
		}
		if secret, err = newSecret(kind, t.Strength); err != nil {
			return "", api.TokenInfo{}, err
		}
		h := token.Hash(secret)
		up.Hash = &h
	}
	t, err = s.store.UpdateToken(ctx, t.ID, up)
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	s.log.InfoContext(ctx, "token changed", "request_id", requestID(ctx), "token_id", t.ID, "reissued", req.Reissue, "by", c.principal.Name)
	ti, err := s.tokenInfo(ctx, t, owner, nil)
	if err != nil {
		return "", api.TokenInfo{}, err
	}
	return secret, ti, nil
}

func (s *Server) apiRemoveToken(w http.ResponseWriter, r *http.Request, c *call) error {
	t, _, err := s.ownToken(r, c)
	if err != nil {
		return err
	}
	if err := s.removeToken(r.Context(), c, t); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeToken revokes t: its secret stops working when this returns.
func (s *Server) removeToken(ctx context.Context, c *call, t store.Token) error {
	if err := s.store.DeleteToken(ctx, t.ID); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "token revoked", "request_id", requestID(ctx), "token_id", t.ID, "by", c.principal.Name)
	return nil
}
