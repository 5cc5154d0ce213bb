package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrSizeMismatch is returned (wrapped) by Put when the reader holds fewer or more bytes than
// the size it was given.
var ErrSizeMismatch = errors.New("blob size mismatch")

// exactReader yields exactly size bytes of r and then io.EOF, or fails. It finds out whether r
// ends at size before it hands out the last byte: a consumer that commits once it has seen
// size bytes (an HTTP PUT with Content-Length, a multipart upload's last part) therefore never
// commits a body that was in fact too long. Every failure is sticky and hands out nothing more.
type exactReader struct {
	ctx  context.Context
	r    io.Reader
	size int64
	left int64
	err  error
}

func newExactReader(ctx context.Context, r io.Reader, size int64) *exactReader {
	return &exactReader{ctx: ctx, r: r, size: size, left: size}
}

// done reports whether all size bytes were read and r was seen to end there.
func (e *exactReader) done() bool { return e.err == nil && e.left == 0 }

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	// A reader that never blocks would otherwise outrun a cancelled ctx.
	if err := e.ctx.Err(); err != nil {
		return e.fail(err)
	}
	if e.left == 0 {
		if e.size == 0 {
			// Nothing was read yet, so the end check has not run.
			if err := e.checkEnd(); err != nil {
				return e.fail(err)
			}
		}
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		if err == nil {
			err = e.checkEnd()
		} else if err == io.EOF {
			err = nil
		}
		if err != nil {
			return e.fail(err)
		}
		return n, nil
	case err == io.EOF:
		return e.fail(fmt.Errorf("%w: reader ended after %d of %d bytes", ErrSizeMismatch, e.size-e.left, e.size))
	case err != nil:
		return e.fail(fmt.Errorf("read: %w", err))
	}
	return n, nil
}

// checkEnd makes sure r has nothing after the size bytes already read.
func (e *exactReader) checkEnd() error {
	var b [1]byte
	for range 100 {
		n, err := e.r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("%w: reader holds more than %d bytes", ErrSizeMismatch, e.size)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
	return fmt.Errorf("read: %w", io.ErrNoProgress)
}

func (e *exactReader) fail(err error) (int, error) {
	e.err = err
	return 0, err
}
