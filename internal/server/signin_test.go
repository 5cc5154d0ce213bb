package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/ratelimit"
)

func TestSigninsLimitTheGuesserNotTheOwner(t *testing.T) {
	hash, err := access.HashPassword("the right password")
	if err != nil {
		t.Fatal(err)
	}
	l := newSignins(ratelimit.NewLogins(ratelimit.Config{PerAccount: ratelimit.Limit{Burst: 5, Interval: time.Hour}, PerAddress: ratelimit.Limit{Burst: 50, Interval: time.Hour}}))
	ctx := context.Background()
	for range 5 {
		if ok, _, err := l.verify(ctx, "bob", "10.0.0.66", hash, "guess", true); ok || err != nil {
			t.Fatalf("wrong guess: %v, %v", ok, err)
		}
	}
	var he *httpError
	if _, _, err := l.verify(ctx, "bob", "10.0.0.66", hash, "the right password", true); !errors.As(err, &he) || he.status != 429 {
		t.Errorf("the guesser's address after 5 failures: %v, want 429 even for the right password", err)
	}
	if ok, _, err := l.verify(ctx, "BOB", "10.0.0.7", hash, "the right password", true); !ok || err != nil {
		t.Errorf("the owner elsewhere: %v, %v; want let in", ok, err)
	}
}

// Concurrent guesses take turns, so no more than the burst are checked before the limit bites.
func TestSigninsConcurrentGuessesKeepTheBurst(t *testing.T) {
	hash, _ := access.HashPassword("the right password")
	l := newSignins(ratelimit.NewLogins(ratelimit.Config{PerAccount: ratelimit.Limit{Burst: 10, Interval: time.Hour}, PerAddress: ratelimit.Limit{Burst: 1000, Interval: time.Hour}}))
	var mu sync.Mutex
	checked := 0
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := l.verify(context.Background(), "bob", "10.0.0.66", hash, "guess", true)
			if err == nil && !ok {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if checked > 10 {
		t.Errorf("%d concurrent guesses were checked, want at most the burst of 10", checked)
	}
}

func TestSigninsAccountWideBudget(t *testing.T) {
	hash, _ := access.HashPassword("the right password")
	l := newSignins(ratelimit.NewLogins(ratelimit.Config{}))
	ctx := context.Background()
	// Guesses spread over many addresses still run out for the account.
	for i := range 100 {
		l.verify(ctx, "bob", "10.1."+string(rune('0'+i/10))+"."+string(rune('0'+i%10)), hash, "guess", true)
	}
	var he *httpError
	if _, _, err := l.verify(ctx, "bob", "10.2.0.1", hash, "guess", true); !errors.As(err, &he) || he.status != 429 {
		t.Errorf("after 100 failures from 100 addresses: %v, want 429", err)
	}
}
