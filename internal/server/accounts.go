package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/passwords"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/token"
)

// Sign-up modes.
const (
	SignupClosed = "closed" // only admins create accounts
	SignupInvite = "invite" // an admin's invitation is needed
	SignupOpen   = "open"   // anyone
)

// How long mailed links live.
const (
	verifyTTL = 48 * time.Hour
	resetTTL  = time.Hour
	inviteTTL = 7 * 24 * time.Hour
)

// human writes a link's lifetime for a mail: "48 hours", "7 days".
func human(d time.Duration) string {
	switch h := int(d.Hours()); {
	case h%24 == 0 && h >= 48:
		return fmt.Sprintf("%d days", h/24)
	case h == 1:
		return "1 hour"
	default:
		return fmt.Sprintf("%d hours", h)
	}
}

// newLink returns a random secret (256 bits, for a mailed link or a session cookie) and the
// hash the store keeps of it, the same SHA-256 tokens get.
func newLink() (secret, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, token.Hash(secret)
}

func (s *Server) link(path, secret string) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + path + "?token=" + secret
}

// Mail that tells whether an address has an account (sign-up, confirmation, reset) is made and
// sent by work queued in s.mailq, after the answer: the answer, its content and its time, is
// the same whatever the address. The work logs its failures; the answer cannot depend on them.

// queueMail queues fn in the mail queue once the request's answer has gone out: even the work
// of queueing it, or a worker taking it at once, cannot delay the answer.
func (s *Server) queueMail(r *http.Request, c *call, what string, fn func(ctx context.Context) error) {
	s.mailq.hold() // counted from now: WaitMail after the answer waits for it
	c.after = append(c.after, func() { s.mailq.addHeld(r.Context(), what, fn) })
}

// trySendMail sends a mail in the request, for callers that must tell whether it was handed
// over (an administrator's test mail).
func (s *Server) trySendMail(ctx context.Context, m mail.Message) error {
	err := s.opts.Mail.Send(ctx, m)
	if err != nil {
		s.log.ErrorContext(ctx, "mail not sent", "request_id", requestID(ctx), "subject", m.Subject, "err", err)
	}
	return err
}

// mailBudget spends one mail to addr from the caller's address, or refuses with 429: anyone
// may ask for these mails, so without a limit anyone could flood an inbox or the outbox. The
// limit is keyed by the address asked for, whether or not it has an account, so a 429 tells
// nothing about accounts.
func (s *Server) mailBudget(r *http.Request, addr string) error {
	now, client := time.Now(), clientAddr(r)
	if ok, retry := s.opts.Mails.Allow(addr, client, now); !ok {
		return &httpError{status: http.StatusTooManyRequests, code: "too_many_mails",
			message: fmt.Sprintf("too many mails asked for; try again in %d seconds", int(retry.Seconds())), retryAfter: retry}
	}
	s.opts.Mails.Failed(addr, client, now)
	return nil
}

// accepted is the one answer of sign-up, reset and resend, whatever happened behind it.
func accepted(w http.ResponseWriter, msg string) error {
	return writeJSON(w, http.StatusAccepted, map[string]string{"message": msg})
}

const signupAnswer = "if the address can receive mail, a message is on its way to it: follow its link to activate the account"

func (s *Server) apiSignup(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.SignupRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	name, active, err := s.signup(r, c, req)
	if err != nil {
		return err
	}
	if active {
		return writeJSON(w, http.StatusCreated, map[string]string{"message": "account " + name + " created; you can sign in"})
	}
	return accepted(w, signupAnswer)
}

// signupMode is the sign-up mode an administrator set in the web UI, or the configured one.
func (s *Server) signupMode(ctx context.Context) string {
	if v, ok, err := s.store.Setting(ctx, settingSignup); err == nil && ok {
		return v
	} else if err != nil {
		s.warn(ctx, "reading the sign-up mode failed", "err", err)
	}
	return s.opts.Signup
}

const settingSignup = "signup"

// signup creates an account as the API and the web form ask. active says the account may sign
// in at once (it signed up with its invitation's address); otherwise the caller is told only
// signupAnswer, whatever happened.
func (s *Server) signup(r *http.Request, c *call, req api.SignupRequest) (name string, active bool, err error) {
	ctx := r.Context()
	mode := s.signupMode(ctx)
	switch mode {
	case SignupOpen:
	case SignupInvite:
		if req.Invite == "" {
			return "", false, errForbidden("sign-up on this server needs an invitation: send the token from the invitation mail as \"invite\"")
		}
	default:
		return "", false, errForbidden("sign-up is closed on this server: ask an administrator for an account")
	}
	if err := names.Account(req.Username); err != nil {
		return "", false, errBadRequest("username: " + err.Error())
	}
	if err := names.Email(req.Email); err != nil {
		return "", false, errBadRequest(err.Error())
	}
	if err := passwords.Check(req.Username, req.Password); err != nil {
		return "", false, errBadRequest("password: " + err.Error())
	}
	// The name is public (it is a channel's); it is checked before anything about the
	// address is, so that a taken name says nothing about the address.
	if err := s.store.NameFree(ctx, req.Username); err != nil {
		return "", false, err
	}
	verified := false
	if mode == SignupInvite {
		// Used up from here on, whatever the address turns out to be: an invitation that
		// survived some addresses and not others would tell which have accounts.
		inv, err := s.store.UseEmailToken(ctx, "invite", token.Hash(req.Invite), time.Now())
		if store.IsNotFound(err) {
			return "", false, errForbidden("the invitation is unknown, used or expired: ask for a new one")
		} else if err != nil {
			return "", false, err
		}
		// The invitation went to an address: signing up with that address proves it.
		verified = strings.EqualFold(inv.Email, req.Email)
	}
	if !verified {
		if err := s.mailBudget(r, req.Email); err != nil {
			return "", false, err
		}
	}
	hash, err := access.HashPasswordContext(ctx, req.Password)
	if err != nil {
		if ctx.Err() != nil {
			return "", false, errClientGone
		}
		return "", false, errBadRequest("password: " + err.Error())
	}
	if verified {
		// The invitation's own address: only its holder can ask, so the answer may tell.
		u, created, err := s.createAccount(ctx, req, hash, true)
		if err != nil {
			return "", false, err
		}
		return u.Name, created, nil
	}
	s.queueMail(r, c, "sign-up", func(ctx context.Context) error {
		_, _, err := s.createAccount(ctx, req, hash, false)
		return err
	})
	return req.Username, false, nil
}

// createAccount creates an account and, unless verified, mails its confirmation link; when
// the address already has an account, it tells that account's owner instead (created is then
// false). For a sign-up that needs confirming it runs in the mail queue, after the answer.
func (s *Server) createAccount(ctx context.Context, req api.SignupRequest, hash string, verified bool) (u store.User, created bool, err error) {
	base := strings.TrimRight(s.opts.PublicURL, "/")
	if _, err := s.store.UserByEmail(ctx, req.Email); err == nil {
		return store.User{}, false, s.opts.Mail.Send(ctx, mail.Message{To: req.Email, Subject: "Someone tried to sign up to Wharf with your address",
			Text: "Someone asked for a new Wharf account with this address, which already has one.\n\n" +
				"If it was you, sign in with your account, or reset its password at " + base + "/account/reset.\n" +
				"If it was not you, you can ignore this mail.\n"})
	} else if !store.IsNotFound(err) {
		return store.User{}, false, err
	}
	u, err = s.store.CreateUser(ctx, store.NewUser{Name: req.Username, Email: req.Email, EmailVerified: verified, PasswordHash: hash})
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Kind == "email" {
		return store.User{}, false, nil // lost a race with another sign-up of the address: same answer
	}
	if errors.As(err, &ce) && !verified {
		// The name was taken between the request's check and now; the request was answered
		// already, so the address hears of it.
		return store.User{}, false, s.opts.Mail.Send(ctx, mail.Message{To: req.Email, Subject: "Your Wharf sign-up did not go through",
			Text: fmt.Sprintf("Someone asked for the Wharf account %s with this address, but another sign-up took the name a moment before.\n\n"+
				"If it was you, sign up again with another name at %s/signup.\nIf it was not you, you can ignore this mail.\n", req.Username, base)})
	}
	if err != nil {
		return store.User{}, false, err
	}
	s.log.InfoContext(ctx, "account created", "request_id", requestID(ctx), "user", u.Name)
	if !verified {
		if err := s.mailVerification(ctx, u); err != nil {
			return store.User{}, false, err
		}
	}
	return u, true, nil
}

// mailVerification makes a confirmation link for an account and mails it.
func (s *Server) mailVerification(ctx context.Context, u store.User) error {
	secret, hash := newLink()
	if err := s.store.CreateEmailToken(ctx, store.EmailToken{Hash: hash, Purpose: "verify", UserID: u.ID, Email: u.Email, ExpiresAt: time.Now().Add(verifyTTL)}); err != nil {
		return err
	}
	return s.opts.Mail.Send(ctx, mail.Message{To: u.Email, Subject: "Confirm your Wharf account",
		Text: fmt.Sprintf("Welcome to Wharf, %s.\n\nConfirm your address to activate your account:\n\n  %s\n\nThe link works once, for %s. If you did not sign up, ignore this mail.\n",
			u.Name, s.link("/account/verify", secret), human(verifyTTL))})
}

type tokenRequest struct {
	Token string `json:"token"`
}

func (s *Server) verifyEmail(ctx context.Context, secret string) (store.User, error) {
	t, err := s.store.UseEmailToken(ctx, "verify", token.Hash(secret), time.Now())
	if store.IsNotFound(err) {
		return store.User{}, errBadRequest("the confirmation link is unknown, used or expired: ask for a new one with POST /api/v1/account/verify/resend")
	} else if err != nil {
		return store.User{}, err
	}
	yes := true
	return s.store.UpdateUser(ctx, t.UserID, store.UserUpdate{EmailVerified: &yes})
}

func (s *Server) apiVerify(w http.ResponseWriter, r *http.Request, c *call) error {
	var req tokenRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	u, err := s.verifyEmail(r.Context(), req.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"message": "address confirmed; " + u.Name + " can sign in"})
}

type emailRequest struct {
	Email string `json:"email"`
}

func (s *Server) apiResendVerification(w http.ResponseWriter, r *http.Request, c *call) error {
	var req emailRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := s.resendVerification(r, c, req.Email); err != nil {
		return err
	}
	return accepted(w, resendAnswer)
}

const resendAnswer = "if an account with this address waits for confirmation, a new link is on its way"

func (s *Server) resendVerification(r *http.Request, c *call, email string) error {
	if err := names.Email(email); err != nil {
		return errBadRequest(err.Error())
	}
	if err := s.mailBudget(r, email); err != nil {
		return err
	}
	s.queueMail(r, c, "confirmation link", func(ctx context.Context) error {
		u, err := s.store.UserByEmail(ctx, email)
		if store.IsNotFound(err) || err == nil && (u.EmailVerified || u.Disabled) {
			return nil
		} else if err != nil {
			return err
		}
		return s.mailVerification(ctx, u)
	})
	return nil
}

const resetAnswer = "if an account has this address, a message with a reset link is on its way to it"

func (s *Server) apiPasswordReset(w http.ResponseWriter, r *http.Request, c *call) error {
	var req emailRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := s.requestReset(r, c, req.Email); err != nil {
		return err
	}
	return accepted(w, resetAnswer)
}

// requestReset queues a reset link for the account of an address, if there is one; the caller
// is told the same either way, after the same work.
func (s *Server) requestReset(r *http.Request, c *call, email string) error {
	if err := names.Email(email); err != nil {
		return errBadRequest(err.Error())
	}
	if err := s.mailBudget(r, email); err != nil {
		return err
	}
	s.queueMail(r, c, "password reset", func(ctx context.Context) error { return s.mailReset(ctx, email) })
	return nil
}

// mailReset mails a reset link to the account of an address, if it has one that is enabled.
func (s *Server) mailReset(ctx context.Context, email string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if store.IsNotFound(err) || err == nil && u.Disabled {
		return nil
	} else if err != nil {
		return err
	}
	secret, hash := newLink()
	if err := s.store.CreateEmailToken(ctx, store.EmailToken{Hash: hash, Purpose: "reset", UserID: u.ID, Email: u.Email, ExpiresAt: time.Now().Add(resetTTL)}); err != nil {
		return err
	}
	return s.opts.Mail.Send(ctx, mail.Message{To: u.Email, Subject: "Reset your Wharf password",
		Text: fmt.Sprintf("Someone asked to reset the password of the Wharf account %s.\n\nTo choose a new password, open:\n\n  %s\n\nThe link works once, for %s, and stops working when the password changes. If you did not ask, ignore this mail: your password stays as it is.\n",
			u.Name, s.link("/account/reset", secret), human(resetTTL))})
}

type resetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (s *Server) resetPassword(ctx context.Context, secret, password string) (store.User, error) {
	t, err := s.store.UseEmailToken(ctx, "reset", token.Hash(secret), time.Now())
	if store.IsNotFound(err) {
		return store.User{}, errBadRequest("the reset link is unknown, used or expired: ask for a new one")
	} else if err != nil {
		return store.User{}, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return store.User{}, err
	}
	if err := passwords.Check(u.Name, password); err != nil {
		s.store.CreateEmailToken(ctx, t) // the link stays good for a better password
		return store.User{}, errBadRequest("password: " + err.Error())
	}
	hash, err := access.HashPassword(password)
	if err != nil {
		return store.User{}, errBadRequest("password: " + err.Error())
	}
	yes := true // the link reached the address
	u, err = s.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash, EmailVerified: &yes})
	if err == nil {
		s.log.InfoContext(ctx, "password reset", "request_id", requestID(ctx), "user", u.Name)
	}
	return u, err
}

func (s *Server) apiPasswordResetConfirm(w http.ResponseWriter, r *http.Request, c *call) error {
	var req resetConfirmRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if _, err := s.resetPassword(r.Context(), req.Token, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordChangeRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.principal.Token != nil {
		return errForbidden("a token may not change a password: sign in with the password itself")
	}
	var req passwordChangeRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if _, err := s.changePassword(r, c.principal.UserID, req.OldPassword, req.NewPassword, "old password"); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkOwnPassword checks a signed-in user's password under the sign-in budgets; what names it
// in the refusal ("old password", "current password").
func (s *Server) checkOwnPassword(r *http.Request, userID int64, password, what string) (store.User, error) {
	ctx := r.Context()
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return u, err
	}
	ok, rehash, err := s.signins.verify(ctx, u.Name, clientAddr(r), u.PasswordHash, password, true)
	if err != nil {
		return u, err
	}
	if !ok {
		return u, errForbidden("the " + what + " is wrong")
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	return u, nil
}

// changePassword sets a new password after checking the old one. The store ends every session
// of the account and every reset link with it.
func (s *Server) changePassword(r *http.Request, userID int64, old, new, oldWhat string) (store.User, error) {
	ctx := r.Context()
	u, err := s.checkOwnPassword(r, userID, old, oldWhat)
	if err != nil {
		return u, err
	}
	if err := passwords.Check(u.Name, new); err != nil {
		return u, errBadRequest("new password: " + err.Error())
	}
	hash, err := access.HashPasswordContext(ctx, new)
	if err != nil {
		return u, errBadRequest("new password: " + err.Error())
	}
	if u, err = s.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return u, err
	}
	s.log.InfoContext(ctx, "password changed", "request_id", requestID(ctx), "user", u.Name)
	return u, nil
}

// ---- administration

func toUserInfo(u store.User) api.UserInfo {
	return api.UserInfo{Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Admin: u.Admin, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func (s *Server) apiListUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := s.listUsers(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// The administration operations, shared by the API and the admin page; the route table has
// asked for access.AdminUsers.

func (s *Server) listUsers(ctx context.Context) ([]api.UserInfo, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.UserInfo, 0, len(users))
	for _, u := range users {
		out = append(out, toUserInfo(u))
	}
	return out, nil
}

// createUser creates an account with a confirmed address. With no password it makes one up
// and returns it, to be shown once to the administrator who asked.
func (s *Server) createUser(ctx context.Context, req api.NewUserRequest) (u store.User, generated string, err error) {
	if err := names.Account(req.Name); err != nil {
		return store.User{}, "", errBadRequest(err.Error())
	}
	if err := names.Email(req.Email); err != nil {
		return store.User{}, "", errBadRequest(err.Error())
	}
	if req.Password == "" {
		req.Password = access.GeneratePassword()
		generated = req.Password
	} else if err := passwords.Check(req.Name, req.Password); err != nil {
		return store.User{}, "", errBadRequest("password: " + err.Error())
	}
	hash, err := access.HashPassword(req.Password)
	if err != nil {
		return store.User{}, "", errBadRequest(err.Error())
	}
	u, err = s.store.CreateUser(ctx, store.NewUser{Name: req.Name, Email: req.Email, EmailVerified: true, PasswordHash: hash, Admin: req.Admin})
	if err != nil {
		return store.User{}, "", err
	}
	return u, generated, nil
}

// updateUser disables, enables, promotes or demotes an account; never the caller's own.
// Disabling ends the account's sessions (the store does) and stops its tokens (identify
// checks the account on each use).
func (s *Server) updateUser(ctx context.Context, c *call, name string, req api.UserUpdateRequest) (store.User, error) {
	u, err := s.userNamed(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	if u.ID == c.principal.UserID && (req.Disabled != nil && *req.Disabled || req.Admin != nil && !*req.Admin) {
		return store.User{}, errBadRequest("an administrator cannot disable or demote their own account; ask another administrator")
	}
	u, err = s.store.UpdateUser(ctx, u.ID, store.UserUpdate{Disabled: req.Disabled, Admin: req.Admin})
	if err != nil {
		return store.User{}, err
	}
	s.log.InfoContext(ctx, "account changed", "request_id", requestID(ctx), "user", u.Name, "disabled", u.Disabled, "admin", u.Admin, "by", c.principal.Name)
	return u, nil
}

// invite mails an invitation to sign up to an address.
func (s *Server) invite(ctx context.Context, c *call, email string) error {
	if err := names.Email(email); err != nil {
		return errBadRequest(err.Error())
	}
	secret, hash := newLink()
	if err := s.store.CreateEmailToken(ctx, store.EmailToken{Hash: hash, Purpose: "invite", Email: email, CreatedBy: c.principal.UserID, ExpiresAt: time.Now().Add(inviteTTL)}); err != nil {
		return err
	}
	base := strings.TrimRight(s.opts.PublicURL, "/")
	m := mail.Message{To: email, Subject: "You are invited to Wharf",
		Text: fmt.Sprintf("%s invites you to an account on the Wharf server at %s.\n\nSign up with this invitation (it works once, for %s), choosing your user name, in the browser:\n\n  %s/signup?invite=%s&email=%s\n\nor with the command line:\n\n  echo 'YOUR PASSWORD' | wharf signup USERNAME --email %s --invite %s --password-stdin --server %s\n\nor POST it as \"invite\" to %s/api/v1/signup.\n",
			c.principal.Name, s.opts.PublicURL, human(inviteTTL), base, secret, url.QueryEscape(email), email, secret, s.opts.PublicURL, base)}
	s.mailq.add(ctx, "invitation", func(ctx context.Context) error { return s.opts.Mail.Send(ctx, m) })
	return nil
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.NewUserRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	u, generated, err := s.createUser(r.Context(), req)
	if err != nil {
		return err
	}
	out := map[string]any{"user": toUserInfo(u)}
	if generated != "" {
		out["password"] = generated // shown once, to the admin who asked
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiUpdateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.UserUpdateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	u, err := s.updateUser(r.Context(), c, r.PathValue("user"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toUserInfo(u))
}

// userNamed finds an account by its name or another spelling of it (names.Key).
func (s *Server) userNamed(ctx context.Context, name string) (store.User, error) {
	if names.Lookup(name) != nil && name != "admin" {
		return store.User{}, &store.NotFoundError{Kind: "user", Name: name}
	}
	return s.store.UserByName(ctx, name)
}

func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request, c *call) error {
	var req emailRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := s.invite(r.Context(), c, req.Email); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"message": "invitation sent to " + req.Email})
}
