package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logBuffer is a logger into a buffer that is safe to read while workers write.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestMailQueue(t *testing.T) {
	t.Run("runs what is queued, after the caller has gone", func(t *testing.T) {
		q := newMailQueue(slog.New(slog.DiscardHandler), 2, 8)
		defer q.close(time.Second)
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), keyRequestID, "r1"))
		var ran atomic.Int64
		for range 20 { // more than the queue holds: add waits for room
			q.add(ctx, "test", func(ctx context.Context) error {
				if ctx.Err() != nil || requestID(ctx) != "r1" {
					t.Errorf("job context: %v, request id %q", ctx.Err(), requestID(ctx))
				}
				ran.Add(1)
				return nil
			})
		}
		cancel() // the request is over; its work is not
		if err := q.wait(context.Background()); err != nil || ran.Load() != 20 {
			t.Errorf("wait = %v with %d of 20 jobs run", err, ran.Load())
		}
	})
	t.Run("a failure is logged as an error", func(t *testing.T) {
		var logs logBuffer
		q := newMailQueue(slog.New(slog.NewTextHandler(&logs, nil)), 1, 8)
		defer q.close(time.Second)
		q.add(context.Background(), "password reset", func(context.Context) error { return errors.New("smtp: 451 try later") })
		q.wait(context.Background())
		if out := logs.String(); !strings.Contains(out, `level=ERROR msg="account mail not sent"`) || !strings.Contains(out, `work="password reset"`) || !strings.Contains(out, "451 try later") {
			t.Errorf("log: %s", out)
		}
	})
	t.Run("close sends what is queued", func(t *testing.T) {
		q := newMailQueue(slog.New(slog.DiscardHandler), 1, 8)
		var ran atomic.Int64
		for range 5 {
			q.add(context.Background(), "test", func(context.Context) error {
				time.Sleep(20 * time.Millisecond)
				ran.Add(1)
				return nil
			})
		}
		q.close(10 * time.Second)
		if ran.Load() != 5 {
			t.Errorf("%d of 5 queued jobs ran before close returned", ran.Load())
		}
		// After close, work runs at once, in the caller.
		q.add(context.Background(), "late", func(context.Context) error { ran.Add(1); return nil })
		if ran.Load() != 6 {
			t.Error("a job added after close did not run")
		}
		if err := q.wait(context.Background()); err != nil {
			t.Error(err)
		}
	})
	t.Run("what close cannot send in time is logged, not lost silently", func(t *testing.T) {
		var logs logBuffer
		q := newMailQueue(slog.New(slog.NewTextHandler(&logs, nil)), 1, 8)
		stuck := make(chan struct{})
		defer close(stuck)
		q.add(context.Background(), "stuck", func(context.Context) error { <-stuck; return nil })
		for range 3 {
			q.add(context.Background(), "invitation", func(context.Context) error { return nil })
		}
		q.close(50 * time.Millisecond)
		if n := strings.Count(logs.String(), "the server stopped before it was sent"); n != 3 {
			t.Errorf("%d dropped jobs logged, want 3:\n%s", n, logs.String())
		}
		// The job that was running (an SMTP server that does not answer) is cut off by the
		// process's end: it is logged too.
		if n := strings.Count(logs.String(), "the server stopped while it was being sent"); n != 1 || !strings.Contains(logs.String(), "work=stuck") {
			t.Errorf("%d running jobs logged, want the stuck one:\n%s", n, logs.String())
		}
	})
	t.Run("a client that leaves once answered keeps its mail", func(t *testing.T) {
		q := newMailQueue(slog.New(slog.DiscardHandler), 1, 8)
		defer q.close(time.Second)
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		var ran atomic.Int64
		for range 20 {
			q.add(gone, "password reset", func(context.Context) error { ran.Add(1); return nil })
		}
		q.wait(context.Background())
		if ran.Load() != 20 {
			t.Errorf("%d of 20 jobs of requests whose clients had gone ran", ran.Load())
		}
	})
	t.Run("a job that finds the queue full too long is logged", func(t *testing.T) {
		var logs logBuffer
		q := newMailQueue(slog.New(slog.NewTextHandler(&logs, nil)), 1, 1)
		q.fullWait = 20 * time.Millisecond
		stuck := make(chan struct{})
		q.add(context.Background(), "stuck", func(context.Context) error { <-stuck; return nil })
		for len(q.jobs) != 0 { // the worker has taken it
			time.Sleep(time.Millisecond)
		}
		q.add(context.Background(), "fills", func(context.Context) error { return nil })
		q.add(context.Background(), "password reset", func(context.Context) error { t.Error("ran"); return nil })
		if !strings.Contains(logs.String(), "the mail queue stayed full") {
			t.Errorf("log: %s", logs.String())
		}
		close(stuck)
		q.close(time.Second)
	})
}
