package access_test

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/access"
)

func TestMay(t *testing.T) {
	var (
		anonymous = access.Principal{}
		admin     = access.Principal{UserID: 1, Name: "root", Admin: true}
		owner     = access.Principal{UserID: 2, Name: "owner"}
		other     = access.Principal{UserID: 3, Name: "other"}
		disabled  = access.Principal{UserID: 2, Name: "owner", Disabled: true}
		disAdmin  = access.Principal{UserID: 1, Name: "root", Admin: true, Disabled: true}
	)
	public := access.Resource{Channel: "acme", OwnerUserID: 2}
	private := access.Resource{Channel: "acme", OwnerUserID: 2, Private: true}
	server := access.Resource{}
	channelActions := []access.Action{access.ChannelView, access.ArtifactDownload, access.ArtifactCreate, access.ArtifactEdit, access.ArtifactDelete, access.ChannelHistory, access.ChannelCreate}
	reads := map[access.Action]bool{access.ChannelView: true, access.ArtifactDownload: true}

	type line struct {
		who  string
		p    access.Principal
		a    access.Action
		r    string
		res  access.Resource
		want bool
	}
	var table []line
	for _, a := range channelActions {
		table = append(table,
			line{"anonymous", anonymous, a, "public", public, reads[a]},
			line{"anonymous", anonymous, a, "private", private, false},
			line{"other user", other, a, "public", public, reads[a]},
			line{"other user", other, a, "private", private, false},
			line{"owner", owner, a, "public", public, true},
			line{"owner", owner, a, "private", private, true},
			line{"admin", admin, a, "public", public, true},
			line{"admin", admin, a, "private", private, true},
			line{"disabled owner", disabled, a, "public", public, false},
			line{"disabled owner", disabled, a, "private", private, false},
			line{"disabled admin", disAdmin, a, "public", public, false},
		)
	}
	table = append(table,
		line{"anonymous", anonymous, access.ChannelCreate, "server", server, false},
		line{"user", other, access.ChannelCreate, "server", server, false},
		line{"admin", admin, access.ChannelCreate, "server", server, true},
		line{"anonymous", anonymous, access.UserView, "server", server, false},
		line{"user", other, access.UserView, "server", server, true},
		line{"anonymous", anonymous, access.ChannelList, "server", server, true},
		line{"user", other, access.ChannelList, "server", server, true},
		line{"disabled user", disabled, access.ChannelList, "server", server, false},
		line{"disabled", disabled, access.UserView, "server", server, false},
	)
	for _, l := range table {
		t.Run(fmt.Sprintf("%s/%s/%s", l.who, l.a, l.r), func(t *testing.T) {
			if got := access.May(l.p, l.a, l.res); got != l.want {
				t.Errorf("May = %v, want %v", got, l.want)
			}
		})
	}
}

func TestVisible(t *testing.T) {
	private := access.Resource{Channel: "acme", OwnerUserID: 2, Private: true}
	if access.Visible(access.Principal{UserID: 3}, private) {
		t.Error("a private channel is visible to a stranger")
	}
	if !access.Visible(access.Principal{UserID: 2}, private) {
		t.Error("a private channel is invisible to its owner")
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
