package blob

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/blob/s3blob"
)

// Open opens the blob store that url names:
//
//   - a plain path, or file:///abs/path: a directory on the local filesystem, created if missing;
//   - s3://bucket?region=…&endpoint=http://host:port&use_path_style=true&disable_https=true:
//     an S3 or S3-compatible bucket; the query takes whatever gocloud's s3blob URL opener
//     accepts, and credentials come from the standard AWS sources (AWS_ACCESS_KEY_ID and
//     AWS_SECRET_ACCESS_KEY, a profile, an instance role).
//
// The bucket must already exist and be reachable: Open checks, so a wrong name or endpoint
// fails at start rather than as "not found" on every read.
func Open(ctx context.Context, rawURL string) (Store, error) {
	if rawURL == "" {
		return nil, fmt.Errorf("open blob store: empty URL")
	}
	if !strings.Contains(rawURL, "://") {
		return openFS(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("open blob store %s: a file URL needs an absolute path (file:///path), not host %q", rawURL, u.Host)
		}
		if u.RawQuery != "" {
			return nil, fmt.Errorf("open blob store %s: a file URL takes no query parameters", rawURL)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("open blob store %s: no path", rawURL)
		}
		return openFS(u.Path)
	case s3blob.Scheme:
		return openS3(ctx, u)
	default:
		return nil, fmt.Errorf("open blob store %s: unknown scheme %q (want a path, file:// or s3://)", redact(u), u.Scheme)
	}
}

// LocalDir is the directory rawURL names when Open takes it for one on the local filesystem (a
// plain path, or file:///path), else "".
func LocalDir(rawURL string) string {
	if !strings.Contains(rawURL, "://") {
		return rawURL
	}
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "file" {
		return u.Path
	}
	return ""
}

func openS3(ctx context.Context, u *url.URL) (Store, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("open blob store %s: no bucket name", redact(u))
	}
	b, err := (&s3blob.URLOpener{}).OpenBucketURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", redact(u), err)
	}
	// s3blob maps NoSuchBucket to NotFound, so a wrong bucket would otherwise look like an
	// empty store (and Delete would silently succeed).
	w := startWatchdog(WithStallTimeout(ctx, openTimeout))
	ok, err := b.IsAccessible(w.ctx)
	err = w.explain("check bucket", u.Host, err)
	w.stop()
	if err == nil && !ok {
		err = fmt.Errorf("bucket %q does not exist", u.Host)
	}
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("open blob store %s: %w", redact(u), err)
	}
	return &s3Store{bucketStore{b: b, readOpts: s3ReadOpts}}, nil
}

// redact drops any user:password from u before it goes into an error message.
func redact(u *url.URL) string {
	return u.Redacted()
}
