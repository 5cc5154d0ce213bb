package blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
)

// Check finds missing, short, long and altered blobs, on the filesystem and on S3, and tells
// a store it cannot read (S3 down) from damage.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (blob.Store, func())
	}{
		{"filesystem", func(t *testing.T) (blob.Store, func()) { return open(t, t.TempDir()), nil }},
		{"S3", func(t *testing.T) (blob.Store, func()) {
			srv := blobtest.NewFakeS3(t)
			return open(t, srv.URL), srv.Stop
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, stop := tc.open(t)
			defer s.Close()
			ctx := t.Context()
			good := []byte("the bytes of a package, as uploaded")
			sum := sha256.Sum256(good)
			sha := hex.EncodeToString(sum[:])
			key := blob.Key(sha)
			put := func(b []byte) {
				t.Helper()
				if err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
					t.Fatal(err)
				}
			}
			flipped := bytes.Clone(good)
			flipped[3] ^= 0x20
			for _, c := range []struct {
				name                   string
				stored                 []byte // nil: none
				missing, size, sha256_ bool
			}{
				{"sound", good, false, false, false},
				{"missing", nil, true, false, false},
				{"truncated", good[:10], false, true, true},
				{"longer", append(bytes.Clone(good), '!'), false, true, true},
				{"a flipped bit", flipped, false, false, true},
				{"empty", []byte{}, false, true, true},
			} {
				if err := s.Delete(ctx, key); err != nil {
					t.Fatal(err)
				}
				if c.stored != nil {
					put(c.stored)
				}
				d, err := blob.Check(ctx, s, sha, int64(len(good)))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if d.Missing != c.missing || d.WrongSize != c.size || d.WrongSHA256 != c.sha256_ || d.OK() != (c.name == "sound") {
					t.Errorf("%s: Check = %+v", c.name, d)
				}
				if c.stored != nil && (d.Size != int64(len(c.stored)) || d.SHA256 != hex.EncodeToString(sha256sum(c.stored))) {
					t.Errorf("%s: Check found %d bytes, sha256 %s; want what is stored", c.name, d.Size, d.SHA256)
				}
			}
			if stop != nil {
				put(good)
				stop()
				if d, err := blob.Check(ctx, s, sha, int64(len(good))); err == nil {
					t.Errorf("Check with the store down = %+v, nil; want an error, not a finding", d)
				}
			}
		})
	}
}

func sha256sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
