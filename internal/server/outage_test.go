package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// tcpProxy relays TCP connections to a real server (PostgreSQL here). Stop closes the listener
// and every relayed connection, as a database that goes down or a network that breaks does;
// Start listens again on the same address, and the server is reachable again.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
}

func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) relay(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c) || !p.track(up) {
		c.Close()
		up.Close()
		return
	}
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func (p *tcpProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) Start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// outageRequest is one request a user makes while something is down.
type outageRequest struct {
	name, method, path, auth string
	body                     []byte
	header                   []string
	ok                       int // the answer once everything is back
}

// wantAllUnavailable sends each request and checks that it is answered as wantUnavailable
// says; suffix follows each request's name in the messages.
func (e *env) wantAllUnavailable(t *testing.T, suffix string, requests []outageRequest) {
	t.Helper()
	for _, rq := range requests {
		wantUnavailable(t, rq.name+suffix, e.do(rq.method, rq.path, rq.auth, rq.body, rq.header...))
	}
}

// wantAllServed sends each request and checks that it gets its ok status again; when says
// when ("once the database is back").
func (e *env) wantAllServed(t *testing.T, when string, requests []outageRequest) {
	t.Helper()
	for _, rq := range requests {
		if r := e.do(rq.method, rq.path, rq.auth, rq.body, rq.header...); r.status != rq.ok {
			t.Errorf("%s %s: %d %s, want %d", rq.name, when, r.status, r.body, rq.ok)
		}
	}
}

// sqliteS3 is SQLite with the blobs in a fake S3 server that the test may stop, start again
// or hold; *s3 is set when newEnv opens the store.
func sqliteS3(s3 **blobtest.S3Server) backend {
	return backend{"sqlite+s3", func(t testing.TB) string { return filepath.Join(t.TempDir(), "wharf.db") }, func(t testing.TB) string {
		*s3 = blobtest.NewFakeS3(t)
		return (*s3).URL
	}}
}

// wantUnavailable checks that r is a 503 with Retry-After and a message that says what
// happened without any internals (addresses, driver names, error texts of the store).
func wantUnavailable(t *testing.T, what string, r resp) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("%s: %d %s, want 503", what, r.status, r.body)
		return
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	body := strings.ToLower(string(r.body))
	for _, leak := range []string{"127.0.0.1", "dial", "connect:", "pgconn", "postgres", "sqlite", "s3", "refused", "sqlstate"} {
		if strings.Contains(body, leak) {
			t.Errorf("%s: the answer %q tells of internals (%q)", what, r.body, leak)
		}
	}
	if len(body) > 0 && !strings.Contains(body, "try again") { // HEAD answers have no body
		t.Errorf("%s: the answer %q does not say to try again", what, r.body)
	}
}

// With the database unreachable, every kind of request (tokens, passwords, anonymous
// repodata, downloads, pages) is answered 503 with Retry-After, never 500; when it is back,
// the server serves again by itself.
func TestDatabaseOutageAnswers503(t *testing.T) {
	pgAdmin := os.Getenv("WHARF_TEST_POSTGRES")
	if pgAdmin == "" {
		pgAdmin = storetest.DefaultPostgres
	}
	u, err := url.Parse(pgAdmin)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	b := backend{"postgres-via-proxy", func(t testing.TB) string {
		dsn, err := url.Parse(storetest.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		dsn.Host = proxy.addr
		return dsn.String()
	}, func(t testing.TB) string { return t.TempDir() }}
	e := newEnv(t, b)
	e.createChannel("acme", false)
	cs := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	e.mustUpload("acme", cs)
	ws := pypitest.Spec{Name: "demo-lib", Version: "1.0"}
	wheel := pypitest.Build(t, ws)
	if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
		t.Fatalf("upload wheel: %d %s", r.status, r.body)
	}
	e.user("bob", "bob-password-long")
	tok := e.newToken("bob:bob-password-long", map[string]any{"name": "ci"})
	late := spec("demo", "2.0", "0", "noarch", condatest.Conda)
	requests := []outageRequest{
		{"anonymous repodata", "GET", "/conda/acme/noarch/repodata.json", "", nil, nil, 200},
		{"anonymous package", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, nil, 200},
		{"anonymous PyPI page", "GET", "/pypi/acme/simple/demo-lib/", "", nil, nil, 200},
		{"anonymous PyPI metadata", "GET", "/pypi/acme/files/" + sha256hex(wheel) + "/" + ws.Filename() + ".metadata", "", nil, nil, 200},
		{"password", "GET", "/api/v1/user", "bob:bob-password-long", nil, nil, 200},
		{"token", "GET", "/api/v1/tokens", "", nil, []string{"Authorization", "token " + tok}, 200},
		{"token in the path", "GET", "/t/" + tok + "/conda/acme/noarch/repodata.json", "", nil, nil, 200},
		{"new token", "POST", "/api/v1/tokens", "bob:bob-password-long", []byte(`{"name":"during"}`), []string{"Content-Type", "application/json"}, 201},
		{"upload", "PUT", "/api/v1/channels/acme/files/" + late.Filename(), admin, condatest.Build(t, late), nil, 201},
		{"web page", "GET", "/channels/acme", "", nil, nil, 200},
		{"web download", "GET", "/channels/acme/files/noarch/" + cs.Filename(), "", nil, nil, 200},
	}
	proxy.Stop()
	e.wantAllUnavailable(t, "", requests)
	if r := e.do("GET", "/healthz", "", nil); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("/healthz during the outage: %d (Retry-After %q), want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	proxy.Start(t)
	if r := e.do("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("/healthz once the database is back: %d %s", r.status, r.body)
	}
	e.wantAllServed(t, "once the database is back", requests)
}

// With the object store down, downloads and uploads are answered 503 with Retry-After (not
// a 200 with no bytes); what needs no blob is served; once it is back, all is served again.
func TestBlobStoreOutageAnswers503(t *testing.T) {
	var s3 *blobtest.S3Server
	b := sqliteS3(&s3)
	e := newEnv(t, b)
	e.createChannel("acme", false)
	cs := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	e.mustUpload("acme", cs)
	ws := pypitest.Spec{Name: "demo-lib", Version: "1.0"}
	wheel := pypitest.Build(t, ws)
	if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
		t.Fatalf("upload wheel: %d %s", r.status, r.body)
	}
	late := spec("demo", "2.0", "0", "noarch", condatest.Conda)
	blobRequests := []outageRequest{
		{"conda download", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, nil, 200},
		{"conda HEAD", "HEAD", "/conda/acme/noarch/" + cs.Filename(), "", nil, nil, 200},
		{"conda Range", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, []string{"Range", "bytes=0-9"}, 206},
		{"PyPI download", "GET", "/pypi/acme/files/" + sha256hex(wheel) + "/" + ws.Filename(), "", nil, nil, 200},
		{"web download", "GET", "/channels/acme/files/noarch/" + cs.Filename(), "", nil, nil, 200},
		{"upload", "PUT", "/api/v1/channels/acme/files/" + late.Filename(), admin, condatest.Build(t, late), nil, 201},
	}
	s3.Stop()
	e.wantAllUnavailable(t, "", blobRequests)
	if r := e.do("GET", "/conda/acme/noarch/repodata.json", "", nil); r.status != http.StatusOK {
		t.Errorf("repodata (no blob needed) while the object store is down: %d", r.status)
	}
	if r := e.do("GET", "/pypi/acme/files/"+sha256hex(wheel)+"/"+ws.Filename()+".metadata", "", nil); r.status != http.StatusOK {
		t.Errorf(".metadata (kept in the database) while the object store is down: %d", r.status)
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 1 {
		t.Errorf("the upload refused during the outage is listed: %v", got)
	}
	if err := s3.Start(); err != nil {
		t.Fatal(err)
	}
	e.wantAllServed(t, "once the object store is back", blobRequests)
}

// fullDiskStore is a named fake of a blob store on a full disk: while full is set, every Put
// fails with ENOSPC, as a write to a full filesystem does.
type fullDiskStore struct {
	blob.Store
	full *atomic.Bool
}

func (s fullDiskStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if s.full.Load() {
		return fmt.Errorf("put %s: %w", key, &os.PathError{Op: "write", Path: key, Err: syscall.ENOSPC})
	}
	return s.Store.Put(ctx, key, r, size)
}

// wantFull checks that r is the 507 of a full disk, saying so plainly.
func wantFull(t *testing.T, what string, r resp) {
	t.Helper()
	if r.status != http.StatusInsufficientStorage || !strings.Contains(string(r.body), "no space") {
		t.Errorf("%s: %d %s, want 507 saying the server has no space", what, r.status, r.body)
	}
	for _, leak := range []string{"/tmp", "ENOSPC", "device", "SQLITE", "sqlite"} {
		if strings.Contains(string(r.body), leak) {
			t.Errorf("%s: the answer %q tells of internals (%q)", what, r.body, leak)
		}
	}
}

// A blob store whose writes fail with ENOSPC: the upload is answered 507, nothing is
// recorded, and once space is back the same upload goes in.
func TestFullBlobStoreAnswers507(t *testing.T) {
	full := &atomic.Bool{}
	e := newEnvWrapped(t, backends[0], func(b blob.Store) blob.Store { return fullDiskStore{b, full} })
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)
	full.Store(true)
	wantFull(t, "upload to a full blob store", e.upload("acme", s.Filename(), data))
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("an upload that found the disk full is listed: %v", got)
	}
	full.Store(false)
	if r := e.upload("acme", s.Filename(), data); r.status != http.StatusCreated {
		t.Errorf("upload once there is space: %d %s", r.status, r.body)
	}
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory, or skips the test where this
// process may not mount (it needs root).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs for a real full disk (needs root): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file into dir until the filesystem is full, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return p
		}
	}
}

// A real full disk (a small tmpfs) under each of what an upload writes: the spool, the blob
// directory, the SQLite database. Each gives 507; reads go on; when space is freed, the
// upload goes in. The spool and blob directories made read-only (as a filesystem with errors
// is) give 503.
func TestFullDiskAnswers507(t *testing.T) {
	for _, on := range []string{"spool", "blobs", "database"} {
		t.Run(on, func(t *testing.T) {
			disk := mountTmpfs(t, 8<<20)
			pick := func(what string, elsewhere func() string) string {
				if what == on {
					p := filepath.Join(disk, what)
					if err := os.MkdirAll(p, 0o700); err != nil {
						t.Fatal(err)
					}
					return p
				}
				return elsewhere()
			}
			b := backend{"on-tmpfs", func(t testing.TB) string {
				return filepath.Join(pick("database", t.TempDir), "wharf.db")
			}, func(t testing.TB) string { return pick("blobs", t.TempDir) }}
			spool := pick("spool", t.TempDir)
			e := newEnv(t, b, func(o *server.Options) { o.TempDir = spool })
			e.createChannel("acme", false)
			e.mustUpload("acme", spec("demo", "1.0", "0", "noarch", condatest.Conda))
			s := spec("demo", "2.0", "0", "noarch", condatest.Conda)
			// A payload that does not compress, larger than what a full disk has left.
			payload := make([]byte, 64<<10)
			rand.Read(payload)
			s.Files = map[string][]byte{"share/data.bin": payload}
			data := condatest.Build(t, s)

			filler := fill(t, disk)
			wantFull(t, "upload with the "+on+" on a full disk", e.upload("acme", s.Filename(), data))
			if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 1 {
				t.Errorf("repodata on a full disk: %v, want the one earlier file", got)
			}
			if r := e.do("GET", "/conda/acme/noarch/demo-1.0-0.conda", "", nil); r.status != http.StatusOK {
				t.Errorf("download on a full disk: %d", r.status)
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			if r := e.upload("acme", s.Filename(), data); r.status != http.StatusCreated {
				t.Errorf("upload once there is space: %d %s", r.status, r.body)
			}

			if on == "database" {
				return // a filesystem with a file open for writing cannot be made read-only
			}
			if out, err := exec.Command("mount", "-o", "remount,ro", disk).CombinedOutput(); err != nil {
				t.Fatalf("remount read-only: %v: %s", err, out)
			}
			s3 := spec("demo", "3.0", "0", "noarch", condatest.Conda)
			s3.Files = map[string][]byte{"share/other.bin": payload}
			wantUnavailable(t, "upload with the "+on+" read-only", e.upload("acme", s3.Filename(), condatest.Build(t, s3)))
			if out, err := exec.Command("mount", "-o", "remount,rw", disk).CombinedOutput(); err != nil {
				t.Fatalf("remount read-write: %v: %s", err, out)
			}
			if r := e.upload("acme", s3.Filename(), condatest.Build(t, s3)); r.status != http.StatusCreated {
				t.Errorf("upload once the disk is writable again: %d %s", r.status, r.body)
			}
		})
	}
}

// A SQLite database that another process holds locked for longer than the store waits (its
// busy timeout) gives 503, and the server goes on once the lock is released.
func TestLockedSQLiteAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out SQLite's busy timeout (15 s)")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf.db")
	b := backend{"sqlite-locked", func(testing.TB) string { return path }, func(t testing.TB) string { return t.TempDir() }}
	e := newEnv(t, b)
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)

	// Another process (here: another connection) locks the database for writes.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, "upload with the database locked", e.upload("acme", s.Filename(), data))
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if r := e.upload("acme", s.Filename(), data); r.status != http.StatusCreated {
		t.Errorf("upload once the lock is released: %d %s", r.status, r.body)
	}
}

// renameDatabase renames a PostgreSQL database, ending the sessions connected to it first
// (the server under test reconnects meanwhile: it is tried again until it takes).
func renameDatabase(t *testing.T, admin *sql.DB, from, to string) {
	t.Helper()
	var err error
	for range 50 {
		if _, err = admin.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, from); err != nil {
			t.Fatal(err)
		}
		if _, err = admin.ExecContext(t.Context(), `ALTER DATABASE `+from+` RENAME TO `+to); err == nil {
			return
		}
	}
	t.Fatalf("rename database %s to %s: %v", from, to, err)
}

// A PostgreSQL server that is there but refuses to connect (its database renamed away: "database
// does not exist", SQLSTATE 3D000) is an outage like one that cannot be reached: every request
// is answered 503 with Retry-After, each logged as an ERROR that says what is wrong; once the
// database is back under its name, the server serves again by itself.
func TestMissingDatabaseAnswers503(t *testing.T) {
	adminDSN := os.Getenv("WHARF_TEST_POSTGRES")
	if adminDSN == "" {
		adminDSN = storetest.DefaultPostgres
	}
	var name string
	b := backend{"postgres", func(t testing.TB) string {
		dsn := storetest.Postgres(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
		return dsn
	}, func(t testing.TB) string { return t.TempDir() }}
	logs := &syncBuffer{}
	e := newEnv(t, b, func(o *server.Options) { o.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	e.createChannel("acme", false)
	cs := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	e.mustUpload("acme", cs)
	e.user("bob", "bob-password-long")
	tok := e.newToken("bob:bob-password-long", map[string]any{"name": "ci"})
	late := spec("demo", "2.0", "0", "noarch", condatest.Conda)
	requests := []outageRequest{
		{"anonymous repodata", "GET", "/conda/acme/noarch/repodata.json", "", nil, nil, 200},
		{"anonymous package", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, nil, 200},
		{"password", "GET", "/api/v1/user", "bob:bob-password-long", nil, nil, 200},
		{"token", "GET", "/api/v1/tokens", "", nil, []string{"Authorization", "token " + tok}, 200},
		{"new token", "POST", "/api/v1/tokens", "bob:bob-password-long", []byte(`{"name":"during"}`), []string{"Content-Type", "application/json"}, 201},
		{"upload", "PUT", "/api/v1/channels/acme/files/" + late.Filename(), admin, condatest.Build(t, late), nil, 201},
		{"web page", "GET", "/channels/acme", "", nil, nil, 200},
	}

	pg, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	away := name + "_away"
	renameDatabase(t, pg, name, away)
	back := false
	defer func() {
		if !back { // the test database is dropped by its name
			renameDatabase(t, pg, away, name)
		}
	}()
	// Twice: the first requests may meet the pool's sessions that the rename ended (57P01),
	// the second connect anew.
	e.wantAllUnavailable(t, "", requests)
	mark := len(logLines(t, logs))
	e.wantAllUnavailable(t, ", again", requests)
	said := 0
	for _, m := range logLines(t, logs)[mark:] {
		if m["level"] == "ERROR" && strings.Contains(fmt.Sprint(m), "database does not exist") {
			said++
		}
	}
	if said < len(requests) {
		t.Errorf("%d ERROR log lines say the database does not exist, want one for each of the %d requests:\n%s", said, len(requests), logs.String())
	}
	renameDatabase(t, pg, away, name)
	back = true
	e.wantAllServed(t, "once the database is back", requests)
}

// holdProxy relays TCP connections to a real server (PostgreSQL here) and can make that
// server a black hole, as a hung host is: it accepts connections and never answers. Hold
// silences every connection, those relayed already (a pooled connection that stops
// answering) and those made from then on (a fresh one): what the client sends is read and
// dropped, nothing comes back. Release closes the held connections and relays again.
type holdProxy struct {
	target, addr string
	held         atomic.Bool
	// Bytes that clients sent into silence, on connections relayed before Hold (pooled) and
	// on connections made while held (fresh).
	pooled, fresh atomic.Int64
	mu            sync.Mutex
	ln            net.Listener
	conns         map[net.Conn]struct{}
}

func newHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	p := &holdProxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	return p
}

func (p *holdProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *holdProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *holdProxy) relay(c net.Conn) {
	if p.held.Load() {
		p.track(c)
		io.Copy(counter{&p.fresh}, c) // accepted, never answered
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.track(c, up)
	go p.pump(up, c, &p.pooled)
	p.pump(c, up, nil)
}

// pump copies from src to dst until either fails; while held it drops what it reads,
// counting it in silenced (when not nil).
func (p *holdProxy) pump(dst, src net.Conn, silenced *atomic.Int64) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.held.Load() {
				if silenced != nil {
					silenced.Add(int64(n))
				}
			} else if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *holdProxy) Hold() { p.held.Store(true) }

// Cut closes every connection relayed so far, and holds: the pool's connections are gone,
// and new ones meet the black hole.
func (p *holdProxy) Cut() { p.held.Store(true); p.closeAll() }

func (p *holdProxy) Release() { p.closeAll(); p.held.Store(false) }

type counter struct{ n *atomic.Int64 }

func (c counter) Write(b []byte) (int, error) { c.n.Add(int64(len(b))); return len(b), nil }

// A database host that accepts connections and never answers (a black hole) does not hang
// requests: a store call made for a request that gets no answer within the store timeout
// ends, and the request is answered 503 with Retry-After; on a pooled connection that stops
// answering as on a fresh connection that never does. Once the host answers again, the
// server serves by itself. (The client's bound is far longer than the store timeout: without
// it, these requests never end.)
func TestUnansweringDatabaseAnswers503(t *testing.T) {
	pgAdmin := os.Getenv("WHARF_TEST_POSTGRES")
	if pgAdmin == "" {
		pgAdmin = storetest.DefaultPostgres
	}
	u, err := url.Parse(pgAdmin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		start func(p *holdProxy)
		met   func(p *holdProxy) int64 // bytes sent into silence on the kind of connection tested
	}{
		{"pooled connection", (*holdProxy).Hold, func(p *holdProxy) int64 { return p.pooled.Load() }},
		{"fresh connection", (*holdProxy).Cut, func(p *holdProxy) int64 { return p.fresh.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := newHoldProxy(t, u.Host)
			b := backend{"postgres-via-black-hole", func(t testing.TB) string {
				dsn, err := url.Parse(storetest.Postgres(t))
				if err != nil {
					t.Fatal(err)
				}
				dsn.Host = proxy.addr
				return dsn.String()
			}, func(t testing.TB) string { return t.TempDir() }}
			logs := &syncBuffer{}
			e := newEnv(t, b, func(o *server.Options) {
				o.StoreTimeout = time.Second
				o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			})
			e.client = &http.Client{Transport: e.srv.Client().Transport, Timeout: time.Minute}
			e.createChannel("acme", false)
			cs := spec("demo", "1.0", "0", "noarch", condatest.Conda)
			e.mustUpload("acme", cs)
			late := spec("demo", "2.0", "0", "noarch", condatest.Conda)
			requests := []outageRequest{
				{"anonymous repodata", "GET", "/conda/acme/noarch/repodata.json", "", nil, nil, 200},
				{"anonymous package", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, nil, 200},
				{"password", "GET", "/api/v1/user", admin, nil, nil, 200},
				{"upload", "PUT", "/api/v1/channels/acme/files/" + late.Filename(), admin, condatest.Build(t, late), nil, 201},
				{"web page", "GET", "/channels/acme", "", nil, nil, 200},
			}
			tc.start(proxy)
			e.wantAllUnavailable(t, "", requests)
			if tc.met(proxy) == 0 {
				t.Errorf("no request met a %s to the black hole", tc.name)
			}
			if !strings.Contains(logs.String(), "the database did not answer within 1s") {
				t.Errorf("no log line says the database did not answer in time:\n%s", logs.String())
			}
			proxy.Release()
			e.wantAllServed(t, "once the database answers again", requests)
		})
	}
}

// An object store that accepts connections and never answers (or stops in the middle of a
// blob) holds no request for longer than the store timeout: downloads and uploads are
// answered 503 with Retry-After, a download whose blob stops mid-way is cut and logged as an
// error, and once the store answers again all is served again.
func TestBlobStoreThatNeverAnswersAnswers503(t *testing.T) {
	var s3 *blobtest.S3Server
	b := sqliteS3(&s3)
	logs := &syncBuffer{}
	e := newEnv(t, b, func(o *server.Options) {
		o.StoreTimeout = time.Second
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	// Long enough to see a hang as a failure rather than as a client's timeout.
	e.client = &http.Client{Transport: e.srv.Client().Transport, Timeout: time.Minute}
	e.createChannel("acme", false)
	cs := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	payload := make([]byte, 256<<10)
	rand.Read(payload) // incompressible, so that the package is larger than what comes before the stall
	cs.Files = map[string][]byte{"share/payload.bin": payload}
	pkg := condatest.Build(t, cs)
	if r := e.upload("acme", cs.Filename(), pkg); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	ws := pypitest.Spec{Name: "demo-lib", Version: "1.0"}
	wheel := pypitest.Build(t, ws)
	if r := e.upload("acme", ws.Filename(), wheel); r.status != http.StatusCreated {
		t.Fatalf("upload wheel: %d %s", r.status, r.body)
	}
	late := spec("demo", "2.0", "0", "noarch", condatest.Conda)
	blobRequests := []outageRequest{
		{"conda download", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, nil, 200},
		{"conda Range", "GET", "/conda/acme/noarch/" + cs.Filename(), "", nil, []string{"Range", "bytes=0-9"}, 206},
		{"PyPI download", "GET", "/pypi/acme/files/" + sha256hex(wheel) + "/" + ws.Filename(), "", nil, nil, 200},
		{"upload", "PUT", "/api/v1/channels/acme/files/" + late.Filename(), admin, condatest.Build(t, late), nil, 201},
	}
	s3.Hang(-1)
	e.wantAllUnavailable(t, " (object store not answering)", blobRequests)
	if r := e.do("GET", "/conda/acme/noarch/repodata.json", "", nil); r.status != http.StatusOK {
		t.Errorf("repodata (no blob needed) while the object store does not answer: %d", r.status)
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 1 {
		t.Errorf("the upload refused while the object store did not answer is listed: %v", got)
	}

	// The answer has started when the store stops: the download is cut short, not held.
	s3.Hang(64 << 10)
	res, err := e.client.Get(e.srv.URL + "/conda/acme/noarch/" + cs.Filename())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err == nil || len(got) >= len(pkg) {
		t.Errorf("download stalling mid-blob: %d, %d of %d bytes, %v; want 200 cut short with an error", res.StatusCode, len(got), len(pkg), err)
	}
	s3.Release()
	if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), cs.Filename()) {
		t.Errorf("the download cut mid-blob is not logged as an error naming the file:\n%s", logs.String())
	}

	e.wantAllServed(t, "once the object store answers again", blobRequests)
}
