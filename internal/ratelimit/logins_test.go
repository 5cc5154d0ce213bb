package ratelimit

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// step is one call at t0+at; for allow, want and wantWait are what it must return.
type step struct {
	at       time.Duration
	op       string // "allow", "fail", "succeed"
	account  string
	addr     string
	n        int // repeat the call n times (0 means once)
	want     bool
	wantWait time.Duration
}

func fail(at time.Duration, account, addr string, n int) step {
	return step{at: at, op: "fail", account: account, addr: addr, n: n}
}

func allow(at time.Duration, account, addr string, want bool, wait time.Duration) step {
	return step{at: at, op: "allow", account: account, addr: addr, want: want, wantWait: wait}
}

func succeed(at time.Duration, account, addr string) step {
	return step{at: at, op: "succeed", account: account, addr: addr}
}

// distinct returns n failures at at for the account from n different addresses (or, with
// account "", n different accounts from addr).
func distinct(at time.Duration, account, addr string, n int) []step {
	var s []step
	for i := range n {
		a, ad := account, addr
		if account == "" {
			a = "user" + strconv.Itoa(i)
		} else {
			ad = fmt.Sprintf("192.0.2.%d", i)
		}
		s = append(s, fail(at, a, ad, 0))
	}
	return s
}

func TestLogins(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "a fresh key is allowed",
			steps: []step{
				allow(0, "alice", "192.0.2.1", true, 0),
			},
		},
		{
			name: "an account gets 10 failures back to back, then 1 per 6s",
			steps: concat(
				distinct(0, "alice", "", 9),
				[]step{allow(0, "alice", "198.51.100.1", true, 0)},
				distinct(0, "alice", "", 1),
				[]step{
					allow(0, "alice", "198.51.100.1", false, 6*s),
					allow(2*s, "alice", "198.51.100.1", false, 4*s),
					allow(5900*time.Millisecond, "alice", "198.51.100.1", false, 1*s),
					allow(6*s, "alice", "198.51.100.1", true, 0),
					fail(6*s, "alice", "198.51.100.1", 0),
					allow(6*s, "alice", "198.51.100.1", false, 6*s),
					allow(12*s, "alice", "198.51.100.1", true, 0),
				},
			),
		},
		{
			name: "other accounts are not affected by one account's failures",
			steps: concat(
				distinct(0, "alice", "", 10),
				[]step{allow(0, "bob", "198.51.100.1", true, 0)},
			),
		},
		{
			name: "an account recovers its whole burst after 10 × 6s",
			steps: concat(
				distinct(0, "alice", "", 10),
				[]step{allow(0, "alice", "198.51.100.1", false, 6*s)},
				distinct(60*s, "alice", "", 10),
				[]step{allow(60*s, "alice", "198.51.100.1", false, 6*s)},
			),
		},
		{
			name: "account names are compared case-insensitively",
			steps: concat(
				distinct(0, "Alice", "", 5),
				distinct(0, "ALICE", "", 5),
				[]step{allow(0, "alice", "198.51.100.1", false, 6*s)},
			),
		},
		{
			name: "an address gets 30 failures back to back, then 1 per 2s",
			steps: concat(
				distinct(0, "", "203.0.113.7", 29),
				[]step{allow(0, "someone", "203.0.113.7", true, 0)},
				distinct(0, "", "203.0.113.7", 1),
				[]step{
					allow(0, "someone", "203.0.113.7", false, 2*s),
					allow(0, "someone", "203.0.113.8", true, 0),
					allow(2*s, "someone", "203.0.113.7", true, 0),
				},
			),
		},
		{
			name: "the longer of the two waits is returned",
			steps: concat(
				distinct(0, "", "203.0.113.7", 30),
				distinct(0, "alice", "", 10),
				[]step{
					allow(0, "alice", "203.0.113.7", false, 6*s),
					allow(0, "bob", "203.0.113.7", false, 2*s),
				},
			),
		},
		{
			name: "a success forgets the account's failures but not the address's",
			steps: []step{
				fail(0, "alice", "203.0.113.7", 10),
				allow(0, "alice", "203.0.113.8", false, 6*s),
				succeed(0, "alice", "203.0.113.7"),
				allow(0, "alice", "203.0.113.8", true, 0),
				fail(0, "bob", "203.0.113.7", 20),
				allow(0, "carol", "203.0.113.7", false, 2*s),
				succeed(0, "carol", "203.0.113.7"),
				allow(0, "carol", "203.0.113.7", false, 2*s),
			},
		},
		{
			name: "Retry-After is rounded up to whole seconds, at least 1s",
			cfg:  Config{PerAccount: Limit{Burst: 1, Interval: 1500 * time.Millisecond}},
			steps: []step{
				fail(0, "alice", "192.0.2.1", 0),
				allow(0, "alice", "192.0.2.1", false, 2*s),
				allow(600*time.Millisecond, "alice", "192.0.2.1", false, 1*s),
				allow(1499*time.Millisecond, "alice", "192.0.2.1", false, 1*s),
				allow(1500*time.Millisecond, "alice", "192.0.2.1", true, 0),
			},
		},
		{
			name: "failures beyond the rate are owed one interval each",
			cfg:  Config{PerAccount: Limit{Burst: 2, Interval: 10 * s}},
			steps: []step{
				// Five attempts that passed Allow together all fail.
				fail(0, "alice", "192.0.2.1", 5),
				allow(0, "alice", "192.0.2.1", false, 40*s),
				allow(40*s, "alice", "192.0.2.1", true, 0),
			},
		},
		{
			name: "custom limits replace the defaults",
			cfg:  Config{PerAccount: Limit{Burst: 3, Interval: time.Minute}, PerAddress: Limit{Burst: 100, Interval: s}},
			steps: []step{
				fail(0, "alice", "192.0.2.1", 3),
				allow(0, "alice", "192.0.2.1", false, time.Minute),
				fail(0, "bob", "192.0.2.1", 97),
				allow(0, "carol", "192.0.2.1", false, s),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLogins(tt.cfg)
			for i, st := range tt.steps {
				now := t0.Add(st.at)
				for range max(st.n, 1) {
					switch st.op {
					case "fail":
						l.Failed(st.account, st.addr, now)
					case "succeed":
						l.Succeeded(st.account)
					case "allow":
						ok, wait := l.Allow(st.account, st.addr, now)
						if ok != st.want || wait != st.wantWait {
							t.Fatalf("step %d: Allow(%q, %q, t0+%v) = %v, %v; want %v, %v",
								i, st.account, st.addr, st.at, ok, wait, st.want, st.wantWait)
						}
					default:
						t.Fatalf("step %d: unknown op %q", i, st.op)
					}
				}
			}
		})
	}
}

func concat(parts ...[]step) []step {
	var all []step
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestSuccessesNeverSpend(t *testing.T) {
	l := NewLogins(Config{})
	now := t0
	for i := range 10_000 {
		ok, wait := l.Allow("Alice", "203.0.113.7", now)
		if !ok {
			t.Fatalf("attempt %d refused for %v though every attempt succeeded", i, wait)
		}
		l.Succeeded("Alice")
		now = now.Add(time.Millisecond)
	}
	if n := len(l.accounts.t.heap) + len(l.addrs.t.heap); n != 0 {
		t.Errorf("%d keys remembered after only successes; want 0", n)
	}
}

func TestMemoryBoundedUnderFlood(t *testing.T) {
	const maxEntries = 10_000
	l := NewLogins(Config{MaxEntries: maxEntries})
	// A victim account under a slow guessing attack: its whole burst is spent.
	for i := range 10 {
		l.Failed("victim", fmt.Sprintf("192.0.2.%d", i), t0)
	}
	// Then a million distinct names from a million distinct addresses, all within the
	// same second, so that none has recovered and eviction must choose.
	now := t0
	for i := range 1_000_000 {
		l.Failed("user"+strconv.Itoa(i), "addr"+strconv.Itoa(i), now)
		if i%1000 == 0 {
			now = now.Add(time.Millisecond)
		}
	}
	for name, tb := range map[string]*table{"accounts": &l.accounts.t, "addresses": &l.addrs.t} {
		if len(tb.heap) > maxEntries || len(tb.byKey) != len(tb.heap) {
			t.Errorf("%s: %d in heap, %d in index; want equal and at most %d", name, len(tb.heap), len(tb.byKey), maxEntries)
		}
	}
	// The flood's keys each owe one interval, the victim ten: the victim is kept.
	if ok, _ := l.Allow("victim", "198.51.100.1", now); ok {
		t.Error("victim account allowed after the flood; its failures were evicted before the flood's")
	}
	// Once everything has recovered, nothing is remembered.
	later := now.Add(time.Hour)
	if ok, _ := l.Allow("victim", "198.51.100.1", later); !ok {
		t.Error("victim account still refused an hour later")
	}
	if n := len(l.accounts.t.heap) + len(l.addrs.t.heap); n != 0 {
		t.Errorf("%d keys remembered after all recovered; want 0", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	l := NewLogins(Config{MaxEntries: 500})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			now := t0
			for i := range 5_000 {
				account := "user" + strconv.Itoa((g*7+i)%1000)
				addr := fmt.Sprintf("192.0.2.%d", i%256)
				if ok, wait := l.Allow(account, addr, now); !ok && wait < time.Second {
					t.Errorf("refused with Retry-After %v; want at least 1s", wait)
					return
				}
				switch i % 3 {
				case 0:
					l.Succeeded(account)
				default:
					l.Failed(account, addr, now)
				}
				now = now.Add(time.Duration(i%5) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	for name, tb := range map[string]*table{"accounts": &l.accounts.t, "addresses": &l.addrs.t} {
		if len(tb.heap) > 500 || len(tb.byKey) != len(tb.heap) {
			t.Errorf("%s: %d in heap, %d in index; want equal and at most 500", name, len(tb.heap), len(tb.byKey))
		}
		for i, e := range tb.heap {
			if e.i != i || tb.byKey[e.key] != e {
				t.Fatalf("%s: heap[%d] says index %d", name, i, e.i)
			}
			if i > 0 && tb.heap[(i-1)/2].tat > e.tat {
				t.Fatalf("%s: heap order broken at %d", name, i)
			}
		}
	}
}

func TestAddr(t *testing.T) {
	tests := []struct {
		remote string
		want   string
	}{
		{"192.0.2.1:54321", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:443", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:80", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:80", "2001:db8:1:3::/64"},
		{"2001:db8:1:2::7", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::7]", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"[::1]:8080", "::/64"},
		{"@", "@"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Addr(tt.remote); got != tt.want {
			t.Errorf("Addr(%q) = %q; want %q", tt.remote, got, tt.want)
		}
	}
}

func TestIPv6SharesBudgetPerSlash64(t *testing.T) {
	l := NewLogins(Config{})
	// A client rotating through its /64 is one address.
	for i := range 30 {
		l.Failed("user"+strconv.Itoa(i), Addr(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)), t0)
	}
	if ok, _ := l.Allow("someone", Addr("[2001:db8:1:2:dead:beef:0:1]:443"), t0); ok {
		t.Error("another address in the same /64 allowed after 30 failures from the /64")
	}
	if ok, _ := l.Allow("someone", Addr("[2001:db8:1:3::1]:443"), t0); !ok {
		t.Error("an address in the next /64 refused")
	}
}
