package access_test

import (
	"testing"

	"github.com/wharfhq/wharf/internal/access"
)

// The org "acme" (id 10) owns channel acme (id 100, public) and acme-private (id 200);
// acme/dev (id 101) is a subchannel of acme, acme-private/dev (id 201) of acme-private.
// alice (user 5) owns her own channel alice (id 300).
const (
	orgID       = 10
	pubID       = 100
	pubSubID    = 101
	privID      = 200
	privSubID   = 201
	personalID  = 300
	aliceID     = 5
	strangerID  = 6
	memberID    = 7
	grantUserID = 8
)

func groupMember(level access.Level) access.Principal {
	return access.Principal{UserID: grantUserID, Name: "g-" + level.String(), Grants: access.Grants{
		OrgRoles: map[int64]string{orgID: access.RoleMember},
		Channels: map[int64]access.Level{pubID: level, privID: level},
	}}
}

// role is a principal and the level the spec gives it on the org's channels.
type role struct {
	name  string
	p     access.Principal
	level access.Level
}

var roles = []role{
	{"anonymous", access.Principal{}, access.None},
	{"non-member", access.Principal{UserID: strangerID, Name: "stranger"}, access.None},
	{"org member without groups", access.Principal{UserID: memberID, Name: "member", Grants: access.Grants{OrgRoles: map[int64]string{orgID: access.RoleMember}}}, access.None},
	{"group read", groupMember(access.Read), access.Read},
	{"group write", groupMember(access.Write), access.Write},
	{"group manage", groupMember(access.Manage), access.Manage},
	{"org owner", access.Principal{UserID: aliceID, Name: "alice", Grants: access.Grants{OrgRoles: map[int64]string{orgID: access.RoleOwner}}}, access.Manage},
	{"admin", access.Principal{UserID: 1, Name: "root", Admin: true}, access.Manage},
}

var (
	pubChannel  = access.Resource{Channel: "acme", ChannelID: pubID, OwnerOrgID: orgID}
	privChannel = access.Resource{Channel: "acme-private", ChannelID: privID, OwnerOrgID: orgID, Private: true}
	// Subchannels: grants on the parent reach them; a private parent makes them private.
	pubSub  = access.Resource{Channel: "acme/dev", ChannelID: pubSubID, ParentID: pubID, OwnerOrgID: orgID}
	privSub = access.Resource{Channel: "acme-private/dev", ChannelID: privSubID, ParentID: privID, OwnerOrgID: orgID, Private: true}
)

func pkg(r access.Resource, name string, private bool) access.Resource {
	r.Package, r.PackagePrivate = name, private
	return r
}

// needs is the spec (DESIGN §2): the level each channel action needs, or -1 for "anyone may,
// on a channel and package that are both public".
var needs = map[access.Action]access.Level{
	access.ChannelView:      -1,
	access.ArtifactDownload: -1,
	access.ArtifactCreate:   access.Write,
	access.ArtifactEdit:     access.Write,
	access.ArtifactDelete:   access.Manage,
	access.PackageManage:    access.Manage,
	access.ChannelManage:    access.Manage,
	access.ChannelHistory:   access.Manage,
	access.ChannelCreate:    access.Manage, // a subchannel, on its parent
	access.ChannelDelete:    access.Manage,
}

func TestMayOnChannelsAndPackages(t *testing.T) {
	resources := []struct {
		name string
		r    access.Resource
	}{
		{"public channel", pubChannel},
		{"private channel", privChannel},
		{"public subchannel", pubSub},
		{"subchannel of a private channel", privSub},
		{"public package in a public channel", pkg(pubChannel, "tool", false)},
		{"private package in a public channel", pkg(pubChannel, "secret", true)},
		{"public package in a private channel", pkg(privChannel, "tool", false)},
		{"private package in a public subchannel", pkg(pubSub, "secret", true)},
	}
	allowed, refused := 0, 0
	for _, ro := range roles {
		for _, res := range resources {
			for _, a := range access.Actions {
				need, ok := needs[a]
				if !ok {
					continue
				}
				var want bool
				if need == -1 {
					open := !res.r.Private && !(a == access.ArtifactDownload && res.r.PackagePrivate)
					want = open || ro.level >= access.Read
				} else {
					want = ro.level >= need
				}
				if want {
					allowed++
				} else {
					refused++
				}
				if got := access.May(ro.p, a, res.r); got != want {
					t.Errorf("%s / %s / %s: May = %v, want %v", ro.name, a, res.name, got, want)
				}
				// A disabled account can do nothing at all, whatever it held.
				dis := ro.p
				dis.Disabled = true
				if access.May(dis, a, res.r) {
					t.Errorf("disabled %s / %s / %s: allowed", ro.name, a, res.name)
				}
			}
		}
	}
	t.Logf("%d allowed and %d refused lines checked", allowed, refused)
}

func TestMayBeyondChannels(t *testing.T) {
	anon, stranger, member, owner, admin := roles[0].p, roles[1].p, roles[2].p, roles[6].p, roles[7].p
	grpWrite := roles[4].p
	disabledAdmin := admin
	disabledAdmin.Disabled = true
	server, org, otherOrg := access.Resource{}, access.Resource{Org: orgID}, access.Resource{Org: 99}
	type line struct {
		who  string
		p    access.Principal
		a    access.Action
		on   string
		r    access.Resource
		want bool
	}
	table := []line{
		{"anonymous", anon, access.Anyone, "server", server, true},
		{"disabled admin", disabledAdmin, access.Anyone, "server", server, false},
		{"anonymous", anon, access.ChannelList, "server", server, true},
		{"non-member", stranger, access.ChannelList, "server", server, true},
		{"disabled admin", disabledAdmin, access.ChannelList, "server", server, false},
		{"anonymous", anon, access.UserView, "server", server, false},
		{"non-member", stranger, access.UserView, "server", server, true},
		{"anonymous", anon, access.OrgCreate, "server", server, false},
		{"non-member", stranger, access.OrgCreate, "server", server, true},
		{"anonymous", anon, access.ChannelCreate, "server", server, false},
		{"non-member", stranger, access.ChannelCreate, "server", server, true},
		{"org member", member, access.ChannelCreate, "org", org, false},
		{"group write", grpWrite, access.ChannelCreate, "org", org, false},
		{"org owner", owner, access.ChannelCreate, "org", org, true},
		{"org owner", owner, access.ChannelCreate, "another org", otherOrg, false},
		{"admin", admin, access.ChannelCreate, "org", org, true},
		{"anonymous", anon, access.OrgView, "org", org, false},
		{"non-member", stranger, access.OrgView, "org", org, false},
		{"org member", member, access.OrgView, "org", org, true},
		{"org owner", owner, access.OrgView, "org", org, true},
		{"admin", admin, access.OrgView, "org", org, true},
		{"org member", member, access.OrgManage, "org", org, false},
		{"group write", grpWrite, access.OrgManage, "org", org, false},
		{"org owner", owner, access.OrgManage, "org", org, true},
		{"org owner", owner, access.OrgManage, "another org", otherOrg, false},
		{"admin", admin, access.OrgManage, "org", org, true},
		{"disabled admin", disabledAdmin, access.OrgManage, "org", org, false},
		{"anonymous", anon, access.AdminUsers, "server", server, false},
		{"org owner", owner, access.AdminUsers, "server", server, false},
		{"admin", admin, access.AdminUsers, "server", server, true},
		{"disabled admin", disabledAdmin, access.AdminUsers, "server", server, false},
		{"non-member", stranger, access.ChannelView, "server", server, false},
	}
	// A user's own channel: manage for them, public reads for others.
	personal := access.Resource{Channel: "alice", ChannelID: personalID, OwnerUserID: aliceID}
	alice := access.Principal{UserID: aliceID, Name: "alice"}
	for _, a := range []access.Action{access.ArtifactCreate, access.ArtifactDelete, access.ChannelManage, access.ChannelHistory, access.PackageManage} {
		table = append(table, line{"owner", alice, a, "own channel", personal, true}, line{"non-member", stranger, a, "alice's channel", personal, false})
	}
	// One grant on one private package: that package, and the channel that holds it, become
	// visible; nothing else does.
	pkgReader := access.Principal{UserID: 9, Name: "pkgreader", Grants: access.Grants{Packages: map[access.PackageKey]access.Level{{ChannelID: privID, Package: "secret"}: access.Read, {ChannelID: pubID, Package: "secret"}: access.Write}}}
	table = append(table,
		line{"package reader", pkgReader, access.ChannelView, "private channel", privChannel, true},
		line{"package reader", pkgReader, access.ArtifactDownload, "its package", pkg(privChannel, "secret", true), true},
		line{"package reader", pkgReader, access.ArtifactDownload, "another private package", pkg(privChannel, "other", true), false},
		line{"package reader", pkgReader, access.ArtifactDownload, "a public package of the private channel", pkg(privChannel, "tool", false), false},
		line{"package reader", pkgReader, access.ArtifactCreate, "its package", pkg(privChannel, "secret", true), false},
		line{"package reader", pkgReader, access.ChannelView, "private subchannel", privSub, false},
		line{"package writer", pkgReader, access.ArtifactCreate, "its package", pkg(pubChannel, "secret", true), true},
		line{"package writer", pkgReader, access.ArtifactCreate, "another package", pkg(pubChannel, "tool", false), false},
		line{"package writer", pkgReader, access.ArtifactDelete, "its package", pkg(pubChannel, "secret", true), false},
		line{"package writer", pkgReader, access.ArtifactEdit, "the channel", pubChannel, false},
	)
	for _, l := range table {
		if got := access.May(l.p, l.a, l.r); got != l.want {
			t.Errorf("%s / %s / %s: May = %v, want %v", l.who, l.a, l.on, got, l.want)
		}
	}
}

func TestVisible(t *testing.T) {
	if access.Visible(roles[1].p, privChannel) || access.Visible(roles[2].p, privChannel) {
		t.Error("a private channel is visible to a non-member or a member without groups")
	}
	if !access.Visible(roles[3].p, privChannel) || !access.Visible(roles[3].p, privSub) {
		t.Error("a private channel or its subchannel is invisible to a group reader")
	}
	if !access.Visible(roles[0].p, pubChannel) {
		t.Error("a public channel is invisible to anonymous")
	}
}

func TestLevels(t *testing.T) {
	for _, l := range []access.Level{access.Read, access.Write, access.Manage} {
		got, ok := access.ParseLevel(l.String())
		if !ok || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l, got, ok)
		}
	}
	for _, bad := range []string{"", "none", "admin", "READ"} {
		if _, ok := access.ParseLevel(bad); ok {
			t.Errorf("ParseLevel(%q) accepted", bad)
		}
	}
}

func TestPasswords(t *testing.T) {
	h, err := access.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !access.CheckPassword(h, "correct horse battery staple") {
		t.Error("the right password is refused")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if access.CheckPassword(h, wrong) {
			t.Errorf("%q accepted", wrong)
		}
	}
	if access.CheckPassword("", "") || access.CheckPassword("", "wharf-no-such-user") {
		t.Error("a password matched a missing hash")
	}
	if access.CheckPassword("$bcrypt$garbage", "x") {
		t.Error("garbage hash accepted")
	}
	h2, _ := access.HashPassword("correct horse battery staple")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := access.HashPassword(string(make([]byte, access.MaxPasswordBytes+1))); err == nil {
		t.Error("an over-long password was hashed")
	}
}
