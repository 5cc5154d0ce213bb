package blob

import (
	"context"
	"fmt"

	gblob "gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// bucketStore holds what the filesystem and S3 stores share: everything but Put.
type bucketStore struct {
	b        *gblob.Bucket
	readOpts *gblob.ReaderOptions // nil for the defaults
}

func (s *bucketStore) Open(ctx context.Context, key string, offset, length int64) (Reader, error) {
	if offset < 0 {
		return nil, fmt.Errorf("open %s: negative offset %d", key, offset)
	}
	r, err := s.b.NewRangeReader(ctx, key, offset, length, s.readOpts)
	if err != nil {
		return nil, wrapErr("open", key, err)
	}
	return r, nil
}

func (s *bucketStore) Stat(ctx context.Context, key string) (Info, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return Info{}, wrapErr("stat", key, err)
	}
	return Info{Size: a.Size, ModTime: a.ModTime}, nil
}

func (s *bucketStore) Delete(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func (s *bucketStore) Close() error {
	if err := s.b.Close(); err != nil {
		return fmt.Errorf("close blob store: %w", err)
	}
	return nil
}

// wrapErr turns gocloud's NotFound into ErrNotFound, so callers need not know gocloud.
func wrapErr(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

var (
	_ Store = (*fsStore)(nil)
	_ Store = (*s3Store)(nil)
)
