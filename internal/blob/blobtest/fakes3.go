package blobtest

import (
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// FakeS3 starts an in-memory fake S3 server (gofakes3) for the length of the test, creates a
// fresh bucket in it, points the AWS environment at fake credentials, and returns the s3://
// URL that blob.Open takes. It is a fake: no auth, no durability, nothing leaves the process.
// It uses t.Setenv, so the calling test (and its parents) must not be parallel.
func FakeS3(t testing.TB) string {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	// rand.Text is base32 (A-Z, 2-7); bucket names must be lower case.
	bucket := "wharf-test-" + strings.ToLower(rand.Text()[:12])
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("fake S3: create bucket: %v", err)
	}
	// Credentials the real opener reads; the shared-config files and the instance metadata
	// service are switched off so nothing from the host leaks in.
	t.Setenv("AWS_ACCESS_KEY_ID", "fake-access-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	q := url.Values{
		"endpoint":       {srv.URL},
		"region":         {"us-east-1"},
		"use_path_style": {"true"},
		"disable_https":  {"true"},
	}
	return fmt.Sprintf("s3://%s?%s", bucket, q.Encode())
}
