package blob

import (
	"context"
	"time"
)

// CleanTemp removes the temp files that a crash or kill in the middle of a Put left in a
// filesystem store, if they were last written more than minAge ago, and reports how many it
// removed. They sit beside the blobs, named <key>.<hex>.tmp; they are never visible as blobs,
// only as wasted space. Call it at start (minAge 0 is safe when no other process writes to the
// same directory) or periodically with a minAge longer than any upload can stall.
//
// Other stores have nothing to clean: an S3 PUT that never completes stores nothing, and the
// parts of an interrupted multipart upload are best expired by the bucket's
// AbortIncompleteMultipartUpload lifecycle rule.
func CleanTemp(ctx context.Context, s Store, minAge time.Duration) (int, error) {
	fs, ok := s.(*fsStore)
	if !ok {
		return 0, nil
	}
	return fs.cleanTemp(ctx, time.Now().Add(-minAge))
}
