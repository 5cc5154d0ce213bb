package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Damage is what Check found wrong with a blob; the zero Damage is a sound blob.
type Damage struct {
	Missing bool
	// WrongSize and WrongSHA256 say what differs from what was expected; Size and SHA256 are
	// what the blob holds (set unless it is missing).
	WrongSize, WrongSHA256 bool
	Size                   int64
	SHA256                 string
}

// OK reports whether the blob was found sound.
func (d Damage) OK() bool { return !d.Missing && !d.WrongSize && !d.WrongSHA256 }

// Check reads the blob of sha256hex whole and reports whether it is there, size bytes long,
// and hashes to sha256hex. An error is a failure to read it (a store that cannot be reached,
// an I/O error), not damage.
func Check(ctx context.Context, s Store, sha256hex string, size int64) (Damage, error) {
	key := Key(sha256hex)
	r, err := s.Open(ctx, key, 0, -1)
	if errors.Is(err, ErrNotFound) {
		return Damage{Missing: true}, nil
	} else if err != nil {
		return Damage{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return Damage{}, fmt.Errorf("read %s: %w", key, err)
	}
	d := Damage{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	d.WrongSize = n != size || r.Size() != n
	d.WrongSHA256 = d.SHA256 != sha256hex
	return d, nil
}
