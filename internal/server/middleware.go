package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
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
	// body is the request's body when one was sent over HTTP/1, to tell whether it was read
	// to its end before a refusal.
	body *bodyEnd
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return // the answer has started: nothing can be said any more
	}
	w.status = code
	if code >= 400 && w.body != nil && !w.body.done.Load() {
		closeAfterRefusal(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(code)
}

// closeAfterRefusal is for a refusal (an HTTP/1 answer of 400 or more) sent before its
// request's body was read to its end: it closes the connection. Without it, net/http reads
// what is left of a body under 256 KiB before it sends the status line (chunkWriter.writeHeader
// skips that only when closeAfterReply is set, which "Connection: close" in the handler's
// header does), and the answer waits for as long as the body deadline lets a client that
// trickles, or that waits for the answer before it sends the rest. Once the answer is out,
// net/http still reads up to 256 KiB of the body before it closes (body.Close): refusalLinger
// bounds that.
func closeAfterRefusal(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(refusalLinger))
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom hands src to the writer below's ReadFrom: net/http's sends a file by sendfile,
// which a copy through Write would not.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := readFrom(w.ResponseWriter, src)
	w.bytes += n
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
		// Every store call made for the request waits at most StoreTimeout for the database,
		// and an object store may keep it waiting that long at most: one that does not answer
		// (a host that accepts connections and never answers, a lock held elsewhere) makes
		// the request a 503, not a hang.
		ctx = blob.WithStallTimeout(store.WithCallTimeout(ctx, s.opts.StoreTimeout), s.opts.StoreTimeout)
		w.Header().Set("X-Request-Id", id)

		// "GET //t/<token>/…" parses with "t" as a host and the token as the first path
		// segment, where redaction would not see it: such paths are refused unlogged.
		if strings.HasPrefix(r.RequestURI, "//") || !canonical(r.URL.Path) {
			s.log.InfoContext(ctx, "request", "request_id", id, "method", r.Method, "path", "<non-canonical>", "status", http.StatusNotFound)
			if r.ProtoMajor == 1 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
				closeAfterRefusal(w)
			}
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

		// A body gets BodyTimeout to arrive, whoever reads it (a handler, or net/http draining
		// what a handler left): a client trickling one byte every few seconds would otherwise
		// hold the connection for as long as it likes. The deadline runs from the start of the
		// request, and again from a handler's first read, so that a handler slow to start
		// reading (a password hash queued behind others) does not eat into it. net/http clears
		// it once the body has been read to its end, so the work after it is not limited;
		// uploads get a minimum rate instead (beginUpload).
		var body *bodyEnd
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			body = &bodyEnd{ReadCloser: r.Body}
			r.Body = body
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout)) == nil {
				r.Body = &bodyTimer{ReadCloser: r.Body, rc: rc, timeout: s.opts.BodyTimeout}
			}
		}

		sw := &statusWriter{ResponseWriter: w}
		if r.ProtoMajor == 1 { // on HTTP/2 a refusal resets its stream; "Connection" is not sent
			sw.body = body
		}
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
	p, _, err := s.identifyCredential(r)
	return p, err
}

// credential is what a request was identified by, kept to ask again when an upload is
// published: a token's hash, or an account, the password hash its password matched and the
// password itself (for this request only, as its header holds it; never logged or kept), so
// that a hash replaced by another of the same password (the NFKC upgrade of a sign-in made
// meanwhile) is told from a password changed.
type credential struct {
	tokenHash    string
	userID       int64
	passwordHash string
	password     string
}

// identifyCredential is identify, with the credential.
func (s *Server) identifyCredential(r *http.Request) (access.Principal, credential, error) {
	secret, err := presentedToken(r)
	if err != nil {
		return access.Principal{}, credential{}, err
	}
	if secret != "" {
		return s.identifyToken(r, secret)
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		if h := r.Header.Get("Authorization"); h != "" {
			return access.Principal{}, credential{}, errUnauthorized("the Authorization header is neither HTTP Basic nor \"token <token>\" nor \"Bearer <token>\"")
		}
		return access.Principal{}, credential{}, nil
	}
	wrong := errUnauthorized("wrong username or password")
	now := time.Now()
	var u store.User
	var g access.Grants
	if utf8.ValidString(user) && !strings.ContainsRune(user, 0) && len(user) <= 256 {
		var err error
		u, g, err = s.userByName(r.Context(), user, now)
		if err != nil && !store.IsNotFound(err) {
			return access.Principal{}, credential{}, err
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
		return access.Principal{}, credential{}, err
	}
	key := credKey(user, pass, u.PasswordHash)
	// verify checks the password, under the budgets; concurrent requests with the same
	// credentials share one check (credCache.check).
	verify := func(ctx context.Context) credResult {
		ok, rehash, err := s.signins.verify(ctx, account, addr, u.PasswordHash, pass, u.ID != 0)
		res := credResult{ok: ok && err == nil, hash: u.PasswordHash, err: err}
		if res.ok && rehash {
			// The credential names the hash now stored, or an upload this request makes
			// would be refused at its commit as if the password had changed.
			res.hash = s.upgradeHash(ctx, u, pass)
		}
		return res
	}
	hit, refresh := false, false
	if u.ID != 0 {
		hit, refresh = s.creds.lookup(key, now)
	}
	if refresh {
		s.refreshCredential(r.Context(), key, verify)
	}
	if !hit {
		res := s.creds.check(r.Context(), key, func() credResult { return verify(r.Context()) })
		if res.err != nil {
			return access.Principal{}, credential{}, res.err
		}
		if !res.ok {
			return access.Principal{}, credential{}, wrong
		}
		if res.hash != u.PasswordHash {
			// Stored anew: the next request, which reads the new hash, is remembered too.
			s.creds.remember(credKey(user, pass, res.hash), time.Now())
			u.PasswordHash = res.hash
		}
	}
	// The account and its grants come from the identity cache, which every change empties:
	// leaving a group or losing a grant takes effect on the next request.
	p, err := passwordPrincipal(u, g)
	return p, credential{userID: u.ID, passwordHash: u.PasswordHash, password: pass}, err
}

// refreshCredential checks a remembered password again in the background, ahead of its
// expiry, and remembers it afresh if it still verifies: the requests that keep coming find it
// remembered and never wait for a hash. The check is shared with requests that miss
// meanwhile; its failure forgets nothing (the entry expires in its time), and counts as any
// failed check does. It outlives the request that asked for it, not the server (Close waits).
func (s *Server) refreshCredential(ctx context.Context, key [32]byte, verify func(context.Context) credResult) {
	s.refreshMu.Lock()
	if s.closing {
		// Close waits for the refreshes begun before it, and no other may begin.
		s.refreshMu.Unlock()
		s.creds.refreshed(key)
		return
	}
	s.refreshes.Add(1)
	s.refreshMu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	go func() {
		defer s.refreshes.Done()
		defer cancel()
		defer s.creds.refreshed(key)
		s.creds.check(ctx, key, func() credResult { return verify(ctx) })
	}()
}

// passwordPrincipal is who an account whose password matched acts as, with what it holds.
func passwordPrincipal(u store.User, g access.Grants) (access.Principal, error) {
	if u.Disabled {
		return access.Principal{}, errUnauthorized("this account is disabled; ask an administrator")
	}
	if !u.EmailVerified {
		return access.Principal{}, errUnauthorized("confirm your email address first: follow the link in the mail sent at sign-up")
	}
	return access.Principal{UserID: u.ID, Name: u.Name, Admin: u.Admin, Grants: g}, nil
}

// refusalLinger is how long a connection whose request was refused before its body was read
// is kept after the answer, reading what is left of the body: a client that sends its whole
// body before it reads the answer has it read, rather than met with a reset that may discard
// the answer it has not read yet (as Windows does); one that trickles or waits is closed.
const refusalLinger = time.Second

// bodyEnd notes when a request body has been read to its end.
type bodyEnd struct {
	io.ReadCloser
	done atomic.Bool
}

func (b *bodyEnd) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done.Store(true)
	}
	return n, err
}

// errBodyTimeout is the answer to a body that did not arrive within BodyTimeout.
func errBodyTimeout() error {
	return &httpError{status: http.StatusRequestTimeout, code: "timeout",
		message: "the request body did not arrive in time; send it whole, at once"}
}

// bodyTimer moves the read deadline to timeout from the body's first read.
type bodyTimer struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

func (b *bodyTimer) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
	return b.ReadCloser.Read(p)
}

// bodyReadError is what a handler answers when reading a body failed: the 408 of an upload
// that fell below its rate or went idle (uploadBody), the 408 of another body that passed its
// deadline, else 400 with what went wrong.
func bodyReadError(what string, err error) error {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errBodyTimeout()
	}
	return errBadRequest(what + ": " + err.Error())
}

// isUpload says whether a route takes a package file as its body: such bodies are allowed as
// long as they keep coming at a minimum rate, and a client may send only so many at once.
func isUpload(rt route) bool { return rt.action == access.ArtifactCreate }

// beginUpload takes one of the client address's upload slots (429 with Retry-After when it
// has none left) and puts the upload rate and idle deadlines on the request body. The caller
// must call release when the request ends.
func (s *Server) beginUpload(w http.ResponseWriter, r *http.Request) (release func(), err error) {
	release = func() {}
	if s.opts.UploadsPerClient > 0 {
		addr := clientAddr(r)
		if !s.uploads.acquire(addr, s.opts.UploadsPerClient) {
			return nil, &httpError{status: http.StatusTooManyRequests, code: "too_many_uploads", retryAfter: uploadRetry,
				message: fmt.Sprintf("this client already has %d uploads in progress, the most this server takes at once from one address: retry when one has finished", s.opts.UploadsPerClient)}
		}
		release = func() { s.uploads.release(addr) }
	}
	body := r.Body
	if bt, ok := body.(*bodyTimer); ok {
		body = bt.ReadCloser // the upload's own deadlines replace the body timeout
	}
	r.Body = &uploadBody{ReadCloser: body, rc: http.NewResponseController(w), start: time.Now(),
		idle: s.opts.UploadIdleTimeout, rate: s.opts.UploadMinRate}
	return release, nil
}

// uploadRetry is the Retry-After of a refused concurrent upload: about as long as a small
// upload takes.
const uploadRetry = 10 * time.Second

// uploadSlots counts the uploads in progress per client address.
type uploadSlots struct {
	mu sync.Mutex
	n  map[string]int
}

func (u *uploadSlots) acquire(addr string, max int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[addr] >= max {
		return false
	}
	if u.n == nil {
		u.n = map[string]int{}
	}
	u.n[addr]++
	return true
}

func (u *uploadSlots) release(addr string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[addr]--; u.n[addr] <= 0 {
		delete(u.n, addr) // memory follows the uploads in progress
	}
}

// uploadBody moves the connection's read deadline before every read: to idle from now, or,
// if earlier, to where the body falls below rate bytes a second on average since start, after
// a first stretch of idle (as Apache's mod_reqtimeout does with MinRate). An upload may thus
// take as long as it needs while data flows at a real link's pace; one that stops, or
// trickles, is dropped with 408.
type uploadBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	idle  time.Duration
	rate  int64 // bytes a second; <= 0: no minimum
	n     int64 // bytes read so far
	ended bool
}

func (u *uploadBody) Read(p []byte) (int, error) {
	if u.ended {
		// net/http cleared the deadline for its own read at the end of the body; a read
		// after that must not set one again, or the request would be cancelled when it passed.
		return u.ReadCloser.Read(p)
	}
	deadline, byRate := u.deadline(time.Now())
	_ = u.rc.SetReadDeadline(deadline) // a writer without deadlines keeps none
	n, err := u.ReadCloser.Read(p)
	u.n += int64(n)
	switch {
	case err == io.EOF:
		u.ended = true
	case errors.Is(err, os.ErrDeadlineExceeded) && byRate:
		return n, &httpError{status: http.StatusRequestTimeout, code: "timeout", message: fmt.Sprintf(
			"the upload arrived slower than %d bytes a second, this server's minimum after its first %s, and was dropped: use a faster link, or ask the administrator to lower --upload-min-rate", u.rate, u.idle)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, &httpError{status: http.StatusRequestTimeout, code: "timeout", message: fmt.Sprintf("no upload data arrived for %s; the upload was dropped", u.idle)}
	}
	return n, err
}

// deadline is when the next read must have returned, and whether the rate (rather than the
// idle time) sets it.
func (u *uploadBody) deadline(now time.Time) (time.Time, bool) {
	idle := now.Add(u.idle)
	if u.rate <= 0 {
		return idle, false
	}
	secs := float64(u.n) / float64(u.rate)
	if secs > 1e9 { // years ahead: the idle deadline is the earlier
		return idle, false
	}
	byRate := u.start.Add(u.idle + time.Duration(secs*float64(time.Second)))
	if byRate.Before(idle) {
		return byRate, true
	}
	return idle, false
}
