package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/mail"
)

// The administration page: accounts, invitations, the sign-up mode and the mail check. Every
// route of it needs access.AdminUsers; the forms call the same operations as the API
// (accounts.go).

type signupChoice struct {
	Mode, Text string
}

var signupChoices = []signupChoice{
	{SignupClosed, "closed: only administrators create accounts"},
	{SignupInvite, "invite: people sign up with an administrator's invitation"},
	{SignupOpen, "open: anyone signs up, once their address is confirmed"},
}

type adminData struct {
	Users []api.UserInfo
	Self  string
	// Signup is the sign-up mode in force; Stored says it was chosen on this page, which
	// overrides Default, the one the server was started with (--signup).
	Signup, Default string
	Stored          bool
	Choices         []signupChoice
	Mail            string // what sends mail
	Email           string // the administrator's own address, where the test mail goes
	// Created is an account just made with a password the server made up, shown once.
	Created *createdUser
}

type createdUser struct{ Name, Password string }

func (s *Server) adminData(r *http.Request, c *call) (adminData, error) {
	ctx := r.Context()
	users, err := s.listUsers(ctx)
	if err != nil {
		return adminData{}, err
	}
	mode, stored, err := s.store.Setting(ctx, settingSignup)
	if err != nil {
		return adminData{}, err
	}
	if !stored {
		mode = s.opts.Signup
	}
	me, err := s.store.UserByID(ctx, c.principal.UserID)
	if err != nil {
		return adminData{}, err
	}
	return adminData{Users: users, Self: c.principal.Name, Signup: mode, Default: s.opts.Signup, Stored: stored,
		Choices: signupChoices, Mail: mail.Describe(s.opts.Mail), Email: me.Email}, nil
}

func (s *Server) pageAdmin(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.adminData(r, c)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "admin", s.page(c, "Administration", d))
}

// pageAdminCreateUser creates an account with a confirmed address. With the password left
// empty the server makes one up and shows it on the answer, once: a secret does not travel in
// the flash cookie.
func (s *Server) pageAdminCreateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	req := api.NewUserRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Password: r.PostFormValue("password"), Admin: r.PostFormValue("admin") != ""}
	u, generated, err := s.createUser(r.Context(), req)
	if err != nil {
		return s.redirectError(w, r, "/admin", err)
	}
	s.log.InfoContext(r.Context(), "account created", "request_id", requestID(r.Context()), "user", u.Name, "admin", u.Admin, "by", c.principal.Name)
	what := "The account " + u.Name + " is created"
	if u.Admin {
		what += ", as an administrator"
	}
	if generated == "" {
		return s.redirect(w, r, "/admin", what+": it can sign in with the password you chose.")
	}
	d, err := s.adminData(r, c)
	if err != nil {
		return err
	}
	d.Created = &createdUser{Name: u.Name, Password: generated}
	p := s.page(c, "Administration", d)
	p.Flash = what + "."
	return s.render(w, r, http.StatusCreated, "admin", p)
}

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, c *call, disabled bool) error {
	u, err := s.updateUser(r.Context(), c, r.PathValue("user"), api.UserUpdateRequest{Disabled: &disabled})
	if err != nil {
		return s.redirectError(w, r, "/admin", err)
	}
	if disabled {
		return s.redirect(w, r, "/admin", "The account "+u.Name+" is disabled: it is signed out everywhere, and neither its password nor its tokens work.")
	}
	return s.redirect(w, r, "/admin", "The account "+u.Name+" is enabled again: its password and its unexpired tokens work.")
}

func (s *Server) pageAdminDisableUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.setDisabled(w, r, c, true)
}

func (s *Server) pageAdminEnableUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.setDisabled(w, r, c, false)
}

func (s *Server) pageAdminInvite(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := s.invite(r.Context(), c, email); err != nil {
		return s.redirectError(w, r, "/admin", err)
	}
	msg := "An invitation is on its way to " + email + "; it works once, for " + human(inviteTTL) + "."
	if s.signupMode(r.Context()) == SignupClosed {
		msg += " Sign-up is closed: the invitation works only once the sign-up mode is invite or open."
	}
	return s.redirect(w, r, "/admin", msg)
}

// pageAdminSignup stores the sign-up mode, which every sign-up path reads (signupMode) and
// which overrides the one the server was started with.
func (s *Server) pageAdminSignup(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := form(w, r); err != nil {
		return err
	}
	mode := r.PostFormValue("mode")
	if mode != SignupClosed && mode != SignupInvite && mode != SignupOpen {
		return s.redirectError(w, r, "/admin", errBadRequest(fmt.Sprintf("sign-up mode %q: choose closed, invite or open", mode)))
	}
	if err := s.store.SetSetting(r.Context(), settingSignup, mode); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "sign-up mode changed", "request_id", requestID(r.Context()), "mode", mode, "by", c.principal.Name)
	return s.redirect(w, r, "/admin", "Sign-up is now "+mode+".")
}

// pageAdminMailTest mails the administrator's own address through the server's sender, and
// says whether the sender took it.
func (s *Server) pageAdminMailTest(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	me, err := s.store.UserByID(ctx, c.principal.UserID)
	if err != nil {
		return err
	}
	how := mail.Describe(s.opts.Mail)
	err = s.trySendMail(ctx, mail.Message{To: me.Email, Subject: "Wharf test mail",
		Text: fmt.Sprintf("This is a test mail of the Wharf server at %s, asked for by %s on the administration page.\n\nIt went through %s.\n\nIf you read this, the server's mail works.\n",
			s.opts.PublicURL, me.Name, how)})
	if err != nil {
		if ctx.Err() != nil {
			return errClientGone
		}
		// The sender's own words (which never hold a password) help more than a 500.
		s.setFlash(w, r, "e"+redactSecrets("The test mail to "+me.Email+" was not sent: "+err.Error()))
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return nil
	}
	return s.redirect(w, r, "/admin", "A test mail to "+me.Email+" was handed to "+how+".")
}
