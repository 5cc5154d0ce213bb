package server

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// credCache remembers name/password pairs that verified, so that a client sending Basic
// credentials on every request (conda does, for each repodata and package) costs one argon2
// hash per ttl, not one per request. An entry is keyed by the stored hash too: a changed
// password misses at once. Only digests are kept, never a password.
//
// A check that is not remembered is made once for all the requests that need it at the
// same time (check): the first hashes, the others with the same name, password and stored
// hash wait for its answer, rather than each hashing in turn behind the account's lock (32
// concurrent requests of one user took up to 2.1 s, and 64 MiB each). A request in the last
// part of an entry's life has it checked again in the background (refresh), so that steady
// traffic never meets an expired entry.
type credCache struct {
	mu      sync.Mutex
	m       map[[32]byte]*credEntry
	flights map[[32]byte]*credFlight
	ttl     time.Duration
	max     int
}

// credEntry is a remembered check: when the password last verified, and whether a check
// ahead of expiry is under way.
type credEntry struct {
	at         time.Time
	refreshing bool
}

// credFlight is a check under way, which requests for the same key wait for.
type credFlight struct {
	done chan struct{}
	res  credResult
}

// credResult is a check's answer: whether the password matched, and the account's stored
// hash as the requests should know it (a new one when the check stored a normalized hash).
type credResult struct {
	ok   bool
	hash string
	err  error
}

// refreshAfter is the part of an entry's life after which a request has it checked again.
const refreshAfter = 0.8

func newCredCache(ttl time.Duration, max int) *credCache {
	return &credCache{m: map[[32]byte]*credEntry{}, flights: map[[32]byte]*credFlight{}, ttl: ttl, max: max}
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
	ok, _ := c.lookup(k, now)
	return ok
}

// lookup says whether k is remembered at now and, if so, whether the caller should have it
// checked again ahead of its expiry (then it is the only one told so until that is over,
// and must call refreshed).
func (c *credCache) lookup(k [32]byte, now time.Time) (ok, refresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return false, false
	}
	age := now.Sub(e.at)
	if age > c.ttl {
		delete(c.m, k)
		return false, false
	}
	if !e.refreshing && age >= time.Duration(float64(c.ttl)*refreshAfter) {
		e.refreshing = true
		return true, true
	}
	return true, false
}

// refreshed ends a refresh that lookup asked for; a check that verified has remembered k
// afresh already.
func (c *credCache) refreshed(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.refreshing = false
	}
}

func (c *credCache) remember(k [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rememberLocked(k, now)
}

func (c *credCache) rememberLocked(k [32]byte, now time.Time) {
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.Sub(e.at) > c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // a flood of distinct valid logins: start over rather than grow
		}
	}
	c.m[k] = &credEntry{at: now}
}

// check runs verify for k, once for all callers at the same time: a caller that finds a
// check of k under way waits for its answer (or for ctx). A password that verified is
// remembered, at the time the check ended. A check whose own request left before it ended
// (errClientGone) answers nobody else: the next waiter checks again.
func (c *credCache) check(ctx context.Context, k [32]byte, verify func() credResult) credResult {
	for {
		c.mu.Lock()
		if f, ok := c.flights[k]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return credResult{err: errClientGone}
			}
			if f.res.err == errClientGone {
				continue
			}
			return f.res
		}
		f := &credFlight{done: make(chan struct{})}
		c.flights[k] = f
		c.mu.Unlock()

		f.res = verify()
		c.mu.Lock()
		delete(c.flights, k)
		if f.res.ok && f.res.err == nil {
			c.rememberLocked(k, time.Now())
		}
		c.mu.Unlock()
		close(f.done)
		return f.res
	}
}
