package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/store"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPathToken
	keyInfo
)

// reqInfo is what the access log learns while a request is served.
type reqInfo struct {
	tokenID atomic.Int64
}

// noteToken records which token a request used: logs show its id, never its secret.
func noteToken(ctx context.Context, id int64) {
	if ri, ok := ctx.Value(keyInfo).(*reqInfo); ok {
		ri.tokenID.Store(id)
	}
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// pathToken is the /t/<token>/ segment the request came with, if any.
func pathToken(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(keyPathToken).(string)
	return t, ok
}

// splitToken removes one /t/<token> segment from p: at the start, or right after /conda or
// /pypi (where conda puts it when channel_alias has a path).
func splitToken(p string) (rest, token string, ok bool) {
	for _, prefix := range []string{"", "/conda", "/pypi"} {
		if !strings.HasPrefix(p, prefix+"/t/") {
			continue
		}
		after := p[len(prefix)+3:]
		i := strings.IndexByte(after, '/')
		if i < 0 {
			return prefix + "/", after, true
		}
		return prefix + after[i:], after[:i], true
	}
	return p, "", false
}

// tokenSegment is any /t/<token> in a path, wherever and however spelled: logs must not
// show a token even in a path that the router refuses.
var tokenSegment = regexp.MustCompile(`(?i)/t/[^/]*`)

// redactPath is what logs, metrics and error pages may show of a path.
func redactPath(p string) string { return redactSecrets(p) }

// canonical reports whether p is a clean absolute path; the standard router would redirect
// any other, echoing it (and a token in it) in the Location header.
func canonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || c+"/" == p
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		idb := make([]byte, 8)
		rand.Read(idb)
		id := hex.EncodeToString(idb)
		ri := &reqInfo{}
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyInfo, ri)
		w.Header().Set("X-Request-Id", id)

		// "GET //t/<token>/…" parses with "t" as a host and the token as the first path
		// segment, where redaction would not see it: such paths are refused unlogged.
		if strings.HasPrefix(r.RequestURI, "//") || !canonical(r.URL.Path) {
			s.log.InfoContext(ctx, "request", "request_id", id, "method", r.Method, "path", "<non-canonical>", "status", http.StatusNotFound)
			s.writeError(w, r.WithContext(ctx), errNotFound("not a canonical path: no empty, '.' or '..' segments"))
			return
		}
		shown := redactPath(r.URL.Path)
		if rest, tok, ok := splitToken(r.URL.Path); ok {
			ctx = context.WithValue(ctx, keyPathToken, tok)
			r2 := r.Clone(ctx)
			r2.URL.Path = rest
			if r.URL.RawPath != "" {
				r2.URL.RawPath, _, _ = splitToken(r.URL.RawPath)
			}
			r2.RequestURI = "" // holds the token; nobody downstream may read it
			r = r2
			// A page fetched with a token in its URL must not hand that URL on.
			w.Header().Set("Referrer-Policy", "no-referrer")
		} else {
			r = r.WithContext(ctx)
		}

		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// The panic value and stack may hold request data; log them against the
				// request id with the redacted path only.
				s.log.ErrorContext(ctx, "panic serving request", "request_id", id, "path", shown,
					"panic", redactPanic(fmt.Sprint(v), r), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic"))
				}
			}
			attrs := []any{"request_id", id, "method", r.Method, "path", shown,
				"status", sw.status, "bytes", sw.bytes, "duration_ms", time.Since(start).Milliseconds()}
			if tid := ri.tokenID.Load(); tid != 0 {
				attrs = append(attrs, "token_id", tid)
			}
			s.log.InfoContext(ctx, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

func redactPanic(msg string, r *http.Request) string {
	if tok, ok := pathToken(r.Context()); ok && tok != "" {
		msg = strings.ReplaceAll(msg, tok, "<redacted>")
	}
	return redactSecrets(msg)
}

// identify finds who is asking. For now: an account's name and password over HTTP Basic.
// Wrong credentials are a 401 even on public routes: falling back to anonymous would hide a
// misconfigured client.
func (s *Server) identify(r *http.Request) (access.Principal, error) {
	secret, err := presentedToken(r)
	if err != nil {
		return access.Principal{}, err
	}
	if secret != "" {
		return s.identifyToken(r, secret)
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		if h := r.Header.Get("Authorization"); h != "" {
			return access.Principal{}, errUnauthorized("the Authorization header is neither HTTP Basic nor \"token <token>\" nor \"Bearer <token>\"")
		}
		return access.Principal{}, nil
	}
	wrong := errUnauthorized("wrong username or password")
	now := time.Now()
	var u store.User
	var g access.Grants
	if utf8.ValidString(user) && !strings.ContainsRune(user, 0) && len(user) <= 256 {
		var err error
		u, g, err = s.userByName(r.Context(), user, now)
		if err != nil && !store.IsNotFound(err) {
			return access.Principal{}, err
		}
	}
	// Only failures spend the budget, so a client that sends the right password on every
	// request never waits; while a budget is spent, remembered credentials are refused too.
	// The budget is the account's, whichever spelling of its name was sent (the store finds
	// it by any), and an unknown name's is its key's: guesses cannot spread over spellings.
	addr := clientAddr(r)
	account := names.Key(user)
	if u.ID != 0 {
		account = u.Name
	}
	if err := s.signins.allow(account, addr, now); err != nil {
		return access.Principal{}, err
	}
	key := credKey(user, pass, u.PasswordHash)
	if u.ID == 0 || !s.creds.verified(key, now) {
		ok, rehash, err := s.signins.verify(r.Context(), account, addr, u.PasswordHash, pass, u.ID != 0)
		if err != nil {
			return access.Principal{}, err
		}
		if !ok {
			return access.Principal{}, wrong
		}
		if rehash {
			s.upgradeHash(r.Context(), u, pass)
		}
		s.creds.remember(key, now)
	}
	if u.Disabled {
		return access.Principal{}, errUnauthorized("this account is disabled; ask an administrator")
	}
	if !u.EmailVerified {
		return access.Principal{}, errUnauthorized("confirm your email address first: follow the link in the mail sent at sign-up")
	}
	// The account and its grants come from the identity cache, which every change empties:
	// leaving a group or losing a grant takes effect on the next request.
	return access.Principal{UserID: u.ID, Name: u.Name, Admin: u.Admin, Grants: g}, nil
}
