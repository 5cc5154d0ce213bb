package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrStalled is returned (wrapped) by an object store that left a call waiting longer than the
// stall timeout of its context (WithStallTimeout). It is a context.DeadlineExceeded, so that
// fault reads it as an outage, and it never wraps the context.Canceled the cut-off call
// returned (which would read as a client that left).
var ErrStalled = fmt.Errorf("the object store did not answer in time: %w", context.DeadlineExceeded)

// openTimeout bounds the check that Open makes of a bucket: a host that accepts connections
// and never answers fails the start instead of holding it.
const openTimeout = 30 * time.Second

type stallKey struct{}

// WithStallTimeout makes the calls to an object store made with ctx fail with ErrStalled once
// the store keeps one waiting longer than d: for the start of its answer, or for the next
// bytes of a transfer in either direction. Time spent waiting on the caller (a client's slow
// upload being read, a slow reader of a download) does not count. A filesystem store ignores
// it. d <= 0 leaves the calls unbounded.
func WithStallTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, stallKey{}, d)
}

func stallTimeout(ctx context.Context) time.Duration {
	d, _ := ctx.Value(stallKey{}).(time.Duration)
	return d
}

// watchdog cancels its context with ErrStalled when it stays armed for longer than d: it is
// armed while the object store owes an answer or bytes, and idle while the caller holds them.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	d      time.Duration
	t      *time.Timer
}

// startWatchdog returns an armed watchdog, or nil when ctx has no stall timeout.
func startWatchdog(ctx context.Context) *watchdog {
	d := stallTimeout(ctx)
	if d <= 0 {
		return nil
	}
	w := &watchdog{d: d}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.t = time.AfterFunc(d, func() { w.cancel(ErrStalled) })
	return w
}

func (w *watchdog) arm() {
	if w != nil {
		w.t.Reset(w.d)
	}
}

func (w *watchdog) idle() {
	if w != nil {
		w.t.Stop()
	}
}

func (w *watchdog) stop() {
	if w != nil {
		w.t.Stop()
		w.cancel(nil)
	}
}

// context is the context to make the watched call with.
func (w *watchdog) context(ctx context.Context) context.Context {
	if w == nil {
		return ctx
	}
	return w.ctx
}

// explain replaces err, when the watchdog cut the call short, by ErrStalled.
func (w *watchdog) explain(op, key string, err error) error {
	if w != nil && err != nil && errors.Is(context.Cause(w.ctx), ErrStalled) {
		return fmt.Errorf("%s %s: %w", op, key, ErrStalled)
	}
	return err
}

// watchedReader is a blob being read from the object store: each Read may wait on the store
// for at most the stall timeout.
type watchedReader struct {
	Reader
	w   *watchdog
	key string
}

func (r *watchedReader) Read(p []byte) (int, error) {
	r.w.arm()
	n, err := r.Reader.Read(p)
	r.w.idle()
	if err != nil && err != io.EOF {
		err = r.w.explain("read", r.key, err)
	}
	return n, err
}

func (r *watchedReader) Close() error {
	err := r.Reader.Close()
	r.w.stop()
	return err
}

// watchedSource is the body of a Put: the watchdog is idle while the caller's reader is read
// and armed while the store has the bytes read so far, or owes its answer after the last.
type watchedSource struct {
	r io.Reader
	w *watchdog
}

func (s *watchedSource) Read(p []byte) (int, error) {
	s.w.idle()
	n, err := s.r.Read(p)
	s.w.arm()
	return n, err
}
