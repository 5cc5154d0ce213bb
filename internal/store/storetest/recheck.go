package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/store"
)

var errRefused = errors.New("refused at commit")

// testRecheck: a publication's Recheck runs inside its transaction and sees the store as it
// is then; refused, it leaves nothing behind (no file, no package, no label, no event, no
// revision), and is returned as it is. The same on a re-upload that would add labels.
func testRecheck(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	org, ch := mustOrgGroup(t, s, alice, bob)
	if err := s.SetGrant(ctx, org.ID, "devs", ch.ID, "", access.Write, alice.ID); err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateToken(ctx, store.Token{OwnerUserID: bob.ID, CreatedBy: bob.ID, Name: "ci", Hash: "recheck-hash", Kind: "scope",
		Strength: "strong", Scopes: []string{"conda"}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	events := func() int {
		evs, err := s.Events(ctx, ch.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	// What a Recheck reads is what the store holds: the token, the account, its grants,
	// the org, the channel.
	var seen struct {
		tok   store.Token
		user  store.User
		g     store.Grants
		org   store.Org
		chRev int64
	}
	read := func(ctx context.Context, rd store.AccessReader) error {
		var err error
		if seen.tok, err = rd.TokenByHash(ctx, "recheck-hash"); err != nil {
			return err
		}
		if seen.user, err = rd.UserByID(ctx, bob.ID); err != nil {
			return err
		}
		if seen.g, err = rd.GrantsOf(ctx, bob.ID); err != nil {
			return err
		}
		if seen.org, err = rd.OrgByID(ctx, org.ID); err != nil {
			return err
		}
		c, err := rd.ChannelByID(ctx, ch.ID)
		seen.chRev = c.Revision
		return err
	}
	nf := file(ch, "noarch", "tool", "1.0", "tool-bytes", "main")
	nf.Recheck = read
	if _, created, err := s.AddFile(ctx, nf); err != nil || !created {
		t.Fatalf("AddFile with a Recheck that passes: %v, created %v", err, created)
	}
	if seen.tok.ID != tok.ID || seen.user.Name != "bob" || seen.g.Channels[ch.ID] != access.Write || seen.g.OrgRoles[org.ID] != store.RoleMember ||
		seen.org.Name != "acme" || seen.chRev != revision(t, s, "acme") {
		t.Errorf("Recheck read %+v; the channel's revision is %d (the publication's own)", seen, revision(t, s, "acme"))
	}

	// Revoked, disabled, grant removed: each seen by the next publication, which is refused
	// and leaves nothing.
	refuse := func(what string, change func(), check func(context.Context, store.AccessReader) error) {
		t.Helper()
		change()
		rev, nev := revision(t, s, "acme"), events()
		nf := file(ch, "noarch", "refused-"+what, "1.0", "refused-bytes-"+what, "main", "dev")
		nf.Recheck = check
		if _, _, err := s.AddFile(ctx, nf); !errors.Is(err, errRefused) {
			t.Errorf("%s: AddFile = %v, want the Recheck's error", what, err)
		}
		if _, err := s.File(ctx, ch.ID, store.FileRef{Subdir: "noarch", Filename: nf.Filename}, ""); !store.IsNotFound(err) {
			t.Errorf("%s: the refused file is there (%v)", what, err)
		}
		if _, err := s.PackagePrivacy(ctx, ch.ID, nf.Package); !store.IsNotFound(err) {
			t.Errorf("%s: the refused file's package is there (%v)", what, err)
		}
		if in, err := s.BlobInUse(ctx, nf.SHA256); err != nil || in {
			t.Errorf("%s: the refused blob is in use (%v)", what, err)
		}
		if labels, _ := s.Labels(ctx, ch.ID); len(labels) != 1 || labels[0].Label != "main" || labels[0].Files != 1 {
			t.Errorf("%s: labels after the refusal = %+v", what, labels)
		}
		if r := revision(t, s, "acme"); r != rev {
			t.Errorf("%s: the revision moved from %d to %d", what, rev, r)
		}
		if n := events(); n != nev {
			t.Errorf("%s: %d events, %d before", what, n, nev)
		}
	}
	refuse("revoked", func() {
		if err := s.DeleteToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
	}, func(ctx context.Context, rd store.AccessReader) error {
		if _, err := rd.TokenByHash(ctx, "recheck-hash"); store.IsNotFound(err) {
			return errRefused
		}
		return nil
	})
	refuse("disabled", func() {
		yes := true
		if _, err := s.UpdateUser(ctx, bob.ID, store.UserUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
	}, func(ctx context.Context, rd store.AccessReader) error {
		if u, err := rd.UserByID(ctx, bob.ID); err != nil || u.Disabled {
			return errRefused
		}
		return nil
	})
	refuse("grant removed", func() {
		if err := s.RemoveGrant(ctx, org.ID, "devs", ch.ID, "", alice.ID); err != nil {
			t.Fatal(err)
		}
	}, func(ctx context.Context, rd store.AccessReader) error {
		if g, err := rd.GrantsOf(ctx, bob.ID); err != nil || g.Channels[ch.ID] < access.Write {
			return errRefused
		}
		return nil
	})

	// The same bytes again with a new label: the label is a publication too.
	again := file(ch, "noarch", "tool", "1.0", "tool-bytes", "dev")
	again.Recheck = func(context.Context, store.AccessReader) error { return errRefused }
	rev := revision(t, s, "acme")
	if _, _, err := s.AddFile(ctx, again); !errors.Is(err, errRefused) {
		t.Errorf("re-upload adding a label: %v, want the Recheck's error", err)
	}
	if f, _ := s.File(ctx, ch.ID, store.FileRef{Subdir: "noarch", Filename: again.Filename}, ""); len(f.Labels) != 1 || revision(t, s, "acme") != rev {
		t.Errorf("after the refused re-upload: labels %v, revision %d (was %d)", f.Labels, revision(t, s, "acme"), rev)
	}
}

// testRecheckHoldsOff: what a Recheck read cannot change before the publication commits. A
// revocation made while the publication is between its Recheck and its commit waits for
// the commit (PostgreSQL: row locks; SQLite: one writer), so no revocation that has
// returned can be followed by a publication that it should have stopped.
func testRecheckHoldsOff(t *testing.T, s store.Store) {
	ctx := t.Context()
	bob := mustUser(t, s, "bob")
	ch, _ := s.ChannelByName(ctx, "bob")
	tok, err := s.CreateToken(ctx, store.Token{OwnerUserID: bob.ID, CreatedBy: bob.ID, Name: "ci", Hash: "held-hash", Kind: "scope",
		Strength: "strong", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// carol writes to the org acme's channel through the group devs.
	carol := mustUser(t, s, "carol")
	org, orgCh := mustOrgGroup(t, s, carol, bob)
	if err := s.SetGrant(ctx, org.ID, "devs", orgCh.ID, "", access.Write, carol.ID); err != nil {
		t.Fatal(err)
	}
	for _, change := range []struct {
		what string
		do   func() error
	}{
		{"revocation", func() error { return s.DeleteToken(ctx, tok.ID) }},
		{"disabling", func() error {
			yes := true
			_, err := s.UpdateUser(ctx, bob.ID, store.UserUpdate{Disabled: &yes})
			return err
		}},
		{"grant removal", func() error { return s.RemoveGrant(ctx, org.ID, "devs", orgCh.ID, "", carol.ID) }},
		{"group membership removal", func() error { return s.RemoveGroupMember(ctx, org.ID, "devs", bob.ID, carol.ID) }},
	} {
		done := make(chan error, 1)
		target := ch
		if strings.HasPrefix(change.what, "grant") || strings.HasPrefix(change.what, "group") {
			target = orgCh
			if change.what == "group membership removal" { // the grant is back, the member still there
				if err := s.SetGrant(ctx, org.ID, "devs", orgCh.ID, "", access.Write, carol.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		nf := file(target, "noarch", "held-"+strings.ReplaceAll(change.what, " ", "-"), "1.0", "held-"+change.what)
		nf.Recheck = func(ctx context.Context, rd store.AccessReader) error {
			switch change.what {
			case "revocation":
				if _, err := rd.TokenByHash(ctx, "held-hash"); err != nil {
					return err
				}
			case "disabling":
				if _, err := rd.UserByID(ctx, bob.ID); err != nil {
					return err
				}
			default:
				if g, err := rd.GrantsOf(ctx, bob.ID); err != nil || g.Channels[orgCh.ID] != access.Write {
					return fmt.Errorf("bob's grants before the %s: %+v, %v", change.what, g, err)
				}
			}
			go func() { done <- change.do() }()
			// The change must not complete while this transaction is open: give it every
			// chance to (it needs milliseconds), then commit.
			select {
			case err := <-done:
				t.Errorf("the %s completed (%v) while a publication that had read what it changes was open", change.what, err)
				done <- err
			case <-time.After(500 * time.Millisecond):
			}
			return nil
		}
		if _, created, err := s.AddFile(ctx, nf); err != nil || !created {
			t.Fatalf("AddFile: %v, %v", err, created)
		}
		if err := <-done; err != nil {
			t.Errorf("the %s after the publication: %v", change.what, err)
		}
	}
	if _, err := s.TokenByHash(ctx, "held-hash"); !store.IsNotFound(err) {
		t.Errorf("the token after the revocation: %v", err)
	}
	if u, _ := s.UserByID(ctx, bob.ID); !u.Disabled {
		t.Error("the account after the disabling is not disabled")
	}
	if g, _ := s.GrantsOf(ctx, bob.ID); g.Channels[orgCh.ID] != access.None {
		t.Errorf("bob's grants after the removals: %+v", g)
	}
}
