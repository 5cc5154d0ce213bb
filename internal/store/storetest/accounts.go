package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/store"
)

func testUserNamespace(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	ch, err := s.ChannelByName(ctx, "alice")
	if err != nil || ch.OwnerUserID != u.ID || ch.Private {
		t.Fatalf("alice's channel = %+v, %v; want a public channel owned by alice", ch, err)
	}
	mustChannel(t, s, "acme")
	if _, err := s.CreateUser(ctx, store.NewUser{Name: "acme", Email: "acme@example.com", PasswordHash: "x"}); !store.IsConflict(err) {
		t.Errorf("user named like a channel: %v, want conflict", err)
	}
	if _, err := s.CreateOrg(ctx, "alice", u.ID); !store.IsConflict(err) {
		t.Errorf("org named like a user: %v, want conflict", err)
	}
	if _, err := s.CreateChannel(ctx, store.NewChannel{Name: "alice"}); !store.IsConflict(err) {
		t.Errorf("channel named like a user: %v, want conflict", err)
	}
	if _, err := s.CreateUser(ctx, store.NewUser{Name: "alice2", Email: "ALICE@example.com", PasswordHash: "x"}); !store.IsConflict(err) {
		t.Errorf("second account with alice's address (other case): %v, want conflict", err)
	}
	if _, err := s.ChannelByName(ctx, "alice2"); !store.IsNotFound(err) {
		t.Errorf("a refused user left a channel behind: %v", err)
	}
	got, err := s.UserByEmail(ctx, "Alice@Example.com")
	if err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail = %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !store.IsNotFound(err) {
		t.Errorf("UserByEmail(nobody) = %v, want not found", err)
	}
	// Concurrent sign-ups of one name: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CreateUser(ctx, store.NewUser{Name: "race", Email: strings.Repeat("r", i+1) + "@example.com", PasswordHash: "x"})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !store.IsConflict(err):
			t.Errorf("concurrent sign-up: %v, want nil or conflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent sign-ups of one name won, want 1", wins)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 {
		t.Errorf("ListUsers = %d users, %v; want alice and race", len(users), err)
	}
}

func testUpdateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, err := s.CreateUser(ctx, store.NewUser{Name: "bob", Email: "bob@example.com", PasswordHash: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if u.EmailVerified || u.Disabled || u.Admin {
		t.Errorf("new user = %+v", u)
	}
	yes, hash := true, "new"
	got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{EmailVerified: &yes, Disabled: &yes, Admin: &yes, PasswordHash: &hash})
	if err != nil || !got.EmailVerified || !got.Disabled || !got.Admin || got.PasswordHash != "new" {
		t.Errorf("UpdateUser = %+v, %v", got, err)
	}
	again, _ := s.UserByID(ctx, u.ID)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("stored user differs (-updated +read):\n%s", diff)
	}
	if _, err := s.UpdateUser(ctx, 9999, store.UserUpdate{Disabled: &yes}); !store.IsNotFound(err) {
		t.Errorf("UpdateUser(missing) = %v, want not found", err)
	}
}

func testEmailTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "carol")
	future := time.Now().Add(time.Hour)
	for _, tok := range []store.EmailToken{
		{Hash: "h-verify", Purpose: "verify", UserID: u.ID, Email: "carol@example.com", ExpiresAt: future},
		{Hash: "h-reset", Purpose: "reset", UserID: u.ID, Email: "carol@example.com", ExpiresAt: future},
		{Hash: "h-reset2", Purpose: "reset", UserID: u.ID, Email: "carol@example.com", ExpiresAt: future},
		{Hash: "h-old", Purpose: "reset", UserID: u.ID, Email: "carol@example.com", ExpiresAt: time.Now().Add(-time.Minute)},
		{Hash: "h-invite", Purpose: "invite", Email: "dave@example.com", CreatedBy: u.ID, ExpiresAt: future},
	} {
		if err := s.CreateEmailToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UseEmailToken(ctx, "reset", "h-verify", time.Now()); !store.IsNotFound(err) {
		t.Errorf("a verify link used as a reset link: %v, want not found", err)
	}
	got, err := s.UseEmailToken(ctx, "verify", "h-verify", time.Now())
	if err != nil || got.UserID != u.ID || got.Email != "carol@example.com" {
		t.Errorf("UseEmailToken = %+v, %v", got, err)
	}
	if _, err := s.UseEmailToken(ctx, "verify", "h-verify", time.Now()); !store.IsNotFound(err) {
		t.Errorf("second use: %v, want not found", err)
	}
	if _, err := s.UseEmailToken(ctx, "reset", "h-old", time.Now()); !store.IsNotFound(err) {
		t.Errorf("expired link: %v, want not found", err)
	}
	inv, err := s.UseEmailToken(ctx, "invite", "h-invite", time.Now())
	if err != nil || inv.UserID != 0 || inv.CreatedBy != u.ID || inv.Email != "dave@example.com" {
		t.Errorf("invite = %+v, %v", inv, err)
	}
	// A password change kills the outstanding reset links.
	h := "changed"
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &h}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseEmailToken(ctx, "reset", "h-reset", time.Now()); !store.IsNotFound(err) {
		t.Errorf("reset link after a password change: %v, want not found", err)
	}
	// Concurrent use of one link: exactly one succeeds.
	if err := s.CreateEmailToken(ctx, store.EmailToken{Hash: "h-race", Purpose: "verify", UserID: u.ID, Email: "c@example.com", ExpiresAt: future}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	oks := make([]bool, 8)
	for i := range oks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UseEmailToken(ctx, "verify", "h-race", time.Now())
			oks[i] = err == nil
		}()
	}
	wg.Wait()
	n := 0
	for _, ok := range oks {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("one link used %d times concurrently, want once", n)
	}
}

func testOrgs(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	org, err := s.CreateOrg(ctx, "acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.ChannelByName(ctx, "acme")
	if err != nil || ch.OwnerOrgID != org.ID || ch.OwnerUserID != 0 {
		t.Fatalf("org channel = %+v, %v", ch, err)
	}
	if got, err := s.OrgByName(ctx, "acme"); err != nil || got.ID != org.ID {
		t.Errorf("OrgByName = %+v, %v", got, err)
	}
	if _, err := s.OrgByName(ctx, "nope"); !store.IsNotFound(err) {
		t.Errorf("OrgByName(nope) = %v", err)
	}
	if err := s.SetOrgMember(ctx, org.ID, alice.ID, store.RoleMember, alice.ID); !store.IsConflict(err) {
		t.Errorf("last owner steps down: %v, want conflict", err)
	}
	if err := s.RemoveOrgMember(ctx, org.ID, alice.ID, alice.ID); !store.IsConflict(err) {
		t.Errorf("last owner removed: %v, want conflict", err)
	}
	if err := s.SetOrgMember(ctx, org.ID, bob.ID, store.RoleOwner, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOrgMember(ctx, org.ID, alice.ID, store.RoleMember, bob.ID); err != nil {
		t.Errorf("owner steps down with another owner there: %v", err)
	}
	members, err := s.OrgMembers(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Member{{UserID: alice.ID, Name: "alice", Role: "member"}, {UserID: bob.ID, Name: "bob", Role: "owner"}}
	if diff := cmp.Diff(want, members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	roles, _ := s.UserOrgs(ctx, alice.ID)
	if diff := cmp.Diff([]store.OrgRole{{Org: "acme", Role: "member"}}, roles); diff != "" {
		t.Errorf("UserOrgs (-want +got):\n%s", diff)
	}
	if err := s.RemoveOrgMember(ctx, org.ID, alice.ID, bob.ID); err != nil {
		t.Error(err)
	}
	if err := s.RemoveOrgMember(ctx, org.ID, alice.ID, bob.ID); !store.IsNotFound(err) {
		t.Errorf("removing a non-member: %v, want not found", err)
	}
	evs, err := s.OrgEvents(ctx, org.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	if diff := cmp.Diff([]string{"bob:member.remove", "bob:member.set", "alice:member.set", "alice:org.create"}, actions); diff != "" {
		t.Errorf("org history, newest first (-want +got):\n%s", diff)
	}
}

// Groups list by name byte by byte on both stores, whatever PostgreSQL's locale: a linguistic
// collation would put "dev_ops" first or ignore the punctuation.
func testGroupOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := mustUser(t, s, "alice")
	org, err := s.CreateOrg(ctx, "acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"devops", "dev_ops", "dev.ops", "dev-ops", "Dev", "dev-a"} {
		if _, err := s.CreateGroup(ctx, org.ID, name, alice.ID); err != nil {
			t.Fatal(err)
		}
	}
	groups, err := s.Groups(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		got = append(got, g.Name)
	}
	want := []string{"Dev", "dev-a", "dev-ops", "dev.ops", "dev_ops", "devops"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("group order (-want +got):\n%s", diff)
	}
}

func testGroupsAndGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	org, err := s.CreateOrg(ctx, "acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := s.ChannelByName(ctx, "acme")
	if _, err := s.CreateGroup(ctx, org.ID, "devs", alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGroup(ctx, org.ID, "devs", alice.ID); !store.IsConflict(err) {
		t.Errorf("duplicate group: %v, want conflict", err)
	}
	if _, err := s.CreateGroup(ctx, org.ID, "readers", alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, org.ID, "devs", bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, org.ID, "readers", bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, org.ID, "nope", bob.ID, alice.ID); !store.IsNotFound(err) {
		t.Errorf("add to a missing group: %v", err)
	}
	if err := s.SetGrant(ctx, org.ID, "devs", ch.ID, "", access.Write, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGrant(ctx, org.ID, "readers", ch.ID, "", access.Read, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGrant(ctx, org.ID, "readers", ch.ID, "secret-pkg", access.Manage, alice.ID); err != nil {
		t.Fatal(err)
	}
	g, err := s.GrantsOf(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.OrgRoles[org.ID] != store.RoleMember {
		t.Errorf("bob's org role = %q; adding him to a group makes him a member", g.OrgRoles[org.ID])
	}
	if g.Channels[ch.ID] != access.Write {
		t.Errorf("bob's level on acme = %v, want write (the highest of his groups)", g.Channels[ch.ID])
	}
	if g.Packages[store.ChannelPackage{ChannelID: ch.ID, Package: "secret-pkg"}] != access.Manage {
		t.Errorf("bob's package grants = %v", g.Packages)
	}
	// Re-granting replaces the level.
	if err := s.SetGrant(ctx, org.ID, "devs", ch.ID, "", access.Read, alice.ID); err != nil {
		t.Fatal(err)
	}
	groups, err := s.Groups(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].Name != "devs" || len(groups[0].Grants) != 1 || groups[0].Grants[0].Level != access.Read ||
		groups[0].Grants[0].Channel != "acme" || strings.Join(groups[0].Members, ",") != "bob" || len(groups[1].Grants) != 2 {
		b, _ := json.Marshal(groups)
		t.Errorf("Groups = %s", b)
	}
	// Taking bob out of the org takes him out of its groups: his grants go at once.
	if err := s.RemoveOrgMember(ctx, org.ID, bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	g, _ = s.GrantsOf(ctx, bob.ID)
	if len(g.Channels) != 0 || len(g.Packages) != 0 || len(g.OrgRoles) != 0 {
		t.Errorf("grants after leaving the org = %+v", g)
	}
	if err := s.AddGroupMember(ctx, org.ID, "devs", bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGroupMember(ctx, org.ID, "devs", bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	if g, _ = s.GrantsOf(ctx, bob.ID); len(g.Channels) != 0 {
		t.Errorf("grants after leaving the group = %+v", g.Channels)
	}
	if err := s.RemoveGroupMember(ctx, org.ID, "devs", bob.ID, alice.ID); !store.IsNotFound(err) {
		t.Errorf("removing a non-member from a group: %v", err)
	}
	if err := s.RemoveGrant(ctx, org.ID, "readers", ch.ID, "secret-pkg", alice.ID); err != nil {
		t.Error(err)
	}
	if err := s.RemoveGrant(ctx, org.ID, "readers", ch.ID, "secret-pkg", alice.ID); !store.IsNotFound(err) {
		t.Errorf("removing a missing grant: %v", err)
	}
	if err := s.DeleteGroup(ctx, org.ID, "readers", alice.ID); err != nil {
		t.Fatal(err)
	}
	if groups, _ := s.Groups(ctx, org.ID); len(groups) != 1 {
		t.Errorf("groups after delete = %d", len(groups))
	}
	// Every grant change is in the channel's history.
	evs, _ := s.Events(ctx, ch.ID, 0)
	var grantEvents []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "grant.") {
			grantEvents = append(grantEvents, e.Action+" "+string(e.Detail))
		}
	}
	want := []string{
		`grant.remove {"group":"readers"}`,
		`grant.remove {"group":"readers","package":"secret-pkg"}`,
		`grant.set {"group":"devs","level":"read"}`,
		`grant.set {"group":"readers","level":"manage","package":"secret-pkg"}`,
		`grant.set {"group":"readers","level":"read"}`,
		`grant.set {"group":"devs","level":"write"}`,
	}
	if diff := cmp.Diff(want, grantEvents); diff != "" {
		t.Errorf("grant history (-want +got):\n%s", diff)
	}
}

func testPrivacy(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	for _, nf := range []store.NewFile{file(ch, "noarch", "open", "1.0", "a"), file(ch, "noarch", "closed", "1.0", "b")} {
		if _, _, err := s.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	rev := revision(t, s, "acme")
	if err := s.SetPackagesPrivate(ctx, ch.ID, []string{"closed"}, true, 0); err != nil {
		t.Fatal(err)
	}
	if r := revision(t, s, "acme"); r <= rev {
		t.Errorf("package privacy did not move the revision")
	}
	if err := s.SetPackagesPrivate(ctx, ch.ID, []string{"missing"}, true, 0); !store.IsNotFound(err) {
		t.Errorf("privacy of a missing package: %v", err)
	}
	snap, err := s.SubdirSnapshot(ctx, ch.ID, "main", "noarch")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"closed"}, snap.Private); diff != "" {
		t.Errorf("snapshot private packages (-want +got):\n%s", diff)
	}
	if len(snap.Records) != 2 {
		t.Errorf("snapshot holds %d records; it holds every file, the server filters", len(snap.Records))
	}
	cs, err := s.ChannelSnapshot(ctx, ch.ID, "main")
	if err != nil || strings.Join(cs.Private, ",") != "closed" {
		t.Errorf("channel snapshot private = %v, %v", cs.Private, err)
	}
	if f, err := s.File(ctx, ch.ID, store.FileRef{Subdir: "noarch", Filename: "closed-1.0-0.conda"}, ""); err != nil || !f.PackagePrivate {
		t.Errorf("File(closed) = %+v, %v; want PackagePrivate", f, err)
	}
	files, err := s.ListFiles(ctx, ch.ID, "")
	if err != nil || len(files) != 2 || !files[0].PackagePrivate || files[1].PackagePrivate {
		t.Errorf("ListFiles = %+v, %v; want closed private and open public", files, err)
	}
	if priv, err := s.PackagePrivacy(ctx, ch.ID, "closed"); err != nil || !priv {
		t.Errorf("PackagePrivacy(closed) = %v, %v", priv, err)
	}
	if priv, err := s.PackagePrivacy(ctx, ch.ID, "open"); err != nil || priv {
		t.Errorf("PackagePrivacy(open) = %v, %v", priv, err)
	}
	if _, err := s.PackagePrivacy(ctx, ch.ID, "missing"); !store.IsNotFound(err) {
		t.Errorf("PackagePrivacy(missing) = %v, want not found", err)
	}
	// Privacy is per name: a wheel of a private conda package's name is private from its
	// first upload, and one of a public name stays public.
	ch2 := mustChannel(t, s, "names")
	for _, nf := range []store.NewFile{file(ch2, "noarch", "open", "1.0", "a"), file(ch2, "noarch", "closed", "1.0", "b")} {
		if _, _, err := s.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPackagesPrivate(ctx, ch2.ID, []string{"closed"}, true, 0); err != nil {
		t.Fatal(err)
	}
	for _, nf := range []store.NewFile{pypiFile(ch2, "closed", "2.0", "closed-2.0-py3-none-any.whl", "c2"), pypiFile(ch2, "open", "2.0", "open-2.0-py3-none-any.whl", "o2")} {
		if _, _, err := s.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	if ps, err := s.PrivatePackages(ctx, ch2.ID); err != nil || strings.Join(ps, ",") != "closed" {
		t.Errorf("private packages after a wheel of each name = %v, %v", ps, err)
	}
	py, err := s.SubdirSnapshot(ctx, ch2.ID, "main", store.PyPISubdir)
	if err != nil || !slices.Contains(py.Private, "closed") || slices.Contains(py.Private, "open") {
		t.Errorf("pypi snapshot private = %v, %v; want closed, not open", py.Private, err)
	}
	for _, f := range listFiles(t, s, ch2.ID) {
		if f.PackagePrivate != (f.Package == "closed") {
			t.Errorf("%s: private = %v", f.Filename, f.PackagePrivate)
		}
	}
	sub := mustChannel(t, s, "acme/dev")
	subRev := revision(t, s, "acme/dev")
	if err := s.SetChannelPrivate(ctx, ch.ID, true, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ChannelByName(ctx, "acme"); !got.Private {
		t.Error("channel not private after SetChannelPrivate")
	}
	if got, _ := s.ChannelByName(ctx, "acme/dev"); got.Revision <= subRev || !got.ParentPrivate || got.ID != sub.ID {
		t.Errorf("subchannel after the parent went private: %+v; its revision must move (its caches carry privacy)", got)
	}
	if err := s.SetPackagesPrivate(ctx, ch.ID, []string{"closed"}, false, 0); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.PrivatePackages(ctx, ch.ID); len(names) != 0 {
		t.Errorf("private packages after making it public: %v", names)
	}
	evs, _ := s.Events(ctx, ch.ID, 3)
	if len(evs) != 3 || evs[0].Action != "package.privacy" || evs[1].Action != "channel.privacy" || evs[2].Action != "package.privacy" {
		t.Errorf("privacy history = %+v", evs)
	}
}

// Two owners removing each other at once must not leave an org with no owner.
func testLastOwnerRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 10 {
		a := mustUser(t, s, fmt.Sprintf("a%d", round))
		b := mustUser(t, s, fmt.Sprintf("b%d", round))
		org, err := s.CreateOrg(ctx, fmt.Sprintf("org%d", round), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetOrgMember(ctx, org.ID, b.ID, store.RoleOwner, a.ID); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, u := range []store.User{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.RemoveOrgMember(ctx, org.ID, u.ID, u.ID)
			}()
		}
		wg.Wait()
		members, err := s.OrgMembers(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		owners := 0
		for _, m := range members {
			if m.Role == store.RoleOwner {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("round %d: %d owners left after two owners removed each other, want 1", round, owners)
		}
	}
}

func testCopyKeepsPrivacy(t *testing.T, s store.Store) {
	ctx := t.Context()
	src, dst := mustChannel(t, s, "src"), mustChannel(t, s, "dst")
	nf := file(src, "noarch", "hidden", "1.0", "x")
	if _, _, err := s.AddFile(ctx, nf); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPackagesPrivate(ctx, src.ID, []string{"hidden"}, true, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, FromLabel: "main", ToChannelID: dst.ID, ToLabels: []string{"main"}}); err != nil {
		t.Fatal(err)
	}
	if priv, err := s.PackagePrivacy(ctx, dst.ID, "hidden"); err != nil || !priv {
		t.Errorf("copied private package: private %v, %v; want private", priv, err)
	}
}

func listFiles(t *testing.T, s store.Store, channelID int64) []store.File {
	t.Helper()
	fs, err := s.ListFiles(t.Context(), channelID, "")
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// testRehashPassword: a rehash swaps the hash of the same password, only over the hash it
// replaces, and keeps what a new password ends: sessions and reset links.
func testRehashPassword(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, err := s.CreateUser(ctx, store.NewUser{Name: "bob", Email: "bob@example.com", PasswordHash: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.CreateSession(ctx, store.Session{Hash: "sess", UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEmailToken(ctx, store.EmailToken{Hash: "link", Purpose: "reset", UserID: u.ID, Email: u.Email, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RehashPassword(ctx, u.ID, "raw", "normalized"); !ok || err != nil {
		t.Fatalf("RehashPassword = %v, %v", ok, err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "normalized" {
		t.Errorf("hash after the rehash = %q", got.PasswordHash)
	}
	// A password changed meanwhile: the rehash of the old one must not put it back.
	if ok, err := s.RehashPassword(ctx, u.ID, "raw", "stale"); ok || err != nil {
		t.Errorf("RehashPassword over another hash = %v, %v; want false", ok, err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "normalized" {
		t.Errorf("hash after a stale rehash = %q", got.PasswordHash)
	}
	if _, err := s.SessionByHash(ctx, "sess", now); err != nil {
		t.Errorf("the session ended with a rehash: %v", err)
	}
	if _, err := s.UseEmailToken(ctx, "reset", "link", now); err != nil {
		t.Errorf("the reset link died with a rehash: %v", err)
	}
}

// testUnconfirmedOwners: a channel tells whether its owner account has confirmed its address,
// and so does an org's member list, until the address is confirmed.
func testUnconfirmedOwners(t *testing.T, s store.Store) {
	ctx := t.Context()
	owner := mustUser(t, s, "owner")
	pending, err := s.CreateUser(ctx, store.NewUser{Name: "pending", Email: "pending@example.com", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	org, err := s.CreateOrg(ctx, "acme", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetOrgMember(ctx, org.ID, pending.ID, store.RoleMember, owner.ID); err != nil {
		t.Fatal(err)
	}
	sub, err := s.CreateChannel(ctx, store.NewChannel{Name: "pending/sub", OwnerUserID: pending.ID})
	if err != nil {
		t.Fatal(err)
	}
	unconfirmed := func() map[string]bool {
		t.Helper()
		chans, err := s.ListChannels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, c := range chans {
			out[c.Name] = c.OwnerUnconfirmed
		}
		if c, err := s.ChannelByID(ctx, sub.ID); err != nil || c.OwnerUnconfirmed != out["pending/sub"] {
			t.Errorf("ChannelByID(pending/sub) = %+v, %v; ListChannels says %v", c, err, out["pending/sub"])
		}
		members, err := s.OrgMembers(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			out["member "+m.Name] = m.Unconfirmed
		}
		return out
	}
	want := map[string]bool{"owner": false, "acme": false, "pending": true, "pending/sub": true, "member owner": false, "member pending": true}
	if got := unconfirmed(); !cmp.Equal(got, want) {
		t.Errorf("unconfirmed before confirming: %v, want %v", got, want)
	}
	yes := true
	if _, err := s.UpdateUser(ctx, pending.ID, store.UserUpdate{EmailVerified: &yes}); err != nil {
		t.Fatal(err)
	}
	for k := range want {
		want[k] = false
	}
	if got := unconfirmed(); !cmp.Equal(got, want) {
		t.Errorf("unconfirmed after confirming: %v, want %v", got, want)
	}
}

// A grant on a package is kept lowercase (both kinds' names ignore case), replaces or is taken
// away in any case, and is filed under the spelling of each kind's names: Yankee_Lib reaches
// the conda package yankee_lib and the Python project yankee-lib. PackageKinds says which
// kinds a name holds.
func testPackageGrantSpellings(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	org, ch := mustOrgGroup(t, s, alice, bob)
	for _, c := range []struct {
		pkg   string
		level access.Level
	}{{"Yankee_Lib", access.Read}, {"YANKEE_LIB", access.Manage}} {
		if err := s.SetGrant(ctx, org.ID, "devs", ch.ID, c.pkg, c.level, alice.ID); err != nil {
			t.Fatal(err)
		}
		groups, err := s.Groups(ctx, org.ID)
		if err != nil || len(groups) != 1 || len(groups[0].Grants) != 1 || groups[0].Grants[0].Package != "yankee_lib" || groups[0].Grants[0].Level != c.level {
			b, _ := json.Marshal(groups)
			t.Errorf("after a grant on %s: %s, %v; want one grant on yankee_lib, %v", c.pkg, b, err, c.level)
		}
		g, err := s.GrantsOf(ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []store.ChannelPackage{{ChannelID: ch.ID, Package: "yankee_lib", Kind: "conda"}, {ChannelID: ch.ID, Package: "yankee-lib", Kind: "pypi"}} {
			if g.Packages[k] != c.level {
				t.Errorf("after a grant on %s: %+v is %v, want %v (%v)", c.pkg, k, g.Packages[k], c.level, g.Packages)
			}
		}
		if g.Packages[store.ChannelPackage{ChannelID: ch.ID, Package: "yankee-lib", Kind: "conda"}] != access.None {
			t.Errorf("a grant on %s reaches the conda package yankee-lib", c.pkg)
		}
	}
	if err := s.RemoveGrant(ctx, org.ID, "devs", ch.ID, "Yankee_LIB", alice.ID); err != nil {
		t.Errorf("removing the grant in another case: %v", err)
	}
	if g, _ := s.GrantsOf(ctx, bob.ID); len(g.Packages) != 0 {
		t.Errorf("package grants after the removal: %v", g.Packages)
	}

	if _, _, err := s.AddFile(ctx, file(ch, "noarch", "yankee-lib", "1.0", "conda")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddFile(ctx, pypiFile(ch, "yankee-lib", "1.0", "yankee_lib-1.0-py3-none-any.whl", "pypi")); err != nil {
		t.Fatal(err)
	}
	for pkg, want := range map[string]string{"yankee-lib": "conda pypi", "Yankee_Lib": "", "other": ""} {
		if kinds, err := s.PackageKinds(ctx, ch.ID, pkg); err != nil || strings.Join(kinds, " ") != want {
			t.Errorf("PackageKinds(%s) = %v, %v; want %q", pkg, kinds, err, want)
		}
	}
}
