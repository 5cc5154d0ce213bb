// Package client is the wharf command's client of the REST API.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/store"
)

// Client talks to one Wharf api.
type Client struct {
	Server   string // base URL, e.g. http://127.0.0.1:8080
	Username string
	Password string
	// Token, when set, is sent as "Authorization: token <Token>" instead of Username and
	// Password. It never appears in an error the client returns.
	Token string
	// TokenFrom, when set, says where Token came from for the hints of errors, such as
	// "site work"; empty means --token or WHARF_TOKEN.
	TokenFrom string
	HTTP      *http.Client
}

// APIError is an error the server answered with.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	// RetryAfter is the server's Retry-After (429, 503), 0 when it sent none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

// New returns a client with the timeouts a command line wants: a dead or unreachable server
// fails within seconds, while an upload may take as long as its bytes keep flowing.
func New(server, username, password string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 5 * time.Minute // the server reads a whole package before it answers
	return &Client{Server: server, Username: username, Password: password, HTTP: &http.Client{Transport: tr}}
}

// Endpoint is a server URL taken apart: the URL without credentials, safe to print, and the
// credentials it carried.
type Endpoint struct {
	Server   string
	Username string
	Password string
	Token    string // from a /t/<token> first path segment
}

// ParseServer checks a server URL and takes any user:password, and any /t/<token> segment at
// the start of its path, out of it, so that they are never printed with the URL.
func ParseServer(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Endpoint{}, fmt.Errorf("--server %q: want a URL like https://wharf.example.com or http://127.0.0.1:8080", Redact(redactURL(raw)))
	}
	var e Endpoint
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
		u.User = nil
	}
	if rest, ok := strings.CutPrefix(u.Path, "/t/"); ok {
		e.Token, rest, _ = strings.Cut(rest, "/")
		u.Path, u.RawPath = "", ""
		if rest != "" {
			u.Path = "/" + rest
		}
	}
	e.Server = strings.TrimRight(u.String(), "/")
	return e, nil
}

// redactURL hides the credentials of a URL that could not be parsed.
func redactURL(raw string) string {
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		if i := strings.Index(raw, "://"); i >= 0 && i < at {
			return raw[:i+3] + "…@" + raw[at+1:]
		}
		return "…@" + raw[at+1:]
	}
	return raw
}

var (
	// tokenLike is a Wharf token however it is spelled: the prefix and any run of the
	// characters tokens are made of.
	tokenLike = regexp.MustCompile(`wrf([sr])-[0-9A-Za-z]+`)
	// pathToken is a /t/<token> segment of a URL.
	pathToken = regexp.MustCompile(`/t/[^/?#\s"']+`)
)

// Redact hides every Wharf token in s, and the token of every /t/<token> URL segment.
func Redact(s string) string {
	s = pathToken.ReplaceAllString(s, "/t/<redacted>")
	return tokenLike.ReplaceAllString(s, "wrf$1-<redacted>")
}

// redact hides the client's own token, however malformed, and every token-like string in s.
func (c *Client) redact(s string) string {
	if len(c.Token) >= 8 {
		s = strings.ReplaceAll(s, c.Token, "<redacted>")
	}
	return Redact(s)
}

// redactedError is an error whose message had a token taken out of it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with any token taken out of its message; an *APIError stays one.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) && ae == err {
		ae.Message = c.redact(ae.Message)
		return ae
	}
	if msg := c.redact(err.Error()); msg != err.Error() {
		return &redactedError{msg: msg, err: err}
	}
	return err
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// hint adds to an API error what the user can do about it.
func (c *Client) hint(e *APIError, method, path string) error {
	switch e.Status {
	case http.StatusUnauthorized:
		switch {
		case c.Token != "" && c.TokenFrom != "":
			e.Message += " (the token of " + c.TokenFrom + " was refused: a removed, expired or reissued token no longer works; log in again with `wharf login`)"
		case c.Token != "":
			e.Message += " (the token was refused: check --token or WHARF_TOKEN; a removed, expired or reissued token no longer works)"
		case c.Username == "":
			e.Message += " (sign in with `wharf login`; or pass --username or set WHARF_USERNAME, and set WHARF_PASSWORD; or set WHARF_TOKEN)"
		case strings.HasPrefix(e.Message, "wrong username or password"):
			e.Message += " (check WHARF_PASSWORD for " + c.Username + ")"
		}
	case http.StatusForbidden:
		switch {
		case c.Token != "":
			e.Message += fmt.Sprintf(" (%s %s with a token on %s; a token may do less than its owner: see `wharf auth --info`)", method, path, c.Server)
		case c.Username != "":
			e.Message += fmt.Sprintf(" (%s %s as %s on %s)", method, path, c.Username, c.Server)
		default:
			e.Message += fmt.Sprintf(" (%s %s as anonymous on %s)", method, path, c.Server)
		}
	case http.StatusNotFound:
		switch {
		case e.Code != "not_found":
		case strings.HasPrefix(e.Message, "channel "):
			e.Message += "; create it with `wharf channel create NAME`, or check the name and your access"
		case strings.HasPrefix(e.Message, "organization "):
			e.Message += "; create it with `wharf org create NAME`, or check the name"
		case strings.HasPrefix(e.Message, "token "):
			e.Message += "; `wharf auth --list` shows your tokens (add --org ORG for an organization's)"
		case strings.HasPrefix(e.Message, "package "):
			e.Message += "; `wharf file list " + channelOf(path) + "` shows the channel's files and their packages"
		}
	}
	return e
}

func (c *Client) url(path string, q url.Values) string {
	u := strings.TrimRight(c.Server, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// channelPath is a channel name as one path segment ("acme%2Fdev").
func channelPath(name string) string { return "/api/v1/channels/" + url.PathEscape(name) }

// channelOf is the channel of an API path under channelPath, "CHANNEL" when there is none.
func channelOf(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/channels/"), "/")
	if name, err := url.PathUnescape(seg); err == nil && name != "" && strings.HasPrefix(path, "/api/v1/channels/") {
		return name
	}
	return "CHANNEL"
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, size int64, contentType string, out any) (int, error) {
	status, err := c.send(ctx, method, path, q, body, size, contentType, out)
	return status, c.redactErr(err)
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, body io.Reader, size int64, contentType string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return 0, err
	}
	if size >= 0 && body != nil {
		req.ContentLength = size
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "token "+c.Token)
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL
		}
		return 0, fmt.Errorf("cannot reach the Wharf server at %s: %w (is it running? set --server or WHARF_SERVER)", c.Server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message, RequestID string } `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(b))
		}
		ae := &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, RequestID: e.Error.RequestID}
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
			ae.RetryAfter = time.Duration(n) * time.Second
		}
		return resp.StatusCode, c.hint(ae, method, path)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	_, err := c.doBody(ctx, method, path, nil, in, out)
	return err
}

// doBody sends in (if not nil) as a JSON body and returns the status of the answer.
func (c *Client) doBody(ctx context.Context, method, path string, q url.Values, in, out any) (int, error) {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, q, body, -1, ct, out)
}

// CreateChannel creates a channel or subchannel ("parent/child"); with req.Org set, a
// top-level channel of that organization.
func (c *Client) CreateChannel(ctx context.Context, req api.NewChannelRequest) (api.ChannelInfo, error) {
	var out api.ChannelInfo
	return out, c.doJSON(ctx, "POST", "/api/v1/channels", req, &out)
}

// Channels lists the channels the caller may see.
func (c *Client) Channels(ctx context.Context) ([]api.ChannelInfo, error) {
	var out []api.ChannelInfo
	return out, c.doJSON(ctx, "GET", "/api/v1/channels", nil, &out)
}

// Channel shows one channel.
func (c *Client) Channel(ctx context.Context, name string) (api.ChannelInfo, error) {
	var out api.ChannelInfo
	return out, c.doJSON(ctx, "GET", channelPath(name), nil, &out)
}

// Files lists a channel's files, optionally only those with label.
func (c *Client) Files(ctx context.Context, channel, label string) ([]api.FileInfo, error) {
	var out []api.FileInfo
	q := url.Values{}
	if label != "" {
		q.Set("label", label)
	}
	_, err := c.do(ctx, "GET", channelPath(channel)+"/files", q, nil, -1, "", &out)
	return out, err
}

// UploadOptions are the choices of one upload besides the file.
type UploadOptions struct {
	Labels  []string // labels to put on the file; the server's default (main) when empty
	Private bool     // make the file's package private (?private=true; needs package:manage)
	// Progress, when set, is called with the bytes sent so far and the file's size as the
	// body goes out. It is called from the goroutine that sends the body.
	Progress func(sent, total int64)
}

// Upload sends one package file: a conda package (.conda, .tar.bz2) or a Python
// distribution (.whl, .tar.gz, .zip); a file named otherwise is refused before anything is
// sent. created is false when the same bytes were already there (the labels it lacked are
// added). Other bytes under a stored filename are an *APIError with Status 409.
func (c *Client) Upload(ctx context.Context, channel, path string, opts UploadOptions) (info api.FileInfo, created bool, err error) {
	if FileKind(filepath.Base(path)) == "" {
		return info, false, errors.New("not a conda package (.conda, .tar.bz2) or a Python distribution (.whl, .tar.gz, .zip): the filename says neither")
	}
	f, err := os.Open(path)
	if err != nil {
		return info, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, false, err
	}
	q := url.Values{}
	for _, l := range opts.Labels {
		q.Add("label", l)
	}
	if opts.Private {
		q.Set("private", "true")
	}
	var body io.Reader = f
	if opts.Progress != nil {
		body = &progressReader{r: f, total: st.Size(), report: opts.Progress}
	}
	status, err := c.do(ctx, "PUT", channelPath(channel)+"/files/"+url.PathEscape(filepath.Base(path)), q, body, st.Size(), "application/octet-stream", &info)
	return info, status == http.StatusCreated, err
}

// progressReader reports how much of a body has been read.
type progressReader struct {
	r      io.Reader
	sent   int64
	total  int64
	report func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.sent += int64(n)
		p.report(p.sent, p.total)
	}
	return n, err
}

// IsConflict reports whether err is the server's 409: other bytes under a stored filename
// (or a name that is taken).
func IsConflict(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusConflict
}

// RemoveChannel removes a channel or subchannel with everything in it. The server refuses
// (400) to remove an account's own channel.
func (c *Client) RemoveChannel(ctx context.Context, name string) error {
	_, err := c.do(ctx, "DELETE", channelPath(name), nil, nil, -1, "", nil)
	return err
}

// RemoveFile removes a file from a channel.
func (c *Client) RemoveFile(ctx context.Context, channel string, ref store.FileRef) error {
	_, err := c.do(ctx, "DELETE", channelPath(channel)+"/files/"+url.PathEscape(ref.Subdir)+"/"+url.PathEscape(ref.Filename), nil, nil, -1, "", nil)
	return err
}

// Copy copies or moves files between labels and channels.
func (c *Client) Copy(ctx context.Context, channel string, req api.CopyRequest) ([]api.FileInfo, error) {
	var out []api.FileInfo
	return out, c.doJSON(ctx, "POST", channelPath(channel)+"/copy", req, &out)
}

// Labels lists a channel's labels.
func (c *Client) Labels(ctx context.Context, channel string) ([]store.LabelCount, error) {
	var out []store.LabelCount
	return out, c.doJSON(ctx, "GET", channelPath(channel)+"/labels", nil, &out)
}

// History lists a channel's events, newest first.
func (c *Client) History(ctx context.Context, channel string, limit int) ([]store.Event, error) {
	var out []store.Event
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	_, err := c.do(ctx, "GET", channelPath(channel)+"/history", q, nil, -1, "", &out)
	return out, err
}
