package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/fault"
	"github.com/wharfhq/wharf/internal/pypi"
	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/store"
)

// httpError is an error with the status and code a client sees. Its message is written for
// the user: what was wrong and what to do.
type httpError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration // for 429 and 503
}

func (e *httpError) Error() string { return e.message }

func errBadRequest(msg string) error { return &httpError{http.StatusBadRequest, "bad_request", msg, 0} }
func errNotFound(msg string) error   { return &httpError{http.StatusNotFound, "not_found", msg, 0} }
func errForbidden(msg string) error  { return &httpError{http.StatusForbidden, "forbidden", msg, 0} }
func errUnauthorized(msg string) error {
	return &httpError{http.StatusUnauthorized, "unauthorized", msg, 0}
}
func errTooManyAttempts(retry time.Duration) error {
	return &httpError{status: http.StatusTooManyRequests, code: "too_many_attempts",
		message: fmt.Sprintf("too many failed sign-ins; try again in %d seconds", int(retry.Seconds())), retryAfter: retry}
}

// clientAddr is the address failed sign-ins are counted against.
func clientAddr(r *http.Request) string { return ratelimit.Addr(r.RemoteAddr) }

func errTooLarge(msg string) error {
	return &httpError{http.StatusRequestEntityTooLarge, "too_large", msg, 0}
}

// blobDamagedError is a stored file whose blob is not the size the store recorded: damaged or
// replaced on disk. The message for the client says only that; the log has this.
type blobDamagedError struct {
	key        string
	size, want int64
}

func (e *blobDamagedError) Error() string {
	return fmt.Sprintf("blob %s holds %d bytes, but the file's record says %d", e.key, e.size, e.want)
}

// errClientGone marks a request whose client went away; nothing useful can be answered.
var errClientGone = errors.New("client closed the request")

// classify maps any error to what the client is told.
func classify(err error) *httpError {
	var he *httpError
	var bad *conda.InvalidPackageError
	var badDist *pypi.InvalidDistError
	var nf *store.NotFoundError
	var cf *store.ConflictError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &bad):
		return &httpError{http.StatusBadRequest, "invalid_package", bad.Error(), 0}
	case errors.As(err, &badDist):
		return &httpError{http.StatusBadRequest, "invalid_package", badDist.Error(), 0}
	case errors.As(err, &nf):
		return &httpError{http.StatusNotFound, "not_found", nf.Error(), 0}
	case errors.As(err, &cf):
		return &httpError{http.StatusConflict, "conflict", cf.Error(), 0}
	case errors.As(err, new(*blobDamagedError)):
		return &httpError{http.StatusInternalServerError, "damaged", "the server's stored copy of this file is damaged; the server log names it under this request id", 0}
	case badText(err):
		return &httpError{http.StatusBadRequest, "bad_request", "the request holds text the database refuses (invalid UTF-8 or a NUL byte)", 0}
	case errors.Is(err, errClientGone), errors.Is(err, context.Canceled):
		return &httpError{499, "client_closed", "the request was cancelled", 0}
	}
	// What the server stands on failed: say so, and when to come back, without a word of the
	// internals (addresses, drivers); the log has them.
	switch fault.Of(err) {
	case fault.Unavailable:
		return &httpError{http.StatusServiceUnavailable, "unavailable",
			"the server cannot reach its database or file storage just now; try again shortly (the server log has the details under this request id)", unavailableRetry}
	case fault.Full:
		return &httpError{http.StatusInsufficientStorage, "insufficient_storage",
			"the server has no space left to store this; nothing was stored: try again once its administrator has freed space", 0}
	}
	return &httpError{http.StatusInternalServerError, "internal", "internal error; the server log has the details under this request id", 0}
}

// unavailableRetry is the Retry-After of a 503: a database restart or a failover takes about
// this long, and clients that retry sooner only add to the load.
const unavailableRetry = 10 * time.Second

// userFault says whether an error is one the user can fix (a 4xx, not the 499 of a client
// that left), with what to tell them, tokens redacted: a page shows it on its form. Other
// errors take the one error path.
func userFault(err error) (*httpError, bool) {
	he := classify(err)
	if he.status >= 500 || he.status == 499 {
		return he, false
	}
	if m := redactSecrets(he.message); m != he.message {
		he = &httpError{status: he.status, code: he.code, message: m, retryAfter: he.retryAfter}
	}
	return he, true
}

// writeError is the one place an error becomes an HTTP answer (and, for 5xx, a log line).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	he := classify(err)
	if he.status >= 500 && r.Context().Err() != nil {
		// net/http ends a request's context when its connection fails: the client left, and
		// what failed then (a write to it, a store call cut short) is not the server's fault.
		he = classify(errClientGone)
	}
	// Messages may quote what the client sent (a channel name, a path): a token in it must not
	// come back, where logs and proxies of the answer would keep it.
	if m := redactSecrets(he.message); m != he.message {
		he = &httpError{status: he.status, code: he.code, message: m, retryAfter: he.retryAfter}
	}
	id := requestID(r.Context())
	if he.status >= 500 {
		attrs := []any{"request_id", id, "path", redactPath(r.URL.Path), "err", redactSecrets(err.Error())}
		if c := fault.Cause(err); c != "" {
			attrs = append(attrs, "cause", c)
		}
		s.log.ErrorContext(r.Context(), "request failed", attrs...)
	}
	if he.status == 499 {
		w.WriteHeader(he.status) // nobody is listening; this is for the access log
		return
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(he.retryAfter.Seconds())))
	}
	if he.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="wharf", charset="UTF-8"`)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(he.status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
			"code": he.code, "message": he.message, "request_id": id,
		}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(he.status)
	if r.Method != http.MethodHead {
		w.Write([]byte(he.message + "\n"))
	}
}

// logAttrs is for handlers that want to note something without failing.
func (s *Server) warn(ctx context.Context, msg string, args ...any) {
	s.log.WarnContext(ctx, msg, append([]any{slog.String("request_id", requestID(ctx))}, args...)...)
}

// badText reports a PostgreSQL refusal of the bytes in a text value (22021: invalid byte
// sequence; 22P05: untranslatable character). Inputs are checked before they reach the store;
// this is the net under that check.
func badText(err error) bool {
	var st interface{ SQLState() string }
	if !errors.As(err, &st) {
		return false
	}
	code := st.SQLState()
	return code == "22021" || code == "22P05"
}

var secretLike = regexp.MustCompile(`wrf[sr]-[0-9A-Za-z]+`)

// redactSecrets hides anything shaped like a token, and /t/ segments, in text a client sees.
func redactSecrets(msg string) string {
	return secretLike.ReplaceAllString(tokenSegment.ReplaceAllString(msg, "/t/<redacted>"), "<redacted>")
}
