package blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gblob "gocloud.dev/blob"
)

// s3Store keeps blobs in an S3 bucket, through s3blob.
//
// S3 makes an object visible only when its PUT (or CompleteMultipartUpload) succeeds, and it
// is durable once acknowledged, so Put's promise reduces to never letting a wrong body be
// committed: the body is counted, a short or long one fails before the last byte is handed
// over, and the failed upload is aborted (a multipart upload's parts are discarded by the
// transfer manager). The SDK adds a CRC32 checksum to each request, which S3 verifies.
type s3Store struct {
	bucketStore
}

// s3ReadOpts silences the SDK's warning, on stderr for every ranged read or multipart-uploaded
// object, that the response had no checksum to validate; whole-object checksums that are there
// are still validated.
var s3ReadOpts = &gblob.ReaderOptions{
	BeforeRead: func(as func(any) bool) error {
		var opts *[]func(*s3.Options)
		if as(&opts) {
			*opts = append(*opts, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
		}
		return nil
	},
}

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("put %s: negative size %d", key, size)
	}
	w := startWatchdog(ctx)
	defer w.stop()
	ctx, cancel := context.WithCancel(w.context(ctx))
	defer cancel()
	er := newExactReader(ctx, r, size)
	var body io.Reader = er
	if w != nil {
		body = &watchedSource{r: er, w: w}
	}
	err := s.b.Upload(ctx, key, body, &gblob.WriterOptions{
		ContentType: "application/octet-stream",
		// The length lets the transfer manager size its parts without guessing.
		BeforeWrite: func(as func(any) bool) error {
			var in *transfermanager.UploadObjectInput
			if as(&in) {
				in.ContentLength = aws.Int64(size)
			}
			return nil
		},
	})
	if err != nil {
		if err := w.explain("put", key, err); errors.Is(err, ErrStalled) {
			return err
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !er.done() {
		// Cannot happen unless the uploader stopped reading early; say so rather than claim success.
		return fmt.Errorf("put %s: uploader stopped before the end of the body", key)
	}
	return nil
}

// Open, Stat and Delete wait on the store for at most the stall timeout of ctx
// (WithStallTimeout): for the start of the answer, and for each read of the blob after it.
func (s *s3Store) Open(ctx context.Context, key string, offset, length int64) (Reader, error) {
	w := startWatchdog(ctx)
	if w == nil {
		return s.bucketStore.Open(ctx, key, offset, length)
	}
	r, err := s.bucketStore.Open(w.ctx, key, offset, length)
	if err != nil {
		err = w.explain("open", key, err)
		w.stop()
		return nil, err
	}
	w.idle()
	return &watchedReader{Reader: r, w: w, key: key}, nil
}

func (s *s3Store) Stat(ctx context.Context, key string) (Info, error) {
	w := startWatchdog(ctx)
	defer w.stop()
	info, err := s.bucketStore.Stat(w.context(ctx), key)
	return info, w.explain("stat", key, err)
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	w := startWatchdog(ctx)
	defer w.stop()
	return w.explain("delete", key, s.bucketStore.Delete(w.context(ctx), key))
}
