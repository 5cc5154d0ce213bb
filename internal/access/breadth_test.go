package access_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
)

func scopes(s ...string) *access.TokenLimits { return &access.TokenLimits{Scopes: s} }

func resources(r map[int64]access.Level, s ...string) *access.TokenLimits {
	return &access.TokenLimits{Scopes: s, Resources: r}
}

// The comparison of tokens, by what they allow. wharf login makes "repos api" tokens; the
// tokens of the seed documents (a channel read token, an artifact:download token) are within
// it.
func TestCompare(t *testing.T) {
	login := scopes("repos", "api")
	const acme, labs, acmeDev = 10, 20, 11
	parents := func(id int64) int64 {
		if id == acmeDev {
			return acme
		}
		return 0
	}
	type want struct {
		wider       bool
		scopes      []string // the child's scopes named as broader, in any order
		action      string   // one action named as broader
		channels    map[int64]access.Level
		allChannels bool
	}
	for _, c := range []struct {
		why           string
		child, parent *access.TokenLimits
		want          want
	}{
		{"a channel read token from a login", resources(map[int64]access.Level{acme: access.Read}), login, want{}},
		{"an artifact:download token from a login", scopes("artifact:download"), login, want{}},
		{"conda:download on one channel from a login", resources(map[int64]access.Level{acme: access.Read}, "conda:download"), login, want{}},
		{"a manage token for a channel from a login (api reaches it all)", resources(map[int64]access.Level{acme: access.Manage}), login, want{}},
		{"pypi:upload, conda, api:write from a login", scopes("pypi:upload", "conda", "api:write"), login, want{}},
		{"user.token:view from a login", scopes("user.token:view"), login, want{}},
		{"all from a login", scopes("all"), login, want{wider: true, scopes: []string{"all"}}},
		{"all on one channel from a login", resources(map[int64]access.Level{acme: access.Read}, "all"), login, want{wider: true, scopes: []string{"all"}}},
		{"all from all", scopes("all"), scopes("all"), want{}},
		{"artifact:delete from repos: only the API removes", scopes("artifact:delete"), scopes("repos"),
			want{wider: true, scopes: []string{"artifact:delete"}, action: "artifact:delete (api"}},
		{"conda from conda:download: it uploads", scopes("conda"), scopes("conda:download"),
			want{wider: true, scopes: []string{"conda"}, action: "artifact:create (api, conda packages)"}},
		{"pypi:download from conda:download", scopes("pypi:download"), scopes("conda:download"),
			want{wider: true, scopes: []string{"pypi:download"}, action: "artifact:download (pypi)"}},
		{"api:read from repos", scopes("api:read"), scopes("repos"), want{wider: true, scopes: []string{"api:read"}, action: "channel:history (api)"}},
		{"conda:download within repos", scopes("conda:download"), scopes("repos"), want{}},
		{"a channel token from a download-only token: it reads Python packages and the API", resources(map[int64]access.Level{acme: access.Read}),
			scopes("conda:download"), want{wider: true, action: "artifact:download (pypi)"}},

		// Resources: levels and channels.
		{"read within write", resources(map[int64]access.Level{acme: access.Read}), resources(map[int64]access.Level{acme: access.Write}), want{}},
		{"manage beyond write", resources(map[int64]access.Level{acme: access.Manage}), resources(map[int64]access.Level{acme: access.Write}),
			want{wider: true, channels: map[int64]access.Level{acme: access.Manage}}},
		{"another channel", resources(map[int64]access.Level{labs: access.Read}), resources(map[int64]access.Level{acme: access.Manage}),
			want{wider: true, channels: map[int64]access.Level{labs: access.Read}}},
		{"a subchannel within its parent", resources(map[int64]access.Level{acmeDev: access.Write}), resources(map[int64]access.Level{acme: access.Write}), want{}},
		{"every channel from a channel token", scopes("conda"), resources(map[int64]access.Level{acme: access.Write}), want{wider: true, allChannels: true}},
		{"a scope token within scopes and resources? no: it reaches every channel", scopes("conda:download"),
			resources(map[int64]access.Level{acme: access.Read}, "conda:download"), want{wider: true, allChannels: true}},

		// Both parts, compared together.
		{"a write level a download scope cannot use is no broader", resources(map[int64]access.Level{acme: access.Write}, "conda:download"),
			resources(map[int64]access.Level{acme: access.Read}, "conda:download"), want{}},
		{"scope and channel both broader", resources(map[int64]access.Level{labs: access.Write}, "conda"),
			resources(map[int64]access.Level{acme: access.Write}, "conda:download"),
			want{wider: true, scopes: []string{"conda"}, action: "artifact:create", channels: map[int64]access.Level{labs: access.Write}}},
		{"scopes within, channels within", resources(map[int64]access.Level{acmeDev: access.Read}, "conda:download"),
			resources(map[int64]access.Level{acme: access.Write, labs: access.Read}, "repos"), want{}},

		// Org tokens carry the same limits; a user.token:edit org token makes narrower ones.
		{"from an org token with user.token:edit and conda", scopes("conda"), scopes("user.token:edit", "conda"), want{}},
		{"user.token:edit from one without it", scopes("user.token:edit"), scopes("conda"),
			want{wider: true, scopes: []string{"user.token:edit"}, action: "token:edit (api)"}},

		// No token: a password or a session makes anything.
		{"anything from a password", scopes("all"), nil, want{}},
		{"no limits at all from a login: all", &access.TokenLimits{}, login, want{wider: true, scopes: nil, action: "everything"}},
	} {
		b := access.Compare(c.child, c.parent, parents)
		w := c.want
		bad := b.Wider() != w.wider || b.AllChannels != w.allChannels || len(b.Channels) != len(w.channels)
		for id, l := range w.channels {
			bad = bad || b.Channels[id] != l
		}
		for _, s := range w.scopes {
			bad = bad || !slices.Contains(b.Scopes, s)
		}
		if w.action != "" && !slices.ContainsFunc(b.Actions, func(a string) bool { return strings.HasPrefix(a, w.action) }) {
			bad = true
		}
		if bad {
			t.Errorf("%s: Compare = %+v, want %+v", c.why, b, w)
		}
		if b.Outlives {
			t.Errorf("%s: outlives with no expiry on either", c.why)
		}
	}
	// Without parents, a subchannel token is not known to be within its parent's.
	if b := access.Compare(resources(map[int64]access.Level{acmeDev: access.Read}), resources(map[int64]access.Level{acme: access.Read}), nil); !b.Wider() {
		t.Error("a subchannel token is within an unrelated channel's")
	}
}

func TestCompareExpiry(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) *access.TokenLimits {
		return &access.TokenLimits{Scopes: []string{"conda"}, ExpiresAt: now.Add(d)}
	}
	for _, c := range []struct {
		child, parent *access.TokenLimits
		outlives      bool
	}{
		{at(time.Hour), at(2 * time.Hour), false},
		{at(2 * time.Hour), at(2 * time.Hour), false},
		{at(3 * time.Hour), at(2 * time.Hour), true},
		{scopes("conda"), at(2 * time.Hour), true}, // no expiry: outlives any
		{at(3 * time.Hour), scopes("conda"), false},
		{at(3 * time.Hour), nil, false},
	} {
		b := access.Compare(c.child, c.parent, nil)
		if b.Outlives != c.outlives || b.Wider() {
			t.Errorf("Compare(expires %v, parent %v) = %+v, want outlives %v and no wider", c.child.ExpiresAt, c.parent, b, c.outlives)
		}
	}
}

// Compare agrees with May: for pairs of tokens over every scope, whenever Compare finds the
// child no wider, every action the child lets its owner (an administrator, who may do
// everything) take on a concrete private resource, the parent lets it take too; and when
// Compare finds it wider (by actions or by channels), some such action tells them apart.
func TestCompareAgreesWithMay(t *testing.T) {
	owner := access.Principal{UserID: 1, Name: "root", Admin: true}
	var res []access.Resource
	for _, surface := range []string{"api", "conda", "pypi"} {
		for _, r := range []access.Resource{
			{Channel: "acme", ChannelID: pubID, Private: true},
			{Channel: "acme/dev", ChannelID: pubSubID, ParentID: pubID, Private: true},
			{Channel: "labs", ChannelID: labsID, Private: true},
			{Channel: "labs/sub", ChannelID: labsID + 1, ParentID: labsID, Private: true},
		} {
			kinds := []string{surface}
			if surface == "api" {
				kinds = []string{"", "conda", "pypi"}
				res = append(res, access.Resource{Surface: surface}, access.Resource{Org: orgID, Surface: surface})
			}
			for _, k := range kinds {
				r.Surface, r.Kind, r.Package = surface, k, "tool"
				res = append(res, r)
			}
		}
	}
	var tokens []*access.TokenLimits
	for _, sc := range access.ScopeNames() {
		tokens = append(tokens, scopes(sc), resources(map[int64]access.Level{pubID: access.Read}, sc))
	}
	for _, l := range []access.Level{access.Read, access.Write, access.Manage} {
		tokens = append(tokens, resources(map[int64]access.Level{pubID: l}), resources(map[int64]access.Level{labsID: l}), scopes("repos", "api"))
	}
	// What each token lets its owner do, over the concrete resources, computed once.
	type act struct {
		a access.Action
		r access.Resource
	}
	var acts []act
	offChannel := []access.Action{access.ChannelList, access.ChannelCreate, access.UserView, access.OrgCreate, access.AdminUsers,
		access.TokenView, access.TokenEdit, access.OrgView, access.OrgManage}
	for _, r := range res {
		for _, a := range access.SurfaceActions(r.Surface) {
			// As the route table asks: listing and account actions off any channel, the
			// rest (and creating a subchannel) on one.
			pkgAction := a == access.ArtifactDownload || a == access.ArtifactCreate || a == access.ArtifactEdit || a == access.ArtifactDelete || a == access.PackageManage
			if r.Surface == "api" && r.Kind != "" && !pkgAction {
				continue // the API names a kind only for actions on packages
			}
			if r.Channel == "" && slices.Contains(offChannel, a) || r.Channel != "" && (a == access.ChannelCreate || !slices.Contains(offChannel, a)) {
				acts = append(acts, act{a, r})
			}
		}
	}
	may := make([][]bool, len(tokens))
	for i, tok := range tokens {
		p := owner
		p.Token = tok
		for _, x := range acts {
			may[i] = append(may[i], access.May(p, x.a, x.r))
		}
	}
	pairs, wider := 0, 0
	for i, child := range tokens {
		for j, parent := range tokens {
			b := access.Compare(child, parent, nil)
			differs := ""
			for k, x := range acts {
				if may[i][k] && !may[j][k] {
					differs = fmt.Sprintf("%s on %s (%s, kind %q)", x.a, x.r.Channel, x.r.Surface, x.r.Kind)
				}
			}
			pairs++
			if b.Wider() {
				wider++
			}
			// "all" is held wider than what allows as much today: it grows with the server.
			allRule := slices.Contains(child.Scopes, "all") && !slices.Contains(parent.Scopes, "all")
			if !b.Wider() && differs != "" {
				t.Errorf("child %v/%v within parent %v/%v, yet it may %s", child.Scopes, child.Resources, parent.Scopes, parent.Resources, differs)
			}
			if b.Wider() && differs == "" && !allRule {
				t.Errorf("child %v/%v wider than parent %v/%v by %v, yet May tells them apart nowhere", child.Scopes, child.Resources, parent.Scopes, parent.Resources, b.Actions)
			}
		}
	}
	t.Logf("%d pairs, %d wider", pairs, wider)
}
