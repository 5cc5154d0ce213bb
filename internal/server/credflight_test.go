package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/store"
)

// credServer is a server over HTTP with the account bob, password bobPassword.
func credServer(t testing.TB) (*Server, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blob.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st, bl, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(s.Close)
	t.Cleanup(hs.Close)
	hash, err := access.HashPassword(bobPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.NewUser{Name: "bob", Email: "bob@example.com", EmailVerified: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	return s, hs
}

const bobPassword = "bob's own passphrase"

// whoami sends n requests at once, as bob with each of passwords in turn, and returns their
// statuses in that order.
func whoami(t testing.TB, hs *httptest.Server, n int, passwords ...string) []int {
	t.Helper()
	tr := hs.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = n
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", hs.URL+"/api/v1/user", nil)
			req.SetBasicAuth("bob", passwords[i%len(passwords)])
			<-start
			res, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

// age moves every remembered password check d into the past, as if d had gone by.
func (c *credCache) age(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m {
		e.at = e.at.Add(-d)
	}
}

// TestRememberedPasswordExpiresOnce is 32 concurrent requests of one account, with its
// remembered password check expired: one of them checks the password (an argon2id hash,
// 64 MiB), the others wait for its answer, rather than each hashing in turn.
func TestRememberedPasswordExpiresOnce(t *testing.T) {
	s, hs := credServer(t)
	const n = 32
	for _, st := range whoami(t, hs, 1, bobPassword) {
		if st != http.StatusOK {
			t.Fatalf("first sign-in: %d", st)
		}
	}
	if got := s.signins.hashes.Load(); got != 1 {
		t.Fatalf("%d password checks for the first request, want 1", got)
	}

	s.creds.age(s.creds.ttl + time.Second)
	before := s.signins.hashes.Load()
	for i, st := range whoami(t, hs, n, bobPassword) {
		if st != http.StatusOK {
			t.Errorf("request %d: %d", i, st)
		}
	}
	if got := s.signins.hashes.Load() - before; got != 1 {
		t.Errorf("%d password checks for %d concurrent requests after the remembered one expired, want 1", got, n)
	}

	// A wrong password among them is refused, and is no one else's answer.
	s.creds.age(s.creds.ttl + time.Second)
	before = s.signins.hashes.Load()
	passwords := make([]string, n)
	for i := range passwords {
		passwords[i] = bobPassword
	}
	passwords[n/2] = "not bob's passphrase"
	for i, st := range whoami(t, hs, n, passwords...) {
		want := http.StatusOK
		if i == n/2 {
			want = http.StatusUnauthorized
		}
		if st != want {
			t.Errorf("request %d (password %q): %d, want %d", i, passwords[i], st, want)
		}
	}
	if got := s.signins.hashes.Load() - before; got != 2 {
		t.Errorf("%d password checks for one right password and one wrong one, want 2", got)
	}
	// The wrong one is not remembered as right.
	if st := whoami(t, hs, 1, "not bob's passphrase")[0]; st != http.StatusUnauthorized {
		t.Errorf("the wrong password again: %d, want 401", st)
	}
}

// TestRememberedPasswordRefreshedAhead is steady traffic: a request in the last part of a
// remembered check's life has it checked again in the background, so that the requests after
// its expiry find it still remembered and none waits for a hash.
func TestRememberedPasswordRefreshedAhead(t *testing.T) {
	s, hs := credServer(t)
	whoami(t, hs, 1, bobPassword)
	ttl := s.creds.ttl

	s.creds.age(ttl * 9 / 10)
	before := s.signins.hashes.Load()
	if st := whoami(t, hs, 1, bobPassword)[0]; st != http.StatusOK {
		t.Fatalf("request near expiry: %d", st)
	}
	s.refreshes.Wait()
	if got := s.signins.hashes.Load() - before; got != 1 {
		t.Fatalf("%d password checks ahead of expiry, want 1 (in the background)", got)
	}

	s.creds.age(ttl / 2) // the first check is long expired; the refreshed one is not
	before = s.signins.hashes.Load()
	for i, st := range whoami(t, hs, 32, bobPassword) {
		if st != http.StatusOK {
			t.Errorf("request %d: %d", i, st)
		}
	}
	s.refreshes.Wait()
	if got := s.signins.hashes.Load() - before; got != 0 {
		t.Errorf("%d password checks after the refreshed check's time, want 0", got)
	}
}

// BenchmarkBasicAfterExpiry is 32 concurrent requests of one account whose remembered
// password check has just expired: the time until all are answered, and the password
// checks (argon2id hashes) they cost.
//
//	go test -run '^$' -bench BasicAfterExpiry ./internal/server/
func BenchmarkBasicAfterExpiry(b *testing.B) {
	s, hs := credServer(b)
	whoami(b, hs, 1, bobPassword)
	before := s.signins.hashes.Load()
	for b.Loop() {
		s.creds.age(s.creds.ttl + time.Second)
		for _, st := range whoami(b, hs, 32, bobPassword) {
			if st != http.StatusOK {
				b.Fatalf("status %d", st)
			}
		}
	}
	b.ReportMetric(float64(s.signins.hashes.Load()-before)/float64(b.N), "hashes/op")
}

// A refresh asked for once Close has begun (a request that outlived the shutdown's grace)
// does not start: Close would not wait for it, and it would run against a closed store.
func TestNoRefreshAfterClose(t *testing.T) {
	s, _ := credServer(t)
	s.Close()
	ran := false
	s.refreshCredential(context.Background(), [32]byte{1}, func(context.Context) credResult {
		ran = true
		return credResult{}
	})
	s.refreshes.Wait()
	if ran {
		t.Error("a refresh asked for after Close ran")
	}
}
