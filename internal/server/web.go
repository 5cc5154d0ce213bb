package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/token"
	"github.com/wharfhq/wharf/internal/web"
)

// Web UI sessions. The cookie holds a random secret; the store holds its SHA-256. The
// session cookie is read on web pages only: the API, conda and PyPI routes never look at it,
// so a page another site makes a browser load cannot act through them.
const (
	sessionTTL  = 7 * 24 * time.Hour // from sign-in, whatever the use
	sessionIdle = 24 * time.Hour     // unused this long, a session ends
	flashCookie = "wharf-flash"
)

// contentSecurityPolicy allows the page's own scripts, styles and forms, nothing inline and
// nothing from elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secureCookies says whether cookies get Secure and the __Host- prefix: under TLS, or behind
// a proxy that ends TLS for a public https address.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.opts.PublicURL, "https://")
}

func (s *Server) sessionCookieName(r *http.Request) string {
	if s.secureCookies(r) {
		return "__Host-wharf-session"
	}
	return "wharf-session"
}

// startSession signs a browser in with a new session id (never one the browser brought) and
// sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	secret, hash := newLink()
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	if _, err := s.store.CreateSession(r.Context(), store.Session{Hash: hash, UserID: u.ID,
		ExpiresAt: time.Now().Add(sessionTTL), UserAgent: strings.ToValidUTF8(strings.ReplaceAll(ua, "\x00", ""), ""), Addr: clientAddr(r)}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(r), Value: secret, Path: "/", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode})
	s.log.InfoContext(r.Context(), "signed in", "request_id", requestID(r.Context()), "user", u.Name)
	return nil
}

// renewSession ends the browser's session, if it has one, and starts a new one: at sign-in and
// whenever the password is given again.
func (s *Server) renewSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	if old, ok := currentSession(r.Context()); ok {
		if err := s.store.DeleteSession(r.Context(), old.UserID, old.ID); err != nil && !store.IsNotFound(err) {
			return err
		}
	}
	return s.startSession(w, r, u)
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode})
}

type ctxSessionKey struct{}

// currentSession is the session a web request came with, if any.
func currentSession(ctx context.Context) (store.Session, bool) {
	se, ok := ctx.Value(ctxSessionKey{}).(*store.Session)
	if !ok || se == nil {
		return store.Session{}, false
	}
	return *se, true
}

// identifySession finds who a web page is for: the session cookie's user, or nobody. A
// cookie that is unknown, expired, idle or of a disabled account counts as nobody and is
// cleared.
func (s *Server) identifySession(w http.ResponseWriter, r *http.Request) (access.Principal, *http.Request, error) {
	ck, err := r.Cookie(s.sessionCookieName(r))
	if err != nil || ck.Value == "" {
		return access.Principal{}, r, nil
	}
	now := time.Now()
	se, err := s.store.SessionByHash(r.Context(), token.Hash(ck.Value), now)
	if store.IsNotFound(err) || (err == nil && now.Sub(se.LastSeenAt) > sessionIdle) {
		s.clearSessionCookie(w, r)
		return access.Principal{}, r, nil
	} else if err != nil {
		return access.Principal{}, r, err
	}
	u, g, err := s.userByID(r.Context(), se.UserID, now)
	if store.IsNotFound(err) || (err == nil && (u.Disabled || !u.EmailVerified)) {
		s.clearSessionCookie(w, r)
		return access.Principal{}, r, nil
	} else if err != nil {
		return access.Principal{}, r, err
	}
	if now.Sub(se.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(r.Context(), se.ID, now); err != nil {
			s.warn(r.Context(), "recording a session's use failed", "err", err)
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxSessionKey{}, &se))
	return access.Principal{UserID: u.ID, Name: u.Name, Admin: u.Admin, Grants: g}, r, nil
}

// page is what a handler renders: a template of internal/web and its data.
func (s *Server) page(c *call, title string, data any) web.Page {
	p := web.Page{Title: title, Data: data}
	if !c.principal.Anonymous() {
		p.Viewer = &web.Viewer{Name: c.principal.Name, Admin: c.principal.Admin}
	}
	return p
}

// render writes a page with the headers every page gets.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p web.Page) error {
	if p.Viewer == nil { // the header offers sign-up to visitors only
		p.Signup = s.signupMode(r.Context()) != SignupClosed
	}
	if r.Method == http.MethodGet {
		p.Path = returnPath(r)
	}
	if p.Flash == "" && p.Error == "" {
		if ck, err := r.Cookie(flashCookie); err == nil {
			if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil && len(b) > 1 {
				switch b[0] {
				case 'e':
					p.Error = string(b[1:])
				case 'w':
					p.Flash, p.Warning, _ = strings.Cut(string(b[1:]), "\x00")
				default:
					p.Flash = string(b[1:])
				}
			}
			http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Referrer-Policy") == "" {
		h.Set("Referrer-Policy", "same-origin")
	}
	page, err := s.web.Render(name, p)
	if err != nil {
		return err
	}
	h.Set("Content-Length", strconv.Itoa(len(page))) // whole once flushed (afterAnswer)
	w.WriteHeader(status)
	_, err = w.Write(page)
	return err
}

// redirect answers a form's POST: 303 to a page, with a message the page shows once.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		s.setFlash(w, r, "m"+flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// redirectWarning is redirect with a warning beside the message, when there is one: the change
// is made, and the page says what to look out for.
func (s *Server) redirectWarning(w http.ResponseWriter, r *http.Request, to, flash, warning string) error {
	if warning == "" {
		return s.redirect(w, r, to, flash)
	}
	s.setFlash(w, r, "w"+flash+"\x00"+warning)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// redirectError answers a form's POST that failed in a way the user can fix: back to the page
// the form is on, which shows why.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, to string, err error) error {
	he, ok := userFault(err)
	if !ok {
		return err
	}
	s.setFlash(w, r, "e"+he.message)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, v string) {
	if len(v) > 1000 {
		v = v[:1000]
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(v)), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
}

// writePageError is writeError for web pages: a page, or for a visitor who must sign in, the
// way to the sign-in page.
func (s *Server) writePageError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	he := classify(err)
	if he.status == http.StatusUnauthorized && c.principal.Anonymous() && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(returnPath(r)), http.StatusSeeOther)
		return
	}
	if he.status == 499 || he.status >= 500 {
		s.writeError(w, r, err) // logs it; the answer is plain text
		return
	}
	title := http.StatusText(he.status)
	msg := redactSecrets(he.message)
	if he.status == http.StatusUnauthorized {
		msg = "Sign in first."
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(he.retryAfter.Seconds())))
	}
	p := s.page(c, title, struct{ Message, RequestID string }{msg, requestID(r.Context())})
	if rerr := s.render(w, r, he.status, "error", p); rerr != nil {
		s.writeError(w, r, rerr)
	}
}

// returnPath is where sign-in brings a visitor back to: this page, as the browser asked for it
// ("acme%2Fdev" stays one segment), without a query that holds a mailed link's secret.
func returnPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if r.URL.RawQuery != "" && !r.URL.Query().Has("token") && !r.URL.Query().Has("invite") {
		p += "?" + r.URL.RawQuery
	}
	return p
}

// localPath is a path to come back to after sign-in, only if it stays on this server.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// form reads a posted form of at most 64 KiB.
func form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge("the form is too large")
		}
		return bodyReadError("the form could not be read", err)
	}
	return nil
}
