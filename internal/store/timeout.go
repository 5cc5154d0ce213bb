package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type callTimeoutKey struct{}

// WithCallTimeout makes every store call made with ctx (each statement, and each transaction
// from its start to its commit) end within d: one the database has not answered by then (a
// host that accepts connections and never answers, a lock held elsewhere) fails with a
// *TimeoutError. The server sets it on what it does for a request, so that a hung database
// is answered 503 rather than hanging the request; long work that is not made for a request
// (migrations, wharf admin fsck, the recipe backfill) does not set it. d <= 0: no deadline.
func WithCallTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, callTimeoutKey{}, d)
}

// TimeoutError is a store call that the database did not answer within its deadline
// (WithCallTimeout). It is a context.DeadlineExceeded, and nothing else of what the driver
// said (its text is in the message): the driver's error may be one of a failed query.
type TimeoutError struct {
	After time.Duration
	Err   error // what the driver said when the deadline ended the call
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the database did not answer within %s (the store timeout): %v", e.After, e.Err)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// callContext is ctx with the deadline of one store call, if ctx asks for one.
func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Value(callTimeoutKey{}).(time.Duration)
	if !ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// timedOut is err, made a *TimeoutError when the call's own deadline (cctx, of callContext(ctx))
// is what ended it: not ctx's end (a client that left), and not once already.
func timedOut(ctx, cctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || !errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return err
	}
	d, ok := ctx.Value(callTimeoutKey{}).(time.Duration)
	var te *TimeoutError
	if !ok || errors.As(err, &te) {
		return err
	}
	return &TimeoutError{After: d, Err: err}
}
