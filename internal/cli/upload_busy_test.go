package cli

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// wharf upload sends a file again, after the server's Retry-After, while the server has as
// many uploads from this address in progress as it takes (429 too_many_uploads): here another
// upload from the same address holds the one slot of a real server, and is let go when wharf
// upload is told to wait.
func TestUploadWaitsForAFreeUploadSlot(t *testing.T) {
	loginStore(t)
	spool := filepath.Join(t.TempDir(), "tmp")
	url, password := newRealServer(t, server.Options{TempDir: spool, UploadsPerClient: 1, UploadIdleTimeout: time.Minute, UploadMinRate: -1})
	t.Setenv("WHARF_SERVER", url)
	t.Setenv("WHARF_USERNAME", "admin")
	t.Setenv("WHARF_PASSWORD", password)
	if out, err := run(t, "channel", "create", "acme"); err != nil {
		t.Fatalf("channel create: %v\n%s", err, out)
	}

	// Another upload from this address, stalled after a few bytes, holds the one slot.
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v1/channels/acme/files/stalled-1.0-0.conda HTTP/1.1\r\nHost: wharf\r\nAuthorization: Basic %s\r\nContent-Length: 100000\r\n\r\n0123456789",
		base64.StdEncoding.EncodeToString([]byte("admin:"+password)))
	spooled := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if left, _ := os.ReadDir(spool); len(left) == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the spool never held %d files", n)
			}
		}
	}
	spooled(1)

	waits := 0
	busyWait = func(retryAfter time.Duration) time.Duration {
		waits++
		if waits == 1 {
			if retryAfter != 10*time.Second {
				t.Errorf("Retry-After %s; want the server's 10s", retryAfter)
			}
			conn.Close() // the other upload ends, and its slot comes free
			spooled(0)
		}
		return time.Millisecond
	}
	t.Cleanup(func() { busyWait = func(d time.Duration) time.Duration { return d } })

	pkg := condatest.WriteFile(t, t.TempDir(), condatest.Spec{Name: "demo", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"})
	out, err := run(t, "upload", pkg, "-c", "acme")
	if err != nil || !strings.Contains(out, "uploaded to acme/noarch/demo-1.0-0.conda") || waits != 1 {
		t.Errorf("wharf upload while the slot was taken: %v, %d waits\n%s", err, waits, out)
	}
}

// newRealServer runs a real server over a new SQLite store and blob directory, with an
// administrator "admin", and returns its URL and admin's password.
func newRealServer(t *testing.T, opts server.Options) (url, password string) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blob.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close() })
	password = "correct horse battery staple"
	hash, err := access.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.NewUser{Name: "admin", Email: "admin@example.com", EmailVerified: true, PasswordHash: hash, Admin: true}); err != nil {
		t.Fatal(err)
	}
	if opts.TempDir == "" {
		opts.TempDir = filepath.Join(t.TempDir(), "tmp")
	}
	srv, err := server.New(st, bl, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL, password
}
