package server

import (
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// The identity cache's rules, the same for every map: a hit until the TTL or the epoch ends
// it, errors not kept, nothing kept from a load the epoch moved during, and a size cap.
func TestIdentityCacheRules(t *testing.T) {
	now := time.Now()
	c := newIdentityCache(time.Minute)
	loads := 0
	load := func() (store.Org, error) { loads++; return store.Org{ID: 7, Name: "acme"}, nil }
	get := func(at time.Time) store.Org {
		t.Helper()
		o, err := cached(c, c.orgs, 7, at, load)
		if err != nil || o.Name != "acme" {
			t.Fatalf("cached = %+v, %v", o, err)
		}
		return *o
	}

	get(now)
	get(now.Add(time.Second))
	if loads != 1 {
		t.Fatalf("loads within the TTL = %d, want 1", loads)
	}
	get(now.Add(time.Minute))
	if loads != 2 {
		t.Fatalf("loads once the TTL is over = %d, want 2", loads)
	}
	c.changed()
	get(now.Add(time.Minute))
	if loads != 3 {
		t.Fatalf("loads after a change = %d, want 3", loads)
	}

	// A change during the load: what was loaded may predate it, so it is not kept.
	racing := func() (store.Org, error) { c.changed(); return store.Org{ID: 8}, nil }
	if o, err := cached(c, c.orgs, 8, now, racing); err != nil || o.ID != 8 {
		t.Fatalf("cached = %+v, %v", o, err)
	}
	if _, ok := c.orgs[8]; ok {
		t.Fatal("an entry loaded while the epoch moved was kept")
	}

	boom := errors.New("boom")
	if _, err := cached(c, c.orgs, 9, now, func() (store.Org, error) { return store.Org{}, boom }); err != boom {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, ok := c.orgs[9]; ok {
		t.Fatal("a failed load was kept")
	}

	for i := range int64(maxCached) {
		c.orgs[1000+i] = &ttlEntry[store.Org]{}
	}
	get(now)
	if len(c.orgs) != 1 {
		t.Fatalf("orgs after passing the cap: %d entries, want 1", len(c.orgs))
	}
}
