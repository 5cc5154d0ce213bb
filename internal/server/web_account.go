package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/store"
)

// ---- sign-in and sign-out

type loginData struct {
	Next, Username string
	Unverified     bool
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request, c *call) error {
	next := localPath(r.URL.Query().Get("next"))
	if !c.principal.Anonymous() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "login", s.page(c, "Sign in", loginData{Next: next}))
}

// pageLoginPost signs in with a name (or address) and password. Failures spend the same
// budgets as HTTP Basic sign-ins, and say the same thing whether or not the account exists.
func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	name, pass := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	again := func(status int, msg string, unverified bool) error {
		p := s.page(c, "Sign in", loginData{Next: next, Username: name, Unverified: unverified})
		p.Error = msg
		return s.render(w, r, status, "login", p)
	}
	if name == "" || pass == "" || len(name) > 256 || len(pass) > 4096 {
		return again(http.StatusBadRequest, "Enter your user name (or email) and password.", false)
	}
	var u store.User
	var err error
	if strings.Contains(name, "@") {
		u, err = s.store.UserByEmail(ctx, name)
	} else {
		u, err = s.userNamed(ctx, name)
	}
	if err != nil && !store.IsNotFound(err) {
		return err
	}
	// Budgets are the account's, whichever of its name, another spelling of it or its address
	// was typed: the right password by address must not get past a budget that guesses by
	// name spent. An unknown name's budget is its key's, which all its spellings share.
	account := names.Key(name)
	if u.ID != 0 {
		account = u.Name
	}
	ok, rehash, err := s.signins.verify(ctx, account, clientAddr(r), u.PasswordHash, pass, u.ID != 0)
	if err != nil {
		he, fixable := userFault(err)
		if !fixable {
			return err
		}
		if he.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(he.retryAfter.Seconds())))
		}
		return again(he.status, he.message, false)
	}
	if !ok {
		return again(http.StatusUnauthorized, "Wrong user name or password.", false)
	}
	if rehash {
		s.upgradeHash(ctx, u, pass)
	}
	if u.Disabled {
		return again(http.StatusForbidden, "This account is disabled; ask an administrator.", false)
	}
	if !u.EmailVerified {
		return again(http.StatusForbidden, "Confirm your email address first: follow the link in the mail sent at sign-up.", true)
	}
	// A session the browser already had (another account's, or a stolen cookie planted in it)
	// ends here: sign-in always makes a new one.
	if err := s.renewSession(w, r, u); err != nil {
		return err
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) pageLogoutPost(w http.ResponseWriter, r *http.Request, c *call) error {
	if se, ok := currentSession(r.Context()); ok {
		if err := s.store.DeleteSession(r.Context(), se.UserID, se.ID); err != nil && !store.IsNotFound(err) {
			return err
		}
	}
	s.clearSessionCookie(w, r)
	return s.redirect(w, r, "/", "You are signed out.")
}

// ---- sign-up, confirmation, reset

type signupData struct {
	Username, Email, InviteCode string
	Invite                      bool
	Sent                        string
}

func (s *Server) pageSignup(w http.ResponseWriter, r *http.Request, c *call) error {
	mode := s.signupMode(r.Context())
	if mode == SignupClosed {
		return errForbidden("sign-up is closed on this server: ask an administrator for an account")
	}
	if r.URL.Query().Get("invite") != "" {
		w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the invitation's secret
	}
	return s.render(w, r, http.StatusOK, "signup", s.page(c, "Create an account",
		signupData{Invite: mode == SignupInvite, InviteCode: r.URL.Query().Get("invite"), Email: r.URL.Query().Get("email")}))
}

func (s *Server) pageSignupPost(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	req := api.SignupRequest{Username: strings.TrimSpace(r.PostFormValue("username")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Password: r.PostFormValue("password"), Invite: strings.TrimSpace(r.PostFormValue("invite"))}
	name, active, err := s.signup(r, c, req)
	if he, ok := userFault(err); err != nil && ok {
		p := s.page(c, "Create an account", signupData{Username: req.Username, Email: req.Email, InviteCode: req.Invite,
			Invite: s.signupMode(r.Context()) == SignupInvite})
		p.Error = he.message
		return s.render(w, r, he.status, "signup", p)
	} else if err != nil {
		return err
	}
	if active {
		return s.redirect(w, r, "/login", "The account "+name+" is ready: sign in.")
	}
	return s.render(w, r, http.StatusAccepted, "signup", s.page(c, "Create an account",
		signupData{Sent: "Check your mail: " + signupAnswer + "."}))
}

type formSpec struct {
	Action, Token, Button string
	Password, Email       bool
}

type linkSpec struct{ Href, Text string }

type messageData struct {
	Message string
	Form    *formSpec
	Link    *linkSpec
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, c *call, status int, title string, d messageData) error {
	return s.render(w, r, status, "message", s.page(c, title, d))
}

// GET shows a button; only the POST it sends changes anything (mail scanners follow links).
func (s *Server) pageVerify(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the link's secret
	return s.message(w, r, c, http.StatusOK, "Confirm your address", messageData{Message: "Press the button to confirm the address of your Wharf account.",
		Form: &formSpec{Action: "/account/verify", Token: r.URL.Query().Get("token"), Button: "Confirm"}})
}

func (s *Server) pageVerifyPost(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	u, err := s.verifyEmail(r.Context(), r.PostFormValue("token"))
	if he, ok := userFault(err); err != nil && ok {
		return s.message(w, r, c, he.status, "Not confirmed", messageData{Message: "The confirmation link is unknown, used or expired. Ask for a new one:",
			Form: &formSpec{Action: "/account/verify/resend", Email: true, Button: "Send a new link"}})
	} else if err != nil {
		return err
	}
	return s.message(w, r, c, http.StatusOK, "Address confirmed", messageData{Message: "The account " + u.Name + " is active: you can sign in.",
		Link: &linkSpec{"/login", "Sign in"}})
}

func (s *Server) pageResendPost(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	if err := s.resendVerification(r, c, strings.TrimSpace(r.PostFormValue("email"))); err != nil {
		return err
	}
	return s.message(w, r, c, http.StatusAccepted, "Check your mail", messageData{Message: resendAnswer + "."})
}

func (s *Server) pageReset(w http.ResponseWriter, r *http.Request, c *call) error {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return s.message(w, r, c, http.StatusOK, "Reset your password", messageData{Message: "Enter the address of your account; a link to choose a new password will be mailed to it.",
			Form: &formSpec{Action: "/account/reset", Email: true, Button: "Mail me a link"}})
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	return s.message(w, r, c, http.StatusOK, "Choose a new password", messageData{Message: "At least 8 characters; a phrase of several words is good. Every browser signed in to the account is signed out.",
		Form: &formSpec{Action: "/account/reset", Token: tok, Password: true, Button: "Set the password"}})
}

// pageResetPost asks for a reset link (a form with an address) or uses one (a form with the
// link's token and the new password).
func (s *Server) pageResetPost(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	tok := r.PostFormValue("token")
	if tok == "" {
		if err := s.requestReset(r, c, strings.TrimSpace(r.PostFormValue("email"))); err != nil {
			he, ok := userFault(err)
			if !ok {
				return err
			}
			if he.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(he.retryAfter.Seconds())))
			}
			return s.message(w, r, c, he.status, "Reset your password", messageData{Message: he.message,
				Form: &formSpec{Action: "/account/reset", Email: true, Button: "Mail me a link"}})
		}
		return s.message(w, r, c, http.StatusAccepted, "Check your mail", messageData{Message: resetAnswer + "."})
	}
	u, err := s.resetPassword(r.Context(), tok, r.PostFormValue("password"))
	if he, ok := userFault(err); err != nil && ok {
		d := messageData{Message: he.message}
		if strings.HasPrefix(he.message, "password:") {
			d.Form = &formSpec{Action: "/account/reset", Token: tok, Password: true, Button: "Set the password"}
		} else {
			d.Link = &linkSpec{"/account/reset", "Ask for a new link"}
		}
		return s.message(w, r, c, he.status, "Password not changed", d)
	} else if err != nil {
		return err
	}
	return s.message(w, r, c, http.StatusOK, "Password changed", messageData{Message: "The password of " + u.Name + " is changed, and every browser that was signed in is signed out.",
		Link: &linkSpec{"/login", "Sign in"}})
}

// ---- account settings

type sessionRow struct {
	store.Session
	Current bool
}

type settingsData struct {
	User     store.User
	Orgs     []store.OrgRole
	Sessions []sessionRow
}

func (s *Server) pageSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	u, err := s.store.UserByID(ctx, c.principal.UserID)
	if err != nil {
		return err
	}
	orgs, err := s.store.UserOrgs(ctx, u.ID)
	if err != nil {
		return err
	}
	list, err := s.store.Sessions(ctx, u.ID, time.Now())
	if err != nil {
		return err
	}
	cur, _ := currentSession(ctx)
	d := settingsData{User: u, Orgs: orgs}
	for _, se := range list {
		if time.Since(se.LastSeenAt) > sessionIdle && se.ID != cur.ID {
			continue // ended by disuse, though its row is still there
		}
		d.Sessions = append(d.Sessions, sessionRow{Session: se, Current: se.ID == cur.ID})
	}
	return s.render(w, r, http.StatusOK, "settings", s.page(c, "Account settings", d))
}

// pageChangePassword changes the password. The store ends every session of the account with
// it; this browser gets a new one, so only the others are signed out.
func (s *Server) pageChangePassword(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	u, err := s.changePassword(r, c.principal.UserID, r.PostFormValue("old_password"), r.PostFormValue("new_password"), "current password")
	if err != nil {
		return s.redirectError(w, r, "/settings", err)
	}
	if err := s.renewSession(w, r, u); err != nil {
		return err
	}
	return s.redirect(w, r, "/settings", "Your password is changed; every other browser is signed out.")
}

func (s *Server) pageEndSession(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNotFound("no such session")
	}
	if err := s.store.DeleteSession(r.Context(), c.principal.UserID, id); err != nil {
		return s.redirectError(w, r, "/settings", err)
	}
	return s.redirect(w, r, "/settings", "That browser is signed out.")
}

func (s *Server) pageEndOtherSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	cur, _ := currentSession(r.Context())
	n, err := s.store.DeleteSessions(r.Context(), c.principal.UserID, cur.ID)
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/settings", "Signed out of "+strconv.Itoa(n)+" other browser(s).")
}
