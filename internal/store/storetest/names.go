package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// testLookAlikeNames: names that differ only in case, '-', '_' or '.', or by a separator at
// the end, are one name across users, orgs and top-level channels, and among the subchannels
// of one parent. The second is refused with a conflict that names the first; a look-up by
// another spelling finds the one there.
func testLookAlikeNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := mustUser(t, s, "alice")
	org, err := s.CreateOrg(ctx, "acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	dev := mustChannel(t, s, "acme/dev")
	foo := mustChannel(t, s, "foo-bar")

	refused := func(what string, err error, wantNamed string) {
		t.Helper()
		if !store.IsConflict(err) {
			t.Errorf("%s: %v, want a conflict", what, err)
			return
		}
		if !strings.Contains(err.Error(), wantNamed) {
			t.Errorf("%s: %q does not name %q", what, err, wantNamed)
		}
	}
	for _, n := range []string{"acme-", "acme.", "acme_", "Acme", "ACME__"} {
		_, err := s.CreateChannel(ctx, store.NewChannel{Name: n})
		refused("channel "+n, err, "the organization acme")
		_, err = s.CreateUser(ctx, store.NewUser{Name: n, Email: n + "@example.com", PasswordHash: "x"})
		refused("user "+n, err, "the organization acme")
		_, err = s.CreateOrg(ctx, n, alice.ID)
		refused("org "+n, err, "the organization acme")
	}
	for _, n := range []string{"alice-", "Alice", "alice."} {
		_, err := s.CreateOrg(ctx, n, alice.ID)
		refused("org "+n, err, "the user alice")
	}
	for _, n := range []string{"foo_bar", "foo.bar", "FOO-BAR", "foo--bar", "foo-bar-"} {
		_, err := s.CreateChannel(ctx, store.NewChannel{Name: n})
		refused("channel "+n, err, "the channel foo-bar")
		_, err = s.CreateUser(ctx, store.NewUser{Name: n, Email: strings.ToLower(n) + "x@example.com", PasswordHash: "x"})
		refused("user "+n, err, "the channel foo-bar")
	}
	for _, n := range []string{"acme/dev-", "acme/dev_", "acme/DEV", "acme/dev."} {
		_, err := s.CreateChannel(ctx, store.NewChannel{Name: n})
		refused("subchannel "+n, err, "the subchannel acme/dev")
	}
	refused("NameFree(acme_)", s.NameFree(ctx, "acme_"), "the organization acme")
	refused("NameFree(acme)", s.NameFree(ctx, "acme"), "acme")
	if err := s.NameFree(ctx, "fresh"); err != nil {
		t.Errorf("NameFree(fresh) = %v", err)
	}
	// Nothing refused left a row behind.
	if users, err := s.ListUsers(ctx); err != nil || len(users) != 1 {
		t.Errorf("users after the refusals: %v, %v; want alice alone", users, err)
	}
	if chans, err := s.ListChannels(ctx); err != nil || len(chans) != 4 {
		t.Errorf("channels after the refusals: %d, %v; want alice, acme, acme/dev, foo-bar", len(chans), err)
	}
	// Different names stay different: no separator is not a separator, and a subchannel's name
	// is its parent's business only.
	mustChannel(t, s, "foobar")
	mustChannel(t, s, "foo-bar/dev_")
	mustChannel(t, s, "acme/dev2")

	// Look-ups by another spelling find the one there; look-ups of kinds the name is not
	// find nothing.
	for _, tc := range []struct{ name string }{{"acme"}, {"ACME"}, {"acme_"}, {"acme."}, {"Acme-"}} {
		if ch, err := s.ChannelByName(ctx, tc.name); err != nil || ch.Name != "acme" || ch.OwnerOrgID != org.ID {
			t.Errorf("ChannelByName(%q) = %+v, %v; want acme", tc.name, ch, err)
		}
		if o, err := s.OrgByName(ctx, tc.name); err != nil || o.ID != org.ID {
			t.Errorf("OrgByName(%q) = %+v, %v; want acme", tc.name, o, err)
		}
		if u, err := s.UserByName(ctx, tc.name); !store.IsNotFound(err) {
			t.Errorf("UserByName(%q) = %+v, %v; acme is an org", tc.name, u, err)
		}
	}
	for _, n := range []string{"acme/dev", "acme_/dev", "ACME/Dev.", "acme/dev-"} {
		if ch, err := s.ChannelByName(ctx, n); err != nil || ch.ID != dev.ID {
			t.Errorf("ChannelByName(%q) = %+v, %v; want acme/dev", n, ch, err)
		}
	}
	if ch, err := s.ChannelByName(ctx, "foo.bar"); err != nil || ch.ID != foo.ID {
		t.Errorf("ChannelByName(foo.bar) = %+v, %v; want foo-bar", ch, err)
	}
	if ch, err := s.ChannelByName(ctx, "FooBar"); err != nil || ch.Name != "foobar" {
		t.Errorf("ChannelByName(FooBar) = %+v, %v; want foobar", ch, err)
	}
	if u, err := s.UserByName(ctx, "ALICE-"); err != nil || u.ID != alice.ID {
		t.Errorf("UserByName(ALICE-) = %+v, %v", u, err)
	}
	if _, err := s.OrgByName(ctx, "alice"); !store.IsNotFound(err) {
		t.Errorf("OrgByName(alice) = %v; alice is a user", err)
	}
	for _, n := range []string{"acme/nope", "acme/dev/x", "acme/dev/", "nope", "acme/dev_/x", "alice/dev", "acme-x", ""} {
		if ch, err := s.ChannelByName(ctx, n); !store.IsNotFound(err) {
			t.Errorf("ChannelByName(%q) = %+v, %v; want not found", n, ch, err)
		}
	}
	// A subchannel created by a parent's other spelling cannot happen: the store wants the
	// parent's exact name.
	if _, err := s.CreateChannel(ctx, store.NewChannel{Name: "ACME/test"}); !store.IsNotFound(err) {
		t.Errorf("CreateChannel(ACME/test) = %v, want the parent not found", err)
	}
	if groups, err := s.LookAlikes(ctx); err != nil || len(groups) != 0 {
		t.Errorf("LookAlikes = %v, %v; want none: nothing made under the rule shares a name", groups, err)
	}
	// A deleted channel frees its name in every spelling.
	if err := s.DeleteChannel(ctx, foo.ID); err != nil {
		t.Fatal(err)
	}
	mustChannel(t, s, "foo_bar")
}

// testConcurrentLookAlikes: look-alikes created at the same moment, as users, orgs and
// channels: exactly one of each round wins, the others get a conflict. On PostgreSQL the
// check before the insert cannot see the others' uncommitted rows; the unique index on the
// name keys is what refuses them.
func testConcurrentLookAlikes(t *testing.T, s store.Store) {
	ctx := t.Context()
	owner := mustUser(t, s, "owner")
	mustChannel(t, s, "parent")
	for round := range 8 {
		base := fmt.Sprintf("name%d", round)
		spellings := []string{base, base + "-", base + "_", base + ".", strings.ToUpper(base), base + "__"}
		var wg sync.WaitGroup
		errs := make([]error, 3*len(spellings))
		for i, n := range spellings {
			wg.Add(3)
			go func() {
				defer wg.Done()
				_, errs[3*i] = s.CreateChannel(ctx, store.NewChannel{Name: n})
			}()
			go func() {
				defer wg.Done()
				_, errs[3*i+1] = s.CreateUser(ctx, store.NewUser{Name: n, Email: fmt.Sprintf("u%d-%d@example.com", round, i), PasswordHash: "x"})
			}()
			go func() {
				defer wg.Done()
				_, errs[3*i+2] = s.CreateOrg(ctx, n, owner.ID)
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !store.IsConflict(err):
				t.Errorf("round %d, creation %d: %v, want a conflict", round, i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d look-alikes of %s were created at once, want 1 (%v)", round, wins, base, errs)
		}
		// Subchannels of one parent, the same.
		child := fmt.Sprintf("parent/c%d", round)
		errs = make([]error, 4)
		for i, n := range []string{child, child + "-", child + "_", strings.ToUpper(child[len("parent/"):])} {
			if i == 3 {
				n = "parent/" + n
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateChannel(ctx, store.NewChannel{Name: n})
			}()
		}
		wg.Wait()
		wins = 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !store.IsConflict(err) {
				t.Errorf("round %d, subchannel: %v, want a conflict", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d look-alike subchannels were created at once, want 1 (%v)", round, wins, errs)
		}
	}
	chans, err := s.ListChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// owner, parent, and per round one top-level name and one subchannel.
	if want := 2 + 2*8; len(chans) != want {
		t.Errorf("%d channels, want %d", len(chans), want)
	}
}
