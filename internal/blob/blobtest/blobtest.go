// Package blobtest is the conformance suite every blob.Store backend must pass, plus an
// in-process fake S3 server for tests in other packages.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
)

// Run runs the suite, each behaviour as a subtest with a fresh store from newStore, which Run
// closes when the subtest ends. Subtests do not run in parallel, so newStore may use t.Setenv.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutThenOpenReturnsTheBytes", testRoundTrip},
		{"EmptyBlob", testEmpty},
		{"RangeReads", testRanges},
		{"OpenReportsTheWholeSize", testOpenSize},
		{"StatReportsSize", testStat},
		{"MissingKeyIsNotFound", testMissing},
		{"DeleteIsIdempotent", testDelete},
		{"PutSameKeyTwice", testPutTwice},
		{"ShortReaderStoresNothing", testShort},
		{"LongReaderStoresNothing", testLong},
		{"ReaderErrorStoresNothing", testReaderError},
		{"ReaderErrorAtTheEndStoresNothing", testReaderErrorAtEnd},
		{"CancelledContextStoresNothing", testCancelled},
		{"CancelDuringPutStoresNothing", testCancelDuring},
		{"FailedPutKeepsThePreviousBlob", testFailedOverwrite},
		{"PutReplacesAtomically", testReplace},
		{"BlobInvisibleUntilPutReturns", testInvisibleUntilDone},
		{"ConcurrentPutsOfSameContent", testConcurrentPuts},
		{"LargeBlob", testLarge},
		{"LargeBlobWithBadEndStoresNothing", testLargeBadEnd},
		{"KeysSharingFanOut", testFanOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// content returns n random bytes and their key.
func content(t *testing.T, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b, blob.Key(hex.EncodeToString(sum[:]))
}

func put(t *testing.T, s blob.Store, key string, b []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", key, len(b), err)
	}
}

func read(t *testing.T, s blob.Store, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), key, offset, length)
	if err != nil {
		t.Fatalf("Open(%s, %d, %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s from %d (%d bytes): %v", key, offset, length, err)
	}
	return got
}

func wantContent(t *testing.T, s blob.Store, key string, want []byte) {
	t.Helper()
	if got := read(t, s, key, 0, -1); !bytes.Equal(got, want) {
		t.Fatalf("%s holds %d bytes, not the %d put (or they differ)", key, len(got), len(want))
	}
}

func wantAbsent(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if info, err := s.Stat(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat(%s) after a failed Put = %+v, %v; want ErrNotFound", key, info, err)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	put(t, s, key, b)
	wantContent(t, s, key, b)
}

func testEmpty(t *testing.T, s blob.Store) {
	b, key := content(t, 0)
	put(t, s, key, b)
	info, err := s.Stat(t.Context(), key)
	if err != nil || info.Size != 0 {
		t.Fatalf("Stat = %+v, %v; want size 0", info, err)
	}
	wantContent(t, s, key, b)
}

func testRanges(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	put(t, s, key, b)
	for _, r := range []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"start", 0, 10, b[:10]},
		{"middle", 400, 123, b[400:523]},
		{"to end", 900, -1, b[900:]},
		{"whole", 0, 1000, b},
		{"length beyond end", 990, 100, b[990:]},
		{"last byte", 999, 1, b[999:]},
	} {
		if got := read(t, s, key, r.offset, r.length); !bytes.Equal(got, r.want) {
			t.Errorf("%s: Open(%d, %d) read %d bytes, want %d (or they differ)", r.name, r.offset, r.length, len(got), len(r.want))
		}
	}
}

// A reader's Size is the whole blob's, for a range as for all of it: the server checks it
// against the recorded size before it answers.
func testOpenSize(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	put(t, s, key, b)
	for _, r := range []struct{ offset, length int64 }{{0, -1}, {0, 10}, {400, 123}, {999, -1}} {
		rc, err := s.Open(t.Context(), key, r.offset, r.length)
		if err != nil {
			t.Fatalf("Open(%d, %d): %v", r.offset, r.length, err)
		}
		if got := rc.Size(); got != 1000 {
			t.Errorf("Open(%d, %d).Size() = %d, want 1000", r.offset, r.length, got)
		}
		rc.Close()
	}
	e, ekey := content(t, 0)
	put(t, s, ekey, e)
	rc, err := s.Open(t.Context(), ekey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got := rc.Size(); got != 0 {
		t.Errorf("empty blob: Size() = %d", got)
	}
}

func testStat(t *testing.T, s blob.Store) {
	before := time.Now().Add(-time.Minute)
	b, key := content(t, 4321)
	put(t, s, key, b)
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 4321 {
		t.Errorf("Size = %d, want 4321", info.Size)
	}
	if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("ModTime = %v, want about now", info.ModTime)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	_, key := content(t, 10)
	if rc, err := s.Open(t.Context(), key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Open(missing) = %v; want ErrNotFound", err)
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(missing) = %v; want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	b, key := content(t, 100)
	put(t, s, key, b)
	for i := range 2 {
		if err := s.Delete(t.Context(), key); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
		wantAbsent(t, s, key)
	}
	_, never := content(t, 1)
	if err := s.Delete(t.Context(), never); err != nil {
		t.Fatalf("Delete(never stored) = %v; want nil", err)
	}
}

func testPutTwice(t *testing.T, s blob.Store) {
	b, key := content(t, 2000)
	put(t, s, key, b)
	put(t, s, key, b)
	wantContent(t, s, key, b)
}

func testShort(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	err := s.Put(t.Context(), key, bytes.NewReader(b[:999]), 1000)
	if !errors.Is(err, blob.ErrSizeMismatch) {
		t.Fatalf("Put(999 of 1000 bytes) = %v; want ErrSizeMismatch", err)
	}
	wantAbsent(t, s, key)
}

func testLong(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	err := s.Put(t.Context(), key, bytes.NewReader(append(b, 'x')), 1000)
	if !errors.Is(err, blob.ErrSizeMismatch) {
		t.Fatalf("Put(1001 bytes as 1000) = %v; want ErrSizeMismatch", err)
	}
	wantAbsent(t, s, key)
}

var errBroken = errors.New("broken reader")

// failingReader hands out b, then fails with errBroken instead of io.EOF.
type failingReader struct{ b []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, errBroken
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func testReaderError(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	err := s.Put(t.Context(), key, &failingReader{b[:500]}, 1000)
	if !errors.Is(err, errBroken) {
		t.Fatalf("Put(reader failing midway) = %v; want the reader's error", err)
	}
	wantAbsent(t, s, key)
}

// All bytes arrived but the reader then failed rather than ended: the body is suspect.
func testReaderErrorAtEnd(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	err := s.Put(t.Context(), key, &failingReader{b}, 1000)
	if !errors.Is(err, errBroken) {
		t.Fatalf("Put(reader failing after the last byte) = %v; want the reader's error", err)
	}
	wantAbsent(t, s, key)
}

func testCancelled(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, key, bytes.NewReader(b), 1000); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	wantAbsent(t, s, key)
}

// cancellingReader cancels its context once it has handed out half of b.
type cancellingReader struct {
	b      []byte
	n      int
	cancel context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.n >= len(r.b)/2 {
		r.cancel()
	}
	if r.n == len(r.b) {
		return 0, io.EOF
	}
	p = p[:min(len(p), 100)]
	n := copy(p, r.b[r.n:])
	r.n += n
	return n, nil
}

func testCancelDuring(t *testing.T, s blob.Store) {
	b, key := content(t, 10000)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := s.Put(ctx, key, &cancellingReader{b: b, cancel: cancel}, int64(len(b))); err == nil {
		t.Fatal("Put whose context was cancelled midway succeeded")
	}
	wantAbsent(t, s, key)
}

func testFailedOverwrite(t *testing.T, s blob.Store) {
	b, key := content(t, 1000)
	put(t, s, key, b)
	if err := s.Put(t.Context(), key, bytes.NewReader(b[:10]), 1000); err == nil {
		t.Fatal("short Put over an existing blob succeeded")
	}
	if err := s.Put(t.Context(), key, &failingReader{b[:500]}, 1000); err == nil {
		t.Fatal("failing Put over an existing blob succeeded")
	}
	wantContent(t, s, key, b)
}

// A Put over a blob (as an upload repairing a damaged one does) replaces it whole, for every
// reader: one that opened it before reads the old bytes to their end, one that opens it after
// reads the new ones; none sees a mix.
func testReplace(t *testing.T, s blob.Store) {
	good, key := content(t, 1<<20)
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0xff
	put(t, s, key, bad)
	r, err := s.Open(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	put(t, s, key, good)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading the blob opened before it was replaced: %v", err)
	}
	if !bytes.Equal(append(head, rest...), bad) {
		t.Errorf("a reader that opened the blob before it was replaced read %d bytes, not the old ones", len(head)+len(rest))
	}
	wantContent(t, s, key, good)
}

func testInvisibleUntilDone(t *testing.T, s blob.Store) {
	b, key := content(t, 100_000)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(t.Context(), key, pr, int64(len(b))) }()
	if _, err := pw.Write(b[:60_000]); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, key)
	if rc, err := s.Open(t.Context(), key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Fatalf("Open during Put = %v; want ErrNotFound", err)
	}
	if _, err := pw.Write(b[60_000:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	wantContent(t, s, key, b)
}

func testConcurrentPuts(t *testing.T, s blob.Store) {
	b, key := content(t, 256<<10)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put #%d: %v", i, err)
		}
	}
	wantContent(t, s, key, b)
}

func testLarge(t *testing.T, s blob.Store) {
	b, key := content(t, 20<<20)
	put(t, s, key, b)
	info, err := s.Stat(t.Context(), key)
	if err != nil || info.Size != int64(len(b)) {
		t.Fatalf("Stat = %+v, %v; want size %d", info, err, len(b))
	}
	wantContent(t, s, key, b)
	// A range across the boundary of an 8 MiB multipart part.
	off := int64(8<<20 - 1000)
	if got := read(t, s, key, off, 5000); !bytes.Equal(got, b[off:off+5000]) {
		t.Fatalf("range at %d: read %d bytes, want 5000 (or they differ)", off, len(got))
	}
}

// Large enough for an S3 multipart upload: a failure in a later part, or a long body detected
// only at the end, must abort the upload rather than complete it.
func testLargeBadEnd(t *testing.T, s blob.Store) {
	b, key := content(t, 20<<20)
	if err := s.Put(t.Context(), key, &failingReader{b[:17<<20]}, int64(len(b))); !errors.Is(err, errBroken) {
		t.Fatalf("Put(reader failing at 17 of 20 MiB) = %v; want the reader's error", err)
	}
	wantAbsent(t, s, key)
	if err := s.Put(t.Context(), key, io.MultiReader(bytes.NewReader(b), bytes.NewReader([]byte{0})), int64(len(b))); !errors.Is(err, blob.ErrSizeMismatch) {
		t.Fatalf("Put(20 MiB + 1 byte as 20 MiB) = %v; want ErrSizeMismatch", err)
	}
	wantAbsent(t, s, key)
}

func testFanOut(t *testing.T, s blob.Store) {
	// Two digests with the same first four hex digits land in the same fan-out directory.
	h1 := "abcd" + fmt.Sprintf("%060x", 1)
	h2 := "abcd" + fmt.Sprintf("%060x", 2)
	k1, k2 := blob.Key(h1), blob.Key(h2)
	if want := "sha256/ab/cd/" + h1; k1 != want {
		t.Fatalf("Key(%s) = %s, want %s", h1, k1, want)
	}
	put(t, s, k1, []byte("one"))
	put(t, s, k2, []byte("two"))
	wantContent(t, s, k1, []byte("one"))
	wantContent(t, s, k2, []byte("two"))
	if err := s.Delete(t.Context(), k1); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, k1)
	wantContent(t, s, k2, []byte("two"))
	// The fan-out prefix itself is not a blob.
	if _, err := s.Stat(t.Context(), "sha256/ab/cd"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(sha256/ab/cd) = %v; want ErrNotFound", err)
	}
}
