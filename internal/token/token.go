// Package token makes and checks the format of Wharf's access tokens (DESIGN §4):
//
//	wrf + kind ('s' scope, 'r' resource) + '-' + 43 base62 characters of randomness (22 for a
//	weak token) + 6 base62 characters of the CRC32 of everything before them.
//
// Only [A-Za-z0-9-] appears, so conda's /t/([a-zA-Z0-9-]*) finds a token whole. The checksum
// lets a mistyped or made-up token be refused without a database look-up. This package is
// pure: no store, no HTTP.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
)

// Kinds, the letter after "wrf".
const (
	KindScope    = 's'
	KindResource = 'r'
)

// Strengths: how many characters of randomness.
const (
	StrongLen = 43 // 43 × log2(62) ≈ 256 bits
	WeakLen   = 22 // ≈ 131 bits
	sumLen    = 6  // 62^6 > 2^32
	prefixLen = 5  // "wrfs-"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed says a string is not a Wharf token: wrong prefix, length, characters or
// checksum. It is refused before any look-up.
var ErrMalformed = errors.New("not a Wharf token (wrong prefix, length, characters or checksum)")

// New makes a token of a kind and strength (StrongLen or WeakLen).
func New(kind byte, randomLen int) (string, error) {
	if kind != KindScope && kind != KindResource {
		return "", errors.New("token: unknown kind")
	}
	if randomLen != StrongLen && randomLen != WeakLen {
		return "", errors.New("token: unknown strength")
	}
	b := make([]byte, prefixLen, prefixLen+randomLen+sumLen)
	copy(b, "wrf")
	b[3], b[4] = kind, '-'
	// Rejection sampling keeps every character uniform: 248 = 4 × 62.
	var buf [64]byte
	for len(b) < prefixLen+randomLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, c := range buf {
			if c < 248 && len(b) < prefixLen+randomLen {
				b = append(b, alphabet[c%62])
			}
		}
	}
	b = appendSum(b, crc32.ChecksumIEEE(b))
	return string(b), nil
}

func appendSum(b []byte, sum uint32) []byte {
	var s [sumLen]byte
	for i := sumLen - 1; i >= 0; i-- {
		s[i] = alphabet[sum%62]
		sum /= 62
	}
	return append(b, s[:]...)
}

// Parse checks a token's format and checksum and returns its kind.
func Parse(t string) (kind byte, err error) {
	n := len(t)
	if n != prefixLen+StrongLen+sumLen && n != prefixLen+WeakLen+sumLen {
		return 0, ErrMalformed
	}
	if !strings.HasPrefix(t, "wrf") || t[4] != '-' || (t[3] != KindScope && t[3] != KindResource) {
		return 0, ErrMalformed
	}
	for i := prefixLen; i < n; i++ {
		if !isBase62(t[i]) {
			return 0, ErrMalformed
		}
	}
	body := t[:n-sumLen]
	if string(appendSum(nil, crc32.ChecksumIEEE([]byte(body)))) != t[n-sumLen:] {
		return 0, ErrMalformed
	}
	return t[3], nil
}

// Looks reports whether s is shaped like a Wharf token (prefix only), to tell "a token that
// is wrong" from "not a token at all" (a password, say).
func Looks(s string) bool {
	return len(s) > prefixLen && strings.HasPrefix(s, "wrf") && (s[3] == KindScope || s[3] == KindResource) && s[4] == '-'
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// Hash is what the store keeps of a token: its SHA-256, hex.
func Hash(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}
