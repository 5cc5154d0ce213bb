package server_test

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

const adminPassword = "admin-password-for-tests"

// countingStore counts the index snapshots the server takes, to show that cached repodata
// is not rebuilt per request.
type countingStore struct {
	store.Store
	subdirSnapshots atomic.Int64
	tokenLookups    atomic.Int64
	beforeAddFile   atomic.Pointer[func()]
	// timeShift moves the channel's revision time in the snapshots the server reads, as if the
	// clock had moved on (or stepped back) that far: a stand-in for waiting, in nanoseconds.
	timeShift atomic.Int64
}

// roundTrips is how many times the store has asked its database something (statements, and
// the begin and end of transactions).
func (c *countingStore) roundTrips() int64 {
	return c.Store.Stats().RoundTrips()
}

func (c *countingStore) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	c.tokenLookups.Add(1)
	return c.Store.TokenByHash(ctx, hash)
}

// AddFile runs beforeAddFile, when a test set one, first: a change made there lands between
// an upload's blob and the transaction that publishes it.
func (c *countingStore) AddFile(ctx context.Context, nf store.NewFile) (store.File, bool, error) {
	if f := c.beforeAddFile.Load(); f != nil {
		(*f)()
	}
	return c.Store.AddFile(ctx, nf)
}

func (c *countingStore) SubdirSnapshot(ctx context.Context, channelID int64, label, subdir string) (store.Snapshot, error) {
	c.subdirSnapshots.Add(1)
	snap, err := c.Store.SubdirSnapshot(ctx, channelID, label, subdir)
	snap.UpdatedAt = snap.UpdatedAt.Add(time.Duration(c.timeShift.Load()))
	return snap, err
}

func (c *countingStore) ChannelSnapshot(ctx context.Context, channelID int64, label string) (store.ChannelSnapshot, error) {
	snap, err := c.Store.ChannelSnapshot(ctx, channelID, label)
	snap.UpdatedAt = snap.UpdatedAt.Add(time.Duration(c.timeShift.Load()))
	return snap, err
}

type backend struct {
	name  string
	store func(t testing.TB) string // dsn
	blobs func(t testing.TB) string // url
}

var backends = []backend{
	{"sqlite+fs", func(t testing.TB) string { return filepath.Join(t.TempDir(), "wharf.db") }, func(t testing.TB) string { return t.TempDir() }},
	{"postgres+s3", func(t testing.TB) string { return storetest.Postgres(t) }, func(t testing.TB) string { return blobtest.FakeS3(t) }},
}

// env is a running server with an admin account.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	server  *server.Server
	store   *countingStore
	blobs   blob.Store
	blobURL string // what the blob store was opened from: a directory, or an s3:// URL
	dsn     string // what the store was opened from, for another replica
	tempDir string
	outbox  string
	// client, when set, sends the requests instead of srv's (another source address).
	client *http.Client
}

// from is e sending from the loopback address 127.0.0.n: each address has its own budgets
// (unknown tokens, sign-ins, uploads at once).
func (e *env) from(n int) *env {
	e2 := *e
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}}
	tr.DialContext = d.DialContext
	e2.client = &http.Client{Transport: tr}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &e2
}

func newEnv(t testing.TB, b backend, opts ...func(*server.Options)) *env {
	t.Helper()
	return newEnvWrapped(t, b, nil, opts...)
}

// newEnvWrapped is newEnv whose server sees the blob store through wrap (a named fake that
// stands for a failing disk or a slow store), when wrap is not nil.
func newEnvWrapped(t testing.TB, b backend, wrap func(blob.Store) blob.Store, opts ...func(*server.Options)) *env {
	t.Helper()
	dsn := b.store(t)
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobURL := b.blobs(t)
	bl, err := blob.Open(t.Context(), blobURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close() })
	if wrap != nil {
		bl = wrap(bl)
	}
	cs := &countingStore{Store: st}
	limits := conda.DefaultLimits()
	limits.ExtraSubdirs = []string{"linux-fake", "osx-fake", "win-fake"}
	tmp, outbox := t.TempDir(), filepath.Join(t.TempDir(), "outbox")
	mailer, err := mail.NewOutbox(outbox, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := server.Options{TempDir: tmp, Limits: limits, MaxUploadBytes: 64 << 20, Mail: mailer, PublicURL: "https://wharf.example.com",
		Logger: slog.New(slog.NewJSONHandler(suiteLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range opts {
		f(&o)
	}
	srv, err := server.New(cs, bl, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(hs.Close)
	hash, err := access.HashPassword(adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(t.Context(), store.NewUser{Name: "admin", Email: "admin@example.com", EmailVerified: true, PasswordHash: hash, Admin: true}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: hs, server: srv, store: cs, blobs: bl, blobURL: blobURL, tempDir: tmp, outbox: outbox, dsn: dsn}
}

// user creates a non-admin account.
func (e *env) user(name, password string) {
	e.t.Helper()
	hash, err := access.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.CreateUser(e.t.Context(), store.NewUser{Name: name, Email: name + "@example.com", EmailVerified: true, PasswordHash: hash}); err != nil {
		e.t.Fatal(err)
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// do sends a request; auth is "user:password" or "".
func (e *env) do(method, path, auth string, body []byte, header ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		u, p, _ := cut(auth, ":")
		req.SetBasicAuth(u, p)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := e.client
	if client == nil {
		client = e.srv.Client()
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

const admin = "admin:" + adminPassword

func (e *env) createChannel(name string, private bool) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"name": name, "private": private})
	if r := e.do("POST", "/api/v1/channels", admin, b, "Content-Type", "application/json"); r.status != http.StatusCreated {
		e.t.Fatalf("create channel %s: %d %s", name, r.status, r.body)
	}
}

func (e *env) upload(channel, filename string, data []byte, labels ...string) resp {
	e.t.Helper()
	q := url.Values{}
	for _, l := range labels {
		q.Add("label", l)
	}
	path := "/api/v1/channels/" + url.PathEscape(channel) + "/files/" + url.PathEscape(filename)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return e.do("PUT", path, admin, data)
}

func (e *env) mustUpload(channel string, spec condatest.Spec, labels ...string) []byte {
	e.t.Helper()
	data := condatest.Build(e.t, spec)
	if r := e.upload(channel, spec.Filename(), data, labels...); r.status != http.StatusCreated {
		e.t.Fatalf("upload %s: %d %s", spec.Filename(), r.status, r.body)
	}
	return data
}

// repodata is the decoded shape of repodata.json.
type repodata struct {
	Info            map[string]any            `json:"info"`
	Packages        map[string]map[string]any `json:"packages"`
	PackagesConda   map[string]map[string]any `json:"packages.conda"`
	Removed         []string                  `json:"removed"`
	RepodataVersion int                       `json:"repodata_version"`
}

func (e *env) repodata(path string) repodata {
	e.t.Helper()
	r := e.do("GET", path, "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var rd repodata
	r.json(e.t, &rd)
	return rd
}

func (rd repodata) filenames() []string {
	var out []string
	for fn := range rd.Packages {
		out = append(out, fn)
	}
	for fn := range rd.PackagesConda {
		out = append(out, fn)
	}
	slices.Sort(out)
	return out
}

func unzstd(t *testing.T, b []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	return out
}

func unbz2(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	return out
}

func spec(name, version, build, subdir string, f condatest.Format) condatest.Spec {
	return condatest.Spec{Name: name, Version: version, Build: build, Subdir: subdir, Format: f}
}

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// waitEmpty waits for the server to finish cleaning up after a request it is still handling.
func waitEmpty(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %v", dir, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
