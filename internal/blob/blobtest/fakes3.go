package blobtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// FakeS3 starts an in-memory fake S3 server (gofakes3) for the length of the test, creates a
// fresh bucket in it, points the AWS environment at fake credentials, and returns the s3://
// URL that blob.Open takes. It is a fake: no auth, no durability, nothing leaves the process.
// It uses t.Setenv, so the calling test (and its parents) must not be parallel.
func FakeS3(t testing.TB) string {
	t.Helper()
	return NewFakeS3(t).URL
}

// S3Server is a fake S3 server (see FakeS3) that a test can stop and start again, to stand
// for an object store that goes away (every request then fails to connect, as with a store
// that is down) and comes back with what it held.
type S3Server struct {
	// URL is the bucket's s3:// URL for blob.Open.
	URL string

	handler http.Handler
	addr    string
	mu      sync.Mutex
	srv     *http.Server
	hang    chan struct{} // closed to release the requests held by Hang; nil when not hanging
	stallAt int64         // with hang, answers start and hang after this many body bytes; < 0: at once
}

// Hang makes the server stand for an object store that accepts connections and never answers:
// from now on each request is held unanswered, its body unread, until Release (or until the
// client gives up), and then refused. With afterBytes >= 0, answers start instead (status, headers and the first
// afterBytes bytes of the body) and then stop, as a store that stalls mid-transfer.
func (s *S3Server) Hang(afterBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang == nil {
		s.hang = make(chan struct{})
	}
	s.stallAt = afterBytes
}

// Release answers requests normally again, and lets those held by Hang go on.
func (s *S3Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
}

func (s *S3Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hang, at := s.hang, s.stallAt
	s.mu.Unlock()
	if hang == nil {
		s.handler.ServeHTTP(w, r)
		return
	}
	if at < 0 {
		// A held request is never carried out, even once released: its client has given up
		// long since, though the server cannot tell while the body is unread.
		select {
		case <-hang:
			http.Error(w, "fake S3: this request was held unanswered", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
		return
	}
	s.handler.ServeHTTP(&stallingWriter{ResponseWriter: w, left: at, hang: hang, done: r.Context().Done()}, r)
}

// stallingWriter passes on the first left bytes of an answer, then holds the rest until hang
// is closed or the client leaves.
type stallingWriter struct {
	http.ResponseWriter
	left int64
	hang <-chan struct{}
	done <-chan struct{}
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= w.left {
		w.left -= int64(len(p))
		return w.ResponseWriter.Write(p)
	}
	n, err := w.ResponseWriter.Write(p[:w.left])
	w.left = 0
	if err != nil {
		return n, err
	}
	http.NewResponseController(w.ResponseWriter).Flush()
	select {
	case <-w.hang:
		m, err := w.ResponseWriter.Write(p[n:])
		return n + m, err
	case <-w.done:
		return n, errors.New("fake S3: client left while the answer stalled")
	}
}

// NewFakeS3 is FakeS3 with a handle on the server.
func NewFakeS3(t testing.TB) *S3Server {
	t.Helper()
	backend := s3mem.New()
	s := &S3Server{handler: gofakes3.New(backend).Server()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fake S3: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	// rand.Text is base32 (A-Z, 2-7); bucket names must be lower case.
	bucket := "wharf-test-" + strings.ToLower(rand.Text()[:12])
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("fake S3: create bucket: %v", err)
	}
	// Credentials the real opener reads; the shared-config files and the instance metadata
	// service are switched off so nothing from the host leaks in.
	t.Setenv("AWS_ACCESS_KEY_ID", "fake-access-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	q := url.Values{
		"endpoint":       {"http://" + s.addr},
		"region":         {"us-east-1"},
		"use_path_style": {"true"},
		"disable_https":  {"true"},
	}
	s.URL = fmt.Sprintf("s3://%s?%s", bucket, q.Encode())
	return s
}

func (s *S3Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: s}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(fmt.Sprintf("fake S3: %v", err))
		}
	}()
}

// Stop closes the server and every open connection, mid-response too; until Start, connecting
// to it is refused. Stopping a stopped server does nothing.
func (s *S3Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start serves again, on the same address, with the same buckets and objects.
func (s *S3Server) Start() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("fake S3: listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}
