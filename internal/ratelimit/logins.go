// Package ratelimit limits failed sign-in attempts the way OWASP and NIST SP 800-63B
// (section 5.2.2) suggest: no hard lockout, but a rate limit per account name and per client
// address that only failures spend. The server answers a refused attempt with 429 Too Many
// Requests and a Retry-After header.
//
// Each key is a token bucket kept as its theoretical arrival time (the generic cell rate
// algorithm): a key may fail Burst times back to back, then once more per Interval. A key
// whose bucket has refilled carries no state and is forgotten, so memory follows the keys
// that failed recently, up to a fixed bound.
//
// A sign-in is used like this:
//
//	addr := ratelimit.Addr(r.RemoteAddr)
//	ok, wait := logins.Allow(name, addr, now)
//	if !ok {
//		// 429 with Retry-After: wait in whole seconds; the password is not checked.
//	}
//	if verified {
//		logins.Succeeded(name, addr, now)
//	} else {
//		logins.Failed(name, addr, now)
//	}
//
// Allow comes before any look at the password, a cache of verified credentials included:
// a cache hit answers a guess as surely as the hash does.
//
// Allow does not reserve anything: attempts between Allow and Failed are not yet counted,
// so a caller should bound how many password checks run at once (the hash's semaphore)
// and call Allow once it holds a slot. A key that fails more than its rate through such
// concurrency owes the difference: its wait grows by one Interval per failure.
package ratelimit

import (
	"hash/maphash"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limit is a token bucket of failures.
type Limit struct {
	// Burst is how many failures a key may have back to back from a clean state.
	Burst int
	// Interval is how long after the burst is spent one more failure is allowed; a key
	// recovers its whole burst after Burst×Interval without failures.
	Interval time.Duration
}

// Config sets the limits; a zero field takes its default.
type Config struct {
	// PerAccount limits failures for one account name (compared lower-cased).
	// Default: burst 10, then 1 per 6s (10 a minute).
	PerAccount Limit
	// PerAddress limits failures from one client address (see Addr).
	// Default: burst 30, then 1 per 2s (30 a minute).
	PerAddress Limit
	// MaxEntries bounds the keys remembered of each kind (accounts, addresses); past it
	// the key closest to having recovered is forgotten first. Default 100_000.
	MaxEntries int
}

var (
	defaultPerAccount = Limit{Burst: 10, Interval: 6 * time.Second}
	defaultPerAddress = Limit{Burst: 30, Interval: 2 * time.Second}
)

const defaultMaxEntries = 100_000

// Logins limits failed sign-in attempts per account name and per client address: two
// Limiters. It is safe for concurrent use. State is per process: with several replicas each
// one limits on its own, so the effective budget is multiplied by their number.
type Logins struct {
	accounts *Limiter
	addrs    *Limiter
}

// NewLogins returns a limiter with cfg's limits; zero fields take the defaults.
func NewLogins(cfg Config) *Logins {
	return &Logins{
		accounts: NewLimiter(orDefault(cfg.PerAccount, defaultPerAccount), cfg.MaxEntries),
		addrs:    NewLimiter(orDefault(cfg.PerAddress, defaultPerAddress), cfg.MaxEntries),
	}
}

func orDefault(l, def Limit) Limit {
	if l.Burst <= 0 {
		l.Burst = def.Burst
	}
	if l.Interval <= 0 {
		l.Interval = def.Interval
	}
	return l
}

// Allow reports whether an attempt for account from addr may be checked now; if not, how
// long until it may, rounded up to whole seconds and at least 1s (for Retry-After). It
// spends nothing: only Failed does.
func (l *Logins) Allow(account, addr string, now time.Time) (ok bool, retryAfter time.Duration) {
	ok1, r1 := l.accounts.Allow(strings.ToLower(account), now)
	ok2, r2 := l.addrs.Allow(addr, now)
	return ok1 && ok2, max(r1, r2)
}

// Failed records a failed attempt (wrong password or unknown account) for both the
// account name and the address.
func (l *Logins) Failed(account, addr string, now time.Time) {
	l.accounts.Spend(strings.ToLower(account), now)
	l.addrs.Spend(addr, now)
}

// Succeeded records a successful sign-in: it forgets the account's failures, so a user
// who mistyped a few times starts afresh. The address keeps its failures: otherwise a
// client could interleave sign-ins to its own account with guesses at others' and never
// be limited.
func (l *Logins) Succeeded(account string) {
	l.accounts.Reset(strings.ToLower(account))
}

// Limiter is a token bucket of failures per key: a key may fail Limit.Burst times back to
// back, then once more per Limit.Interval. Keys are kept as 64-bit hashes with a
// per-limiter seed, never as the keys themselves; two keys that collide (less than one chance
// in a billion among 100,000 keys) would share a budget. It is safe for concurrent use.
type Limiter struct {
	seed    maphash.Seed
	mu      sync.Mutex
	base    time.Time // the first time seen; times are kept as offsets from it
	started bool
	t       table
}

// NewLimiter returns a limiter remembering at most maxEntries keys (0: 100,000); past it the
// key closest to having recovered is forgotten first.
func NewLimiter(l Limit, maxEntries int) *Limiter {
	if maxEntries <= 0 {
		maxEntries = defaultMaxEntries
	}
	return &Limiter{seed: maphash.MakeSeed(), t: newTable(l, maxEntries)}
}

// Allow reports whether key may try now; if not, how long until it may, rounded up to whole
// seconds and at least 1s. It spends nothing.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	k := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.t.wait(k, l.offset(now)); wait > 0 {
		return false, roundUp(time.Duration(wait))
	}
	return true, 0
}

// Spend counts one failure of key.
func (l *Limiter) Spend(key string, now time.Time) {
	k := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.fail(k, l.offset(now))
}

// Reset forgets key's failures.
func (l *Limiter) Reset(key string) {
	k := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.reset(k)
}

// offset returns now as nanoseconds since the first time seen. Times from time.Now carry
// a monotonic reading, so a step of the wall clock does not move a key's state.
func (l *Limiter) offset(now time.Time) int64 {
	if !l.started {
		l.base, l.started = now, true
	}
	return int64(now.Sub(l.base))
}

func roundUp(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}

// Addr returns the key for a request's client address: the IP of remoteAddr ("host:port"
// or a bare host), IPv4-mapped IPv6 as IPv4, and IPv6 grouped by /64, since one client
// (a home line, a VM) usually holds a whole /64. An address that does not parse is
// returned as it is.
func Addr(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return remoteAddr
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}

// table holds the keys of one kind that are still recovering from failures, in a min-heap
// on their theoretical arrival time (tat): the time at which the bucket is full again.
// An attempt is allowed while tat is at most tolerance ahead of now; each failure moves
// tat one interval further.
type table struct {
	interval  int64 // nanoseconds
	tolerance int64 // (burst-1) × interval
	max       int
	byKey     map[uint64]*entry
	heap      []*entry
}

type entry struct {
	key uint64
	tat int64
	i   int // index in heap
}

func newTable(l Limit, maxEntries int) table {
	return table{
		interval:  int64(l.Interval),
		tolerance: int64(l.Burst-1) * int64(l.Interval),
		max:       maxEntries,
		byKey:     map[uint64]*entry{},
	}
}

// wait returns how long key must wait at t before an attempt, or ≤ 0 if it need not.
func (tb *table) wait(key uint64, t int64) int64 {
	tb.expire(t)
	e, ok := tb.byKey[key]
	if !ok {
		return 0
	}
	return e.tat - t - tb.tolerance
}

func (tb *table) fail(key uint64, t int64) {
	tb.expire(t)
	if e, ok := tb.byKey[key]; ok {
		e.tat = max(e.tat, t) + tb.interval
		tb.down(e.i) // tat only grows
		return
	}
	if len(tb.heap) >= tb.max {
		// Forget the key closest to having recovered, the root: it loses the least.
		tb.remove(0)
	}
	e := &entry{key: key, tat: t + tb.interval, i: len(tb.heap)}
	tb.heap = append(tb.heap, e)
	tb.byKey[key] = e
	tb.up(e.i)
}

func (tb *table) reset(key uint64) {
	if e, ok := tb.byKey[key]; ok {
		tb.remove(e.i)
	}
}

// expire forgets the keys whose buckets are full again at t: they are as good as new.
func (tb *table) expire(t int64) {
	for len(tb.heap) > 0 && tb.heap[0].tat <= t {
		tb.remove(0)
	}
	if len(tb.heap) == 0 && cap(tb.heap) > 1024 {
		// A map never shrinks: after a flood has passed, give its memory back.
		tb.heap, tb.byKey = nil, map[uint64]*entry{}
	}
}

// remove takes the entry at heap index i out of the table.
func (tb *table) remove(i int) {
	e := tb.heap[i]
	delete(tb.byKey, e.key)
	n := len(tb.heap) - 1
	if i != n {
		tb.heap[i] = tb.heap[n]
		tb.heap[i].i = i
	}
	tb.heap[n] = nil
	tb.heap = tb.heap[:n]
	if i != n {
		tb.down(i)
		tb.up(i)
	}
}

func (tb *table) up(i int) {
	h := tb.heap
	e := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p].tat <= e.tat {
			break
		}
		h[i] = h[p]
		h[i].i = i
		i = p
	}
	h[i] = e
	e.i = i
}

func (tb *table) down(i int) {
	h := tb.heap
	n := len(h)
	e := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].tat < h[c].tat {
			c = r
		}
		if e.tat <= h[c].tat {
			break
		}
		h[i] = h[c]
		h[i].i = i
		i = c
	}
	h[i] = e
	e.i = i
}
