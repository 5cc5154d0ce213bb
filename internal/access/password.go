package access

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/wharfhq/wharf/internal/passwords"
)

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	// MaxPasswordBytes bounds the work an attacker can ask of the hash.
	MaxPasswordBytes = 4096
)

// hashSlots bounds concurrent hashes so a login flood cannot exhaust memory.
var hashSlots = make(chan struct{}, 4)

// hashes counts the argon2 hashes computed, for tests that check that two paths cost the
// same number.
var hashes atomic.Int64

// HashPassword returns an argon2id PHC string of the password's normalized form
// (passwords.Normalize).
func HashPassword(password string) (string, error) {
	return HashPasswordContext(context.Background(), password)
}

// HashPasswordContext is HashPassword that gives up when the caller leaves while it waits
// for a hash slot.
func HashPasswordContext(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("password is longer than %d bytes", MaxPasswordBytes)
	}
	return hashForm(ctx, passwords.Normalize(password))
}

// hashForm hashes password as it is given.
func hashForm(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := deriveContext(ctx, password, salt, argonMemory, argonTime, argonThreads)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func derive(password string, salt []byte, m, t uint32, p uint8) []byte {
	key, _ := deriveContext(context.Background(), password, salt, m, t, p)
	return key
}

// deriveContext waits for a hash slot only as long as the caller is still there.
func deriveContext(ctx context.Context, password string, salt []byte, m, t uint32, p uint8) ([]byte, error) {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-hashSlots }()
	hashes.Add(1)
	return argon2.IDKey([]byte(password), salt, t, m, p, argonKeyLen), nil
}

// dummyHash is verified against when the user does not exist, so that an unknown name costs
// the same time as a wrong password.
var dummyHash, _ = HashPassword("wharf-no-such-user")

// CheckPassword reports whether password matches the PHC string hash. An empty hash (no such
// user) still costs one full hash.
func CheckPassword(hash, password string) bool {
	ok, _, _ := VerifyPassword(context.Background(), hash, password)
	return ok
}

// CheckPasswordContext is CheckPassword that gives up, with ctx's error, when the caller
// leaves while it waits for a hash slot.
func CheckPasswordContext(ctx context.Context, hash, password string) (bool, error) {
	ok, _, err := VerifyPassword(ctx, hash, password)
	return ok, err
}

// VerifyPassword checks password against hash as CheckPasswordContext does. Hashes are of
// the normalized form (passwords.Normalize); a hash made before that, of the password as it
// was typed, still verifies with that very form, and rehash then says so: the caller should
// store HashPassword's hash instead, so that the password's other forms work from then on.
// A password that normalization leaves as it is costs one hash, right or wrong; one it
// changes costs two when wrong (whether it changes is the guesser's own knowledge).
func VerifyPassword(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	normal := passwords.Normalize(password)
	// An unknown account (hash "") costs the second hash too: the cost must not tell.
	if ok, err = checkForm(ctx, hash, normal); ok || err != nil || normal == password {
		return ok, false, err
	}
	ok, err = checkForm(ctx, hash, password)
	return ok, ok, err
}

// checkForm checks password, as given, against hash.
func checkForm(ctx context.Context, hash, password string) (bool, error) {
	if hash == "" {
		hash = dummyHash
		password += "\x00" // never matches
	}
	var m, t uint32
	var p uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if errors.Join(err1, err2) != nil || len(want) == 0 {
		return false, nil
	}
	got, err := deriveContext(ctx, password, salt, m, t, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// GeneratePassword returns a random password for accounts created without one.
func GeneratePassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
