package blob_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
)

func TestS3OpenFailsForMissingBucket(t *testing.T) {
	u, err := url.Parse(blobtest.FakeS3(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "no-such-bucket"
	s, err := blob.Open(t.Context(), u.String())
	if err == nil {
		s.Close()
		t.Fatal("Open of a missing bucket succeeded")
	}
	if !strings.Contains(err.Error(), "no-such-bucket") {
		t.Fatalf("error %v does not name the bucket", err)
	}
}

func TestS3CleanTempIsANoOp(t *testing.T) {
	s := open(t, blobtest.FakeS3(t))
	defer s.Close()
	if n, err := blob.CleanTemp(t.Context(), s, time.Hour); n != 0 || err != nil {
		t.Fatalf("CleanTemp = %d, %v; want 0, nil", n, err)
	}
}
