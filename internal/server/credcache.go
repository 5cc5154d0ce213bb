package server

import (
	"crypto/sha256"
	"sync"
	"time"
)

// credCache remembers name/password pairs that verified, so that a client sending Basic
// credentials on every request (conda does, for each repodata and package) costs one argon2
// hash per ttl, not one per request. An entry is keyed by the stored hash too: a changed
// password misses at once. Only digests are kept, never a password.
type credCache struct {
	mu  sync.Mutex
	m   map[[32]byte]time.Time
	ttl time.Duration
	max int
}

func newCredCache(ttl time.Duration, max int) *credCache {
	return &credCache{m: map[[32]byte]time.Time{}, ttl: ttl, max: max}
}

func credKey(name, password, storedHash string) [32]byte {
	h := sha256.New()
	for _, s := range []string{name, password, storedHash} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *credCache) verified(k [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[k]
	if ok && now.After(exp) {
		delete(c.m, k)
		return false
	}
	return ok
}

func (c *credCache) remember(k [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, exp := range c.m {
			if now.After(exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // a flood of distinct valid logins: start over rather than grow
		}
	}
	c.m[k] = now.Add(c.ttl)
}
