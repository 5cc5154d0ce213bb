package access

import (
	"context"
	"testing"
)

// Passwords are hashed and checked in NFKC (passwords.Normalize): one password typed on
// different keyboards is one password. A hash made before, of the form as typed, still
// verifies with that form and asks for a rehash.
func TestPasswordNormalization(t *testing.T) {
	ctx := context.Background()
	const typed, ascii = "ｗｈａｒｆ ｐａｓｓ １２３４", "wharf pass 1234" // full-width, as some keyboards type it
	h, err := HashPassword(typed)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{typed, ascii, "wharf pass １２34"} {
		if ok, rehash, err := VerifyPassword(ctx, h, p); !ok || rehash || err != nil {
			t.Errorf("VerifyPassword(%q) = %v, %v, %v; want a plain match", p, ok, rehash, err)
		}
	}
	if CheckPassword(h, "wharf pass 1235") {
		t.Error("a wrong password matched")
	}
	// Compatibility and canonical equivalents: a ligature, an accent made of two code points.
	h2, _ := HashPassword("e\u0301t\u00e9 \ufb01le")
	if !CheckPassword(h2, "\u00e9t\u00e9 file") {
		t.Error("NFKC-equivalent forms differ")
	}

	// A hash from before normalization, of the full-width form itself.
	legacy, err := hashForm(ctx, typed)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := VerifyPassword(ctx, legacy, typed); !ok || !rehash || err != nil {
		t.Errorf("legacy hash, password as typed then: %v, %v, %v; want a match that asks for a rehash", ok, rehash, err)
	}
	if ok, _, _ := VerifyPassword(ctx, legacy, ascii); ok {
		t.Error("a legacy hash of the full-width form matched the ASCII form before the rehash")
	}
	if ok, rehash, _ := VerifyPassword(ctx, legacy, "ｗｈａｒｆ ｐａｓｓ １２３５"); ok || rehash {
		t.Error("a wrong password matched a legacy hash")
	}
}

// Checking costs the same number of hashes whether the account exists or not, for passwords
// normalization changes and those it does not.
func TestPasswordCheckCost(t *testing.T) {
	ctx := context.Background()
	h, _ := HashPassword("some password 42")
	for _, p := range []string{"a wrong guess", "ａ ｗｒｏｎｇ ｇｕｅｓｓ"} {
		count := func(hash string) int64 {
			before := hashes.Load()
			VerifyPassword(ctx, hash, p)
			return hashes.Load() - before
		}
		if known, unknown := count(h), count(""); known != unknown {
			t.Errorf("%q: %d hashes against an account, %d against none", p, known, unknown)
		}
	}
}
