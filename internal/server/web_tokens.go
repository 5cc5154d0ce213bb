package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/store"
)

// The token pages: a list of the viewer's tokens and those of the orgs they own, a form to
// make one, and the page that shows a secret once. Every operation is the API's (createToken,
// editToken, removeToken in tokens.go), with its checks; the pages know people by their
// session only, so a token never acts on them.

// scopeGroup is one fieldset of scope checkboxes.
type scopeGroup struct {
	Name   string
	Scopes []access.Scope
}

// legacyScopes are the categories of anaconda.org's scope names, shown apart from Anaconda
// Server's `category:action` ones.
var legacyScopes = []string{"all", "api", "conda", "pypi", "repos"}

// scopeGroups groups access.Scopes by category, in the table's order.
func scopeGroups() []scopeGroup {
	const legacy = "anaconda.org"
	var out []scopeGroup
	at := map[string]int{}
	for _, sc := range access.Scopes {
		cat, _, _ := strings.Cut(sc.Name, ":")
		if slices.Contains(legacyScopes, cat) {
			cat = legacy
		}
		i, ok := at[cat]
		if !ok {
			i = len(out)
			at[cat] = i
			out = append(out, scopeGroup{Name: cat})
		}
		out[i].Scopes = append(out[i].Scopes, sc)
	}
	return out
}

type expiryChoice struct{ Value, Label string }

// expiryChoices are the lifetimes offered in a select: those of 7, 30, 90 and 365 days that
// the server allows, or the longest it allows when none is.
func (s *Server) expiryChoices() []expiryChoice {
	var out []expiryChoice
	for _, d := range []int{7, 30, 90, 365} {
		if time.Duration(d)*24*time.Hour <= s.opts.MaxTokenLifetime {
			label := fmt.Sprintf("%d days", d)
			if d == 365 {
				label = "a year"
			}
			out = append(out, expiryChoice{fmt.Sprintf("%dd", d), label})
		}
	}
	if len(out) == 0 {
		out = append(out, expiryChoice{s.opts.MaxTokenLifetime.String(), s.opts.MaxTokenLifetime.String()})
	}
	return out
}

// expiryField is the expiry a form asks for: the date when one is given, else the select's
// lifetime.
func expiryField(r *http.Request) string {
	if on := strings.TrimSpace(r.PostFormValue("expires_on")); on != "" {
		return on
	}
	return strings.TrimSpace(r.PostFormValue("expires"))
}

type resourceRow struct{ Channel, Level string }

// tokenForm is the new-token page: the choices, and what was asked when it comes back with
// an error.
type tokenForm struct {
	expiryFields
	Groups    []scopeGroup
	Channels  []string
	Orgs      []string
	Levels    []string
	Name      string
	Desc      string
	Org       string
	Scopes    []string
	Resources []resourceRow
	Strength  string
}

// expiryFields are what the forms that set an expiry show (partials/token_expiry.html): the
// lifetimes offered, the one chosen or a date, and the dates allowed; and whether they ask for
// the password (the session is older than reauthWindow).
type expiryFields struct {
	Expiries           []expiryChoice
	Expires, ExpiresOn string
	Today, MaxDate     string
	Confirm            bool
}

// setExpiryFields fills the choices, and the longest lifetime when none was chosen.
func (s *Server) setExpiryFields(r *http.Request, c *call, f *expiryFields) {
	now := s.opts.Now()
	f.Expiries = s.expiryChoices()
	f.Today = now.UTC().Format(time.DateOnly)
	f.MaxDate = s.maxExpiry(c, now).UTC().Add(-24 * time.Hour).Format(time.DateOnly) // a date runs to the end of its day
	if f.Expires == "" && f.ExpiresOn == "" {
		f.Expires = f.Expiries[len(f.Expiries)-1].Value
	}
	f.Confirm = !s.signedInRecently(r)
}

// ownedOrgs are the names of the orgs whose tokens the viewer manages.
func (s *Server) ownedOrgs(r *http.Request, c *call) ([]string, error) {
	roles, err := s.store.UserOrgs(r.Context(), c.principal.UserID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range roles {
		if o.Role == access.RoleOwner {
			out = append(out, o.Org)
		}
	}
	return out, nil
}

// fillTokenForm adds the choices to a form: scopes, the channels the viewer may see, the orgs
// they own.
func (s *Server) fillTokenForm(r *http.Request, c *call, f *tokenForm) error {
	visible, err := s.visibleChannels(r.Context(), c.principal, nil)
	if err != nil {
		return err
	}
	for _, ch := range visible {
		f.Channels = append(f.Channels, ch.Name)
	}
	if f.Orgs, err = s.ownedOrgs(r, c); err != nil {
		return err
	}
	s.setExpiryFields(r, c, &f.expiryFields)
	f.Groups = scopeGroups()
	f.Levels = []string{"read", "write", "manage"}
	if f.Strength == "" {
		f.Strength = "strong"
	}
	for len(f.Resources) < 3 {
		f.Resources = append(f.Resources, resourceRow{Level: "read"})
	}
	return nil
}

func (s *Server) pageNewToken(w http.ResponseWriter, r *http.Request, c *call) error {
	f := tokenForm{Org: r.URL.Query().Get("org")}
	if err := s.fillTokenForm(r, c, &f); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "token_new", s.page(c, "New token", f))
}

// pageCreateToken makes a token from the form and answers with its secret, once: the answer
// is the page itself (never a redirect to one), and is not kept by caches.
func (s *Server) pageCreateToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Desc: strings.TrimSpace(r.PostFormValue("description")),
		Org: r.PostFormValue("org"), Scopes: r.PostForm["scope"], Strength: r.PostFormValue("strength"),
		expiryFields: expiryFields{Expires: strings.TrimSpace(r.PostFormValue("expires")), ExpiresOn: strings.TrimSpace(r.PostFormValue("expires_on"))}}
	req := api.NewTokenRequest{Name: f.Name, Description: f.Desc, Org: f.Org, Scopes: f.Scopes, Expires: expiryField(r), Strength: f.Strength}
	chans, levels := r.PostForm["resource_channel"], r.PostForm["resource_level"]
	var err error
	if len(chans) != len(levels) {
		err = errBadRequest("each channel row needs a channel and a level")
	}
	for i := range min(len(chans), len(levels)) {
		f.Resources = append(f.Resources, resourceRow{chans[i], levels[i]})
		if chans[i] != "" {
			req.Resources = append(req.Resources, api.TokenResource{Channel: chans[i], Level: levels[i]})
		}
	}
	var secret string
	var ti api.TokenInfo
	if err == nil {
		err = s.confirmSignIn(w, r, c)
	}
	if err == nil {
		secret, ti, err = s.createToken(r, c, req)
	}
	if err != nil {
		he, ok := userFault(err)
		if !ok {
			return err
		}
		if ferr := s.fillTokenForm(r, c, &f); ferr != nil {
			return ferr
		}
		p := s.page(c, "New token", f)
		p.Error = he.message
		return s.render(w, r, he.status, "token_new", p)
	}
	return s.renderSecret(w, r, c, http.StatusCreated, secret, ti, false)
}

// tokenSecret is the page that shows a secret, with the lines that use it.
type tokenSecret struct {
	Secret   string
	Info     api.TokenInfo
	Reissued bool
	Channel  string
	// The lines, ready to copy.
	CondaAlias, CondaOnce, Pip string
}

func (s *Server) renderSecret(w http.ResponseWriter, r *http.Request, c *call, status int, secret string, ti api.TokenInfo, reissued bool) error {
	channel := ti.Owner // every user and org has a channel of its name
	for _, res := range ti.Resources {
		if res.Channel != "(deleted channel)" {
			channel = res.Channel
			break
		}
	}
	d := tokenSecret{Secret: secret, Info: ti, Reissued: reissued, Channel: channel,
		CondaAlias: fmt.Sprintf("conda config --set channel_alias \"%s/t/%s/conda\"\nconda install -c %s <package>", s.publicURL(), secret, channel),
		CondaOnce:  fmt.Sprintf("conda install -c \"%s\" <package>", s.condaURL(channel, "", secret)),
		Pip:        fmt.Sprintf("pip install --index-url \"%s\" <package>", s.pipURL(channel, secret)),
	}
	title := "Token created"
	if reissued {
		title = "Token reissued"
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	return s.render(w, r, status, "token_secret", s.page(c, title, d))
}

// tokenRow is one line of the list.
type tokenRow struct {
	api.TokenInfo
	Expired bool
}

type tokensList struct {
	expiryFields // for the extend and reissue forms
	Tokens       []tokenRow
	Orgs         []string
}

// pageTokens lists the viewer's tokens, and the tokens of the orgs they own.
func (s *Server) pageTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	orgs, err := s.ownedOrgs(r, c)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	d := tokensList{Orgs: orgs}
	s.setExpiryFields(r, c, &d.expiryFields)
	add := func(list []api.TokenInfo) {
		for _, ti := range list {
			d.Tokens = append(d.Tokens, tokenRow{ti, ti.IsExpired(now)})
		}
	}
	mine, err := s.listTokens(ctx, c.principal.UserID, 0, c.principal.Name)
	if err != nil {
		return err
	}
	add(mine)
	for _, name := range orgs {
		org, err := s.store.OrgByName(ctx, name)
		if store.IsNotFound(err) {
			continue // gone since
		} else if err != nil {
			return err
		}
		list, err := s.listTokens(ctx, 0, org.ID, org.Name)
		if err != nil {
			return err
		}
		add(list)
	}
	return s.render(w, r, http.StatusOK, "tokens", s.page(c, "Tokens", d))
}

// formToken finds the token a row's form names, among the viewer's or, with the form's
// "org", that org's. Another owner's token is not found.
func (s *Server) formToken(w http.ResponseWriter, r *http.Request, c *call) (store.Token, string, error) {
	if err := form(w, r); err != nil {
		return store.Token{}, "", err
	}
	return s.ownTokenOf(r, c, r.PostFormValue("org"))
}

func (s *Server) pageRenameToken(w http.ResponseWriter, r *http.Request, c *call) error {
	t, owner, err := s.formToken(w, r, c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, _, err := s.editToken(r.Context(), c, t, owner, editTokenRequest{Name: &name}); err != nil {
		return s.redirectError(w, r, "/tokens", err)
	}
	return s.redirect(w, r, "/tokens", "The token "+t.Name+" is now named "+name+".")
}

func (s *Server) pageExtendToken(w http.ResponseWriter, r *http.Request, c *call) error {
	t, owner, err := s.formToken(w, r, c)
	if err != nil {
		return err
	}
	exp := expiryField(r)
	if exp == "" {
		return s.redirectError(w, r, "/tokens", errBadRequest("choose how long the token "+t.Name+" is to live"))
	}
	if err := s.confirmSignIn(w, r, c); err != nil {
		return s.redirectError(w, r, "/tokens", err)
	}
	_, ti, err := s.editToken(r.Context(), c, t, owner, editTokenRequest{Expires: &exp})
	if err != nil {
		return s.redirectError(w, r, "/tokens", err)
	}
	return s.redirect(w, r, "/tokens", "The token "+t.Name+" now expires on "+ti.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")+".")
}

// pageReissueToken gives the token a new secret, shown once; the old one stops working.
func (s *Server) pageReissueToken(w http.ResponseWriter, r *http.Request, c *call) error {
	t, owner, err := s.formToken(w, r, c)
	if err != nil {
		return err
	}
	if err := s.confirmSignIn(w, r, c); err != nil {
		return s.redirectError(w, r, "/tokens", err)
	}
	secret, ti, err := s.editToken(r.Context(), c, t, owner, editTokenRequest{Reissue: true})
	if err != nil {
		return s.redirectError(w, r, "/tokens", err)
	}
	return s.renderSecret(w, r, c, http.StatusOK, secret, ti, true)
}

func (s *Server) pageRevokeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	t, _, err := s.formToken(w, r, c)
	if err != nil {
		return err
	}
	if err := s.removeToken(r.Context(), c, t); err != nil {
		return s.redirectError(w, r, "/tokens", err)
	}
	return s.redirect(w, r, "/tokens", "The token "+t.Name+" is revoked: its secret no longer works.")
}

// reauthWindow is how long after signing in a session may make, extend or reissue tokens
// without the password again: a token outlives the session, so a stolen session cookie must
// not be enough to mint one.
const reauthWindow = 15 * time.Minute

func (s *Server) signedInRecently(r *http.Request) bool {
	se, ok := currentSession(r.Context())
	return ok && s.opts.Now().Sub(se.CreatedAt) <= reauthWindow
}

// confirmSignIn lets a token form through when the session is fresh, or when the form carries
// the account's password; the password starts a new session, fresh for reauthWindow.
func (s *Server) confirmSignIn(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.signedInRecently(r) {
		return nil
	}
	pw := r.PostFormValue("password")
	if pw == "" {
		return errForbidden("confirm your password: you signed in more than 15 minutes ago, and making, extending or reissuing a token needs a recent sign-in")
	}
	u, err := s.checkOwnPassword(r, c.principal.UserID, pw, "password")
	if err != nil {
		return err
	}
	return s.renewSession(w, r, u)
}
