package server

import (
	"context"
	"hash/fnv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/store"
)

// signins limits password guessing without letting anyone lock others out cheaply:
//
//   - per (account, client address) and per client address (Options.Logins): a guesser is
//     slowed where they are, and the account's owner, elsewhere, is not;
//   - per account, with a much larger budget (accountWide): guessing spread over many
//     addresses still runs out;
//   - checks of one account take turns (stripes), so that concurrent guesses cannot all slip
//     in before the first failure is counted.
//
// While a budget is spent, every attempt is refused, right passwords too: otherwise a guesser
// would still tell the right guess from the wrong ones.
type signins struct {
	pairs       *ratelimit.Logins
	accountWide *ratelimit.Limiter // keyed by the lower-cased account name
	stripes     [64]chan struct{}
	// hashes counts the passwords checked (each an argon2id hash, or two): what a cache of
	// verified passwords saves.
	hashes atomic.Int64
}

func newSignins(pairs *ratelimit.Logins) *signins {
	s := &signins{pairs: pairs, accountWide: ratelimit.NewLimiter(ratelimit.Limit{Burst: 100, Interval: 36 * time.Second}, 0)} // 100 an hour
	for i := range s.stripes {
		s.stripes[i] = make(chan struct{}, 1)
	}
	return s
}

func pairKey(account, addr string) string { return strings.ToLower(account) + "\x00" + addr }

// allow is the budget check; it costs no hashing.
func (l *signins) allow(account, addr string, now time.Time) error {
	ok1, r1 := l.pairs.Allow(pairKey(account, addr), addr, now)
	ok2, r2 := l.accountWide.Allow(strings.ToLower(account), now)
	if !ok1 || !ok2 {
		return errTooManyAttempts(max(r1, r2))
	}
	return nil
}

// verify checks a password for an account under the budgets. known is false for an account
// that does not exist: it costs the same hash and counts as a failure. rehash says that the
// password matched a hash of its form as typed, from before passwords were normalized: the
// caller stores a new hash (Server.upgradeHash).
func (l *signins) verify(ctx context.Context, account, addr, storedHash, password string, known bool) (ok, rehash bool, err error) {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(account)))
	stripe := l.stripes[h.Sum32()%uint32(len(l.stripes))]
	select {
	case stripe <- struct{}{}:
	case <-ctx.Done():
		return false, false, errClientGone
	}
	defer func() { <-stripe }()
	now := time.Now()
	if err := l.allow(account, addr, now); err != nil {
		return false, false, err
	}
	l.hashes.Add(1)
	ok, rehash, err = access.VerifyPassword(ctx, storedHash, password)
	if err != nil {
		return false, false, errClientGone
	}
	if !ok || !known {
		l.pairs.Failed(pairKey(account, addr), addr, now)
		l.accountWide.Spend(strings.ToLower(account), now)
		return false, false, nil
	}
	l.pairs.Succeeded(pairKey(account, addr))
	l.accountWide.Reset(strings.ToLower(account))
	return true, rehash, nil
}

// upgradeHash stores a hash of the normalized form of a password that matched only as it
// was typed (signins.verify's rehash), so that its other forms sign in from now on. Only if
// the account still has the hash that matched: a password changed meanwhile stays. A failure
// is logged; the sign-in stands. It returns the account's hash as this request should know it:
// the new one if it was stored, else the one that matched.
func (s *Server) upgradeHash(ctx context.Context, u store.User, password string) string {
	hash, err := access.HashPasswordContext(ctx, password)
	replaced := false
	if err == nil {
		replaced, err = s.store.RehashPassword(ctx, u.ID, u.PasswordHash, hash)
	}
	if err == nil && replaced {
		// The identity caches here and on the other replicas hold the old hash, which the
		// other forms of the password do not match: once per account, they start over.
		s.ids.changed()
		err = s.store.BumpAccessEpoch(ctx)
	}
	if err != nil {
		s.warn(ctx, "storing the normalized password hash failed", "user", u.Name, "err", err)
		return u.PasswordHash
	}
	if !replaced {
		return u.PasswordHash // changed meanwhile: the store's hash is not ours to name
	}
	s.log.InfoContext(ctx, "password hash normalized", "request_id", requestID(ctx), "user", u.Name)
	return hash
}
