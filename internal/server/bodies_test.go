package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
)

// rawRequest opens a TCP connection to the test server and sends a request's head; the body
// is the caller's to send, as slowly as it likes.
func (e *env) rawRequest(method, path string, header ...string) net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: wharf.test\r\n", method, path)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		e.t.Fatal(err)
	}
	return conn
}

// trickle writes body to conn one byte every interval, until it is all sent, a write fails
// (the server closed the connection) or stop is closed.
func trickle(conn net.Conn, body []byte, interval time.Duration, stop <-chan struct{}) {
	for _, c := range body {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		if _, err := conn.Write([]byte{c}); err != nil {
			return
		}
	}
}

// answer reads the server's answer on conn, failing the test if none comes within limit (a
// generous bound: the server's own deadline is far shorter).
func answer(t *testing.T, conn net.Conn, limit time.Duration) (*http.Response, string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", limit, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// Bodies that trickle in (one byte every 100 ms) are cut off once the body deadline passes,
// with 408: fifty such connections must not stay open for as long as their clients like.
func TestSlowBodiesAreCutOff(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) { o.BodyTimeout = 300 * time.Millisecond })
	stop := make(chan struct{})
	defer close(stop)
	body := []byte(`{"name":"slow-token","scopes":["conda:download"],"description":"` + strings.Repeat("x", 200) + `"}`)
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		conn := e.rawRequest("POST", "/api/v1/tokens", "Authorization", "Basic "+basic("admin", adminPassword),
			"Content-Type", "application/json", "Content-Length", fmt.Sprint(len(body)))
		go trickle(conn, body, 100*time.Millisecond, stop)
		wg.Go(func() {
			res, msg := answer(t, conn, 15*time.Second)
			if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(msg, "did not arrive") {
				t.Errorf("trickled JSON body #%d: %d %s, want 408 saying the body did not arrive in time", i, res.StatusCode, msg)
			}
		})
	}
	form := []byte("username=admin&password=" + adminPassword + "&next=%2F" + strings.Repeat("x", 100))
	conn := e.rawRequest("POST", "/login", "Content-Type", "application/x-www-form-urlencoded", "Content-Length", fmt.Sprint(len(form)))
	go trickle(conn, form, 100*time.Millisecond, stop)
	if res, msg := answer(t, conn, 15*time.Second); res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("trickled form: %d %s, want 408", res.StatusCode, msg)
	}
	wg.Wait()
	// The same body sent at once is fine, and the server is still at work.
	if r := e.do("POST", "/api/v1/tokens", admin, body, "Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Errorf("token made at once: %d %s", r.status, r.body)
	}
}

func TestSlowUploadIsCutOff(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.UploadIdleTimeout = time.Second // the idle check alone never fires: a byte comes every 100 ms
		o.UploadMinRate = 1000
		o.MaxUploadBytes = 2 << 30
	})
	e.createChannel("acme", false)
	stop := make(chan struct{})
	defer close(stop)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)

	// An upload that declares 1.5 GB and sends a byte every 100 ms.
	conn := e.rawRequest("PUT", "/api/v1/channels/acme/files/"+s.Filename(), "Authorization", "Basic "+basic("admin", adminPassword),
		"Content-Length", fmt.Sprint(int64(1500)<<20))
	go trickle(conn, data, 100*time.Millisecond, stop)
	res, msg := answer(t, conn, 20*time.Second)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(msg, "1000 bytes a second") {
		t.Errorf("trickled upload: %d %s, want 408 naming the minimum rate", res.StatusCode, msg)
	}

	// twine's form, the same.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField(":action", "file_upload")
	mw.WriteField("name", "demo")
	mw.WriteField("version", "1.0")
	ws := pypitest.Spec{Name: "demo", Version: "1.0"}
	fw, _ := mw.CreateFormFile("content", ws.Filename())
	fw.Write(pypitest.Build(t, ws))
	mw.Close()
	conn = e.rawRequest("POST", "/pypi/acme/", "Authorization", "Basic "+basic("admin", adminPassword),
		"Content-Type", mw.FormDataContentType(), "Content-Length", fmt.Sprint(form.Len()))
	go trickle(conn, form.Bytes(), 100*time.Millisecond, stop)
	res, msg = answer(t, conn, 20*time.Second)
	if res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("trickled twine upload: %d %s, want 408", res.StatusCode, msg)
	}
	if got := e.repodata("/conda/acme/noarch/repodata.json").filenames(); len(got) != 0 {
		t.Errorf("a dropped upload was stored: %v", got)
	}
	waitEmpty(t, e.tempDir)
}

// A slow but steady link (twice the minimum rate, for longer than the grace) gets its upload in.
func TestSteadySlowUploadPasses(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.UploadIdleTimeout = 500 * time.Millisecond
		o.UploadMinRate = 200
	})
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := condatest.Build(t, s)
	conn := e.rawRequest("PUT", "/api/v1/channels/acme/files/"+s.Filename(), "Authorization", "Basic "+basic("admin", adminPassword),
		"Content-Length", fmt.Sprint(len(data)))
	// 100 bytes every 250 ms: 400 bytes a second.
	start := time.Now()
	for rest := data; len(rest) > 0; {
		n := min(100, len(rest))
		if _, err := conn.Write(rest[:n]); err != nil {
			t.Fatalf("the server stopped reading after %d of %d bytes: %v", len(data)-len(rest), len(data), err)
		}
		rest = rest[n:]
		time.Sleep(250 * time.Millisecond)
	}
	if res, msg := answer(t, conn, 20*time.Second); res.StatusCode != http.StatusCreated {
		t.Errorf("steady upload of %d bytes over %s: %d %s", len(data), time.Since(start).Round(time.Millisecond), res.StatusCode, msg)
	}
}

// slowPutStore is a named fake: a blob store whose writes take delay, as a slow disk or a far
// S3 bucket does.
type slowPutStore struct {
	blob.Store
	delay time.Duration
}

func (s slowPutStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.Put(ctx, key, r, size)
}

// The upload deadlines are for the body: storing it may take longer than the idle timeout
// (net/http clears the read deadline when the body ends; no read after that may set it again).
func TestUploadStoredAfterTheIdleTimeout(t *testing.T) {
	e := newEnvWrapped(t, backends[0], func(b blob.Store) blob.Store { return slowPutStore{b, time.Second} },
		func(o *server.Options) { o.UploadIdleTimeout = 200 * time.Millisecond })
	e.createChannel("acme", false)
	if r := e.upload("acme", spec("demo", "1.0", "0", "noarch", condatest.Conda).Filename(), condatest.Build(t, spec("demo", "1.0", "0", "noarch", condatest.Conda))); r.status != http.StatusCreated {
		t.Fatalf("upload stored slowly: %d %s", r.status, r.body)
	}
}

// One client address may have UploadsPerClient uploads in progress; one more gets 429 with
// Retry-After, and a slot comes free when an upload ends.
func TestUploadsPerClientAreBounded(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.UploadsPerClient = 2
		o.UploadIdleTimeout = time.Minute
		o.UploadMinRate = -1
	})
	e.createChannel("acme", false)
	var stalled []net.Conn
	for i := range 2 {
		s := spec("demo", fmt.Sprintf("1.%d", i), "0", "noarch", condatest.Conda)
		data := condatest.Build(t, s)
		conn := e.rawRequest("PUT", "/api/v1/channels/acme/files/"+s.Filename(), "Authorization", "Basic "+basic("admin", adminPassword),
			"Content-Length", fmt.Sprint(len(data)))
		conn.Write(data[:10])
		stalled = append(stalled, conn)
	}
	waitFiles(t, e.tempDir, 2) // both are being spooled
	third := spec("demo", "2.0", "0", "noarch", condatest.Conda)
	r := e.upload("acme", third.Filename(), condatest.Build(t, third))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "2 uploads") {
		t.Fatalf("third concurrent upload: %d %s (Retry-After %q), want 429 naming the bound, with Retry-After", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Other requests from the same client are not held up.
	if r := e.do("GET", "/conda/acme/noarch/repodata.json", "", nil); r.status != http.StatusOK {
		t.Errorf("repodata during two uploads: %d", r.status)
	}
	stalled[0].Close()
	waitFiles(t, e.tempDir, 1)
	if r := e.upload("acme", third.Filename(), condatest.Build(t, third)); r.status != http.StatusCreated {
		t.Errorf("upload once a slot is free: %d %s", r.status, r.body)
	}
}

// waitFiles waits until dir holds n entries.
func waitFiles(t *testing.T, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d entries, want %d", dir, len(left), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A body that stops short of its Content-Length is answered 408 once the body deadline
// passes, whatever arrived before it: bytes that are not JSON yet ("{{" may be the start of
// anything the client meant to send), or a whole JSON value with the rest of the declared
// length missing. Both were answered 400 "invalid JSON body" after the deadline.
func TestBodyCutByTheDeadlineIs408(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) { o.BodyTimeout = 300 * time.Millisecond })
	for _, tc := range []struct{ name, method, path, ctype, sent string }{
		{"JSON, not yet valid", "POST", "/api/v1/tokens", "application/json", `{{`},
		{"JSON, a whole value", "POST", "/api/v1/tokens", "application/json", `{"name":"cut"}`},
		{"form", "POST", "/login", "application/x-www-form-urlencoded", "username=admin&pass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := e.rawRequest(tc.method, tc.path, "Authorization", "Basic "+basic("admin", adminPassword),
				"Content-Type", tc.ctype, "Content-Length", "200")
			if _, err := io.WriteString(conn, tc.sent); err != nil {
				t.Fatal(err)
			}
			res, msg := answer(t, conn, 15*time.Second)
			if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(msg, "did not arrive") {
				t.Errorf("%q of 200 bytes, then nothing: %d %s, want 408 saying the body did not arrive in time", tc.sent, res.StatusCode, msg)
			}
		})
	}
	if r := e.do("GET", "/api/v1/tokens", admin, nil); r.status != http.StatusOK || strings.Contains(string(r.body), `"cut"`) {
		t.Errorf("tokens after the cut bodies: %d %s, want none made", r.status, r.body)
	}
}

// wantClosed checks that the server closes conn (after its answer) cleanly: a read ends with
// EOF, not with a reset, which may discard an answer the client has not read yet.
func wantClosed(t *testing.T, conn net.Conn, limit time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	n, err := conn.Read(make([]byte, 1))
	if err != io.EOF {
		t.Errorf("after the answer: read %d bytes, %v; want the connection closed (EOF)", n, err)
	}
}

// A request refused before its body is read is answered at once, and its connection closed:
// net/http would otherwise read what is left of a body under 256 KiB before it sends the
// status line, waiting for as long as the body deadline lets a client that trickles, or that
// waits for the answer before it sends the rest. The body deadlines here are an hour: an
// answer that waits for them does not come within the test's bound.
func TestRefusalWithBodyUnreadIsAnsweredAtOnce(t *testing.T) {
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.BodyTimeout = time.Hour
		o.UploadIdleTimeout = time.Hour
		o.UploadMinRate = -1
		o.UploadsPerClient = 1
		o.MaxUploadBytes = 50000
	})
	e.createChannel("acme", false)
	e.user("bob", "bob-password-long")
	declared := "40000" // what each request says it sends; it sends 100 bytes, then waits
	pkg := spec("demo", "1.0", "0", "noarch", condatest.Conda).Filename()
	put := func(auth, path string) []string {
		return []string{"PUT", path, "Authorization", "Basic " + auth, "Content-Length", declared}
	}
	refused := func(t *testing.T, status int, req []string) {
		t.Helper()
		conn := e.rawRequest(req[0], req[1], req[2:]...)
		if _, err := conn.Write(bytes.Repeat([]byte{'x'}, 100)); err != nil {
			t.Fatal(err)
		}
		res, msg := answer(t, conn, 10*time.Second)
		if res.StatusCode != status {
			t.Errorf("%d %s, want %d", res.StatusCode, msg, status)
		}
		if !res.Close {
			t.Errorf("the answer does not say Connection: close")
		}
		wantClosed(t, conn, 10*time.Second)
	}

	t.Run("429, too many uploads", func(t *testing.T) {
		req := put(basic("admin", adminPassword), "/api/v1/channels/acme/files/"+pkg)
		held := e.rawRequest(req[0], req[1], req[2:]...)
		held.Write([]byte("x"))
		waitFiles(t, e.tempDir, 1) // it holds the one slot
		refused(t, http.StatusTooManyRequests, put(basic("admin", adminPassword), "/api/v1/channels/acme/files/"+pkg))
		held.Close()
		waitFiles(t, e.tempDir, 0)
	})
	e.createChannel("secret", true)
	twine := func(auth, channel string) []string {
		return []string{"POST", "/pypi/" + channel + "/", "Authorization", "Basic " + auth,
			"Content-Type", "multipart/form-data; boundary=b", "Content-Length", declared}
	}
	for _, tc := range []struct {
		name   string
		status int
		req    []string
	}{
		{"401, wrong password", http.StatusUnauthorized, put(basic("admin", "wrong"), "/api/v1/channels/acme/files/"+pkg)},
		{"403, no write access", http.StatusForbidden, put(basic("bob", "bob-password-long"), "/api/v1/channels/acme/files/"+pkg)},
		{"404, no such channel", http.StatusNotFound, put(basic("admin", adminPassword), "/api/v1/channels/nope/files/"+pkg)},
		{"413, declared too large", http.StatusRequestEntityTooLarge, append(put(basic("admin", adminPassword), "/api/v1/channels/acme/files/"+pkg)[:4], "Content-Length", "60000")},
		{"400, not a package's name", http.StatusBadRequest, put(basic("admin", adminPassword), "/api/v1/channels/acme/files/notes.txt")},
		{"400, bad label", http.StatusBadRequest, put(basic("admin", adminPassword), "/api/v1/channels/acme/files/"+pkg+"?label=-x")},
		{"twine, 401", http.StatusUnauthorized, twine(basic("admin", "wrong"), "acme")},
		// (A 403 for twine comes after the form's fields, which name the project: a grant on
		// that one project may allow it.)
		{"twine, 404", http.StatusNotFound, twine(basic("bob", "bob-password-long"), "secret")},
		{"JSON of another type", http.StatusBadRequest, []string{"POST", "/api/v1/tokens", "Authorization", "Basic " + basic("admin", adminPassword),
			"Content-Type", "text/plain", "Content-Length", declared}},
		{"a path that is not canonical", http.StatusNotFound, []string{"POST", "/api/v1//tokens", "Content-Type", "application/json", "Content-Length", declared}},
		{"form from another site", http.StatusForbidden, []string{"POST", "/login", "Origin", "https://elsewhere.example",
			"Content-Type", "application/x-www-form-urlencoded", "Content-Length", declared}},
	} {
		t.Run(tc.name, func(t *testing.T) { refused(t, tc.status, tc.req) })
	}

	// A client that sends its whole body before it reads (as twine does) gets the refusal and
	// then the end of the connection, not a reset that could discard the answer unread.
	conn := e.rawRequest("PUT", "/api/v1/channels/acme/files/"+pkg, "Authorization", "Basic "+basic("admin", "wrong"), "Content-Length", declared)
	if _, err := conn.Write(bytes.Repeat([]byte{'x'}, 40000)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the answer and the body cross
	if res, msg := answer(t, conn, 10*time.Second); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("refused upload sent whole: %d %s, want 401", res.StatusCode, msg)
	}
	wantClosed(t, conn, 10*time.Second)

	// A body read whole keeps its connection: a refusal after it does not close it.
	body := []byte(`{"name":"x","scopes":["no-such-scope"]}`)
	conn = e.rawRequest("POST", "/api/v1/tokens", "Authorization", "Basic "+basic("admin", adminPassword),
		"Content-Type", "application/json", "Content-Length", fmt.Sprint(len(body)))
	conn.Write(body)
	if res, msg := answer(t, conn, 10*time.Second); res.StatusCode != http.StatusBadRequest || res.Close {
		t.Errorf("refused token, body read whole: %d (close %v) %s, want 400 on a connection kept open", res.StatusCode, res.Close, msg)
	}
}
