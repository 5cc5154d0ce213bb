// Package blob stores package files, content-addressed by sha256, behind one narrow interface
// over gocloud.dev/blob: a local directory (the default) or any S3-compatible bucket.
package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// ErrNotFound is returned (wrapped) when a key does not exist.
var ErrNotFound = errors.New("blob not found")

// Info describes a stored blob.
type Info struct {
	Size    int64
	ModTime time.Time
}

// Reader is an open blob.
type Reader interface {
	io.ReadCloser
	// Size is the size of the whole blob in bytes, not of the range being read.
	Size() int64
}

// Store is what Wharf needs of blob storage. Every method honours ctx.
type Store interface {
	// Put stores exactly size bytes read from r under key. When it returns nil the blob is
	// durable (fsynced, or acknowledged by the object store) and a reader sees all of it or
	// nothing: a crash or a cancelled ctx never leaves a partial blob under key. A Put over
	// an existing blob replaces it whole (a rename on the filesystem, a whole-object PUT on
	// S3): a reader that opened it before reads the old bytes, one that opens it after the
	// new ones.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open reads length bytes from offset; length < 0 reads to the end. The reader's Size is
	// the whole blob's, whatever range it reads, so that one call both opens a blob and checks
	// its size against what the store recorded.
	Open(ctx context.Context, key string, offset, length int64) (Reader, error)
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	Close() error
}

// FileStore is a Store whose blobs are files on the local filesystem. OpenFile hands out the
// file itself, so that a download can go from the page cache to the socket by sendfile
// rather than through the process; close closes it (the file must not be closed otherwise).
type FileStore interface {
	Store
	OpenFile(ctx context.Context, key string) (f *os.File, close func() error, err error)
}
