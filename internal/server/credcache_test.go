package server

import (
	"testing"
	"time"
)

func TestCredCache(t *testing.T) {
	c := newCredCache(time.Minute, 3)
	now := time.Now()
	k := credKey("bob", "pw", "$argon2id$hash1")
	if c.verified(k, now) {
		t.Fatal("empty cache verified a key")
	}
	c.remember(k, now)
	if !c.verified(k, now.Add(30*time.Second)) {
		t.Error("remembered key not verified within the ttl")
	}
	if c.verified(credKey("bob", "pw", "$argon2id$hash2"), now) {
		t.Error("a changed stored hash (new password) still verified")
	}
	if c.verified(credKey("bob", "pw2", "$argon2id$hash1"), now) || c.verified(credKey("bo", "bpw", "$argon2id$hash1"), now) {
		t.Error("another name or password verified")
	}
	if c.verified(k, now.Add(2*time.Minute)) {
		t.Error("expired key verified")
	}
	for i := range 10 {
		c.remember(credKey("u", string(rune('a'+i)), "h"), now)
	}
	if len(c.m) > 3 {
		t.Errorf("cache holds %d entries, max 3", len(c.m))
	}
}
