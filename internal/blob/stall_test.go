package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
	"github.com/wharfhq/wharf/internal/fault"
)

const stall = 300 * time.Millisecond

// within runs fn and fails the test if it has not returned after a minute: the calls under
// test would otherwise hang for ever, and the test with them.
func within(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s still waits on the object store after a minute", what)
		return nil
	}
}

// wantStalled checks that err says the object store did not answer, as an outage (503), and
// not as a client that left.
func wantStalled(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded against an object store that does not answer", what)
	case !errors.Is(err, blob.ErrStalled) || errors.Is(err, context.Canceled):
		t.Errorf("%s: %v, want ErrStalled (and no context.Canceled)", what, err)
	case fault.Of(err) != fault.Unavailable:
		t.Errorf("%s: fault.Of(%v) = %s, want unavailable", what, err, fault.Of(err))
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// An object store that accepts connections and never answers fails each call made under a
// stall timeout with ErrStalled once the timeout has passed, and a Put so cut off stores
// nothing; once it answers again, so does the store.
func TestS3StoreThatNeverAnswers(t *testing.T) {
	srv := blobtest.NewFakeS3(t)
	s := open(t, srv.URL)
	defer s.Close()
	ctx := blob.WithStallTimeout(t.Context(), stall)
	kept := randomBytes(t, 4096)
	if err := s.Put(ctx, "kept", bytes.NewReader(kept), int64(len(kept))); err != nil {
		t.Fatal(err)
	}
	srv.Hang(-1)
	wantStalled(t, "Open", within(t, "Open", func() error { _, err := s.Open(ctx, "kept", 0, -1); return err }))
	wantStalled(t, "Stat", within(t, "Stat", func() error { _, err := s.Stat(ctx, "kept"); return err }))
	wantStalled(t, "Delete", within(t, "Delete", func() error { return s.Delete(ctx, "kept") }))
	small := randomBytes(t, 1000)
	wantStalled(t, "Put of 1000 bytes", within(t, "Put", func() error {
		return s.Put(ctx, "small", bytes.NewReader(small), int64(len(small)))
	}))
	// Large enough that writing it blocks once the socket's buffers are full.
	large := randomBytes(t, 24<<20)
	wantStalled(t, "Put of 24 MiB", within(t, "Put", func() error {
		return s.Put(ctx, "large", bytes.NewReader(large), int64(len(large)))
	}))
	srv.Release()
	for _, key := range []string{"small", "large"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%s) after the Put cut off: %v, want not found", key, err)
		}
	}
	r, err := s.Open(ctx, "kept", 0, -1)
	if err != nil {
		t.Fatalf("Open once the store answers again: %v", err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, kept) {
		t.Errorf("read once the store answers again: %d bytes, %v", len(got), err)
	}
}

// An object store that stops in the middle of a blob fails the read waiting on it with
// ErrStalled, after the bytes that came.
func TestS3StoreThatStallsMidBlob(t *testing.T) {
	srv := blobtest.NewFakeS3(t)
	s := open(t, srv.URL)
	defer s.Close()
	ctx := blob.WithStallTimeout(t.Context(), stall)
	b := randomBytes(t, 64<<10)
	if err := s.Put(ctx, "k", bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	srv.Hang(1024)
	defer srv.Release()
	r, err := s.Open(ctx, "k", 0, -1)
	if err != nil {
		t.Fatalf("Open: %v (the answer starts)", err)
	}
	defer r.Close()
	var got []byte
	err = within(t, "the read", func() error { var err error; got, err = io.ReadAll(r); return err })
	wantStalled(t, "reading past the stall", err)
	if !bytes.Equal(got, b[:len(got)]) || len(got) < 1024 || len(got) == len(b) {
		t.Errorf("read %d bytes before the stall, want the first 1024 at least, and not all %d", len(got), len(b))
	}
}

// The stall timeout counts only time spent waiting on the object store: a reader of a blob
// that takes its time between reads, and a Put whose source is slow, are not cut off.
func TestS3StallTimeoutIgnoresASlowCaller(t *testing.T) {
	s := open(t, blobtest.FakeS3(t))
	defer s.Close()
	ctx := blob.WithStallTimeout(t.Context(), stall)
	b := randomBytes(t, 6144)
	src := &slowReader{r: bytes.NewReader(b), chunk: 3072, pause: 2 * stall}
	if err := s.Put(ctx, "k", src, int64(len(b))); err != nil {
		t.Fatalf("Put from a slow source: %v", err)
	}
	r, err := s.Open(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []byte
	buf := make([]byte, 3072)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("a slow reader's read: %v", err)
		}
		time.Sleep(2 * stall)
	}
	if !bytes.Equal(got, b) {
		t.Errorf("a slow reader read %d bytes, want the %d stored", len(got), len(b))
	}
}

// slowReader hands out chunk bytes at a time, pausing before each.
type slowReader struct {
	r     io.Reader
	chunk int
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	if len(p) > s.chunk {
		p = p[:s.chunk]
	}
	return s.r.Read(p)
}
