package access_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/internal/access"
)

// labsID is acme-labs, a private channel of the org that the limited tokens below name.
const labsID = 500

var labs = access.Resource{Channel: "acme-labs", ChannelID: labsID, OwnerOrgID: orgID, Private: true}

// limitedTokens are tokens that allow less than their owner: by channel, by action, or both.
var limitedTokens = map[string]*access.TokenLimits{
	"conda:download + acme-labs:read": {Scopes: []string{"conda:download"}, Resources: map[int64]access.Level{labsID: access.Read}},
	"acme-labs:write":                 {Resources: map[int64]access.Level{labsID: access.Write}},
	"acme-private:read":               {Resources: map[int64]access.Level{privID: access.Read}},
	"conda:download":                  {Scopes: []string{"conda:download"}},
	"pypi:upload":                     {Scopes: []string{"pypi:upload"}},
	"user.token:view":                 {Scopes: []string{"user.token:view"}},
	"api:read":                        {Scopes: []string{"api:read"}},
	"all":                             {Scopes: []string{"all"}},
}

// owners are the principals the tokens act for: the roles of access_test.go (anonymous
// aside), a holder of single-package grants, and an org token.
func owners() map[string]access.Principal {
	out := map[string]access.Principal{}
	for _, ro := range roles[1:] {
		out[ro.name] = ro.p
	}
	out["package grants"] = access.Principal{UserID: 9, Name: "pkgreader", Grants: access.Grants{Packages: map[access.PackageKey]access.Level{
		{ChannelID: privID, Package: "secret"}: access.Read, {ChannelID: pubID, Package: "secret"}: access.Write,
		{ChannelID: labsID, Package: "secret"}: access.Read}}}
	out["org token"] = access.Principal{ActingOrg: orgID, Name: "acme"}
	return out
}

// surfaced lists r as seen from every surface, and for packages as each kind.
func surfaced(r access.Resource) []access.Resource {
	var out []access.Resource
	for _, s := range []string{"conda", "pypi", "api"} {
		for _, k := range []string{"", "conda", "pypi"} {
			if r.Package == "" && k != "" || s != "api" && k != "" && k != s {
				continue // a channel has no kind; /conda/ serves conda packages only
			}
			c := r
			c.Surface, c.Kind = s, k
			out = append(out, c)
		}
	}
	return out
}

// targets are the channels and packages the policy is asked about.
var targets = map[string]access.Resource{
	"public channel":                          pubChannel,
	"private channel":                         privChannel,
	"the token's channel":                     labs,
	"public subchannel":                       pubSub,
	"subchannel of a private channel":         privSub,
	"public package of a public channel":      pkg(pubChannel, "tool", false),
	"private package of a public channel":     pkg(pubChannel, "secret", true),
	"public package of a private channel":     pkg(privChannel, "tool", false),
	"private package of a private channel":    pkg(privChannel, "secret", true),
	"public package of a public subchannel":   pkg(pubSub, "tool", false),
	"private package of the token's channel":  pkg(labs, "secret", true),
	"public package of the token's channel":   pkg(labs, "tool", false),
	"private package of a public subchannel":  pkg(pubSub, "secret", true),
	"public package of a private subchannel":  pkg(privSub, "tool", false),
	"private package of a private subchannel": pkg(privSub, "secret", true),
}

// A token only adds to what an anonymous request may do, and never goes beyond its owner:
// for every owner, limited token, action and resource,
//
//	anonymous may  ⇒  the token may  ⇒  anonymous may, or the owner may (without a token)
//
// and the same for every question the server asks of the policy (Visible, Knows,
// KnowsPackage, CanRead, ReadableIn).
func TestTokenOnlyAdds(t *testing.T) {
	anon := access.Principal{}
	checks := 0
	for oname, owner := range owners() {
		for tname, tok := range limitedTokens {
			p := owner
			p.Token = tok
			for rname, base := range targets {
				for _, r := range surfaced(base) {
					where := fmt.Sprintf("%s with token %q / %s (%s, kind %q)", oname, tname, rname, r.Surface, r.Kind)
					for _, a := range access.Actions {
						anonMay, tokMay, ownMay := access.May(anon, a, r), access.May(p, a, r), access.May(owner, a, r)
						if anonMay && !tokMay {
							t.Errorf("%s: anonymous may %s, the token may not", where, a)
						}
						if tokMay && !anonMay && !ownMay {
							t.Errorf("%s: the token may %s, which neither anonymous nor its owner may", where, a)
						}
						checks++
					}
					for _, q := range []struct {
						name string
						f    func(access.Principal, access.Resource) bool
					}{{"Visible", access.Visible}, {"Knows", access.Knows}, {"KnowsPackage", access.KnowsPackage}, {"CanRead", access.CanRead}} {
						if q.name == "KnowsPackage" && r.Package == "" || q.name == "CanRead" && r.Package == "" {
							continue
						}
						anonYes, tokYes, ownYes := q.f(anon, r), q.f(p, r), q.f(owner, r)
						if anonYes && !tokYes {
							t.Errorf("%s: %s for anonymous, not for the token", where, q.name)
						}
						if tokYes && !anonYes && !ownYes {
							t.Errorf("%s: %s for the token, neither for anonymous nor its owner", where, q.name)
						}
						checks++
					}
				}
			}
		}
	}
	t.Logf("%d checks", checks)
}

// ReadableIn, which filters indexes, agrees with CanRead on every package, for every owner
// and token, anonymous and without a token too.
func TestReadableInAgreesWithCanRead(t *testing.T) {
	ps := owners()
	ps["anonymous"] = access.Principal{}
	tokens := map[string]*access.TokenLimits{"no token": nil}
	for n, tok := range limitedTokens {
		tokens[n] = tok
	}
	channels := []access.Resource{pubChannel, privChannel, labs, pubSub, privSub}
	for pname, owner := range ps {
		for tname, tok := range tokens {
			p := owner
			p.Token = tok
			if p.Anonymous() && tok != nil {
				continue
			}
			for _, ch := range channels {
				for _, surface := range []string{"conda", "pypi"} {
					r := ch
					r.Surface, r.Kind = surface, surface
					rd := access.ReadableIn(p, r)
					for _, name := range []string{"tool", "secret", "other"} {
						for _, private := range []bool{false, true} {
							pr := pkg(r, name, private)
							listed := rd.All || rd.Public && !private || slices.Contains(rd.Granted, name)
							if listed != access.CanRead(p, pr) {
								t.Errorf("%s with %s / %s %s (%s, private %v): listed %v, CanRead %v", pname, tname, ch.Channel, name, surface, private, listed, !listed)
							}
						}
					}
				}
			}
		}
	}
}

// The cases of issue 12, each by name.
func TestChannelLimitedTokenOnPublicChannels(t *testing.T) {
	writer := groupMember(access.Write) // read and write on acme and acme-private
	with := func(tok *access.TokenLimits) access.Principal {
		p := writer
		p.Token = tok
		return p
	}
	labsToken := with(limitedTokens["conda:download + acme-labs:read"])
	condaRepodata := pubChannel
	condaRepodata.Surface = "conda"
	pypiPage := pubChannel
	pypiPage.Surface, pypiPage.Kind = "pypi", "pypi"
	privRepodata := privChannel
	privRepodata.Surface = "conda"
	secretInPublic := pkg(condaRepodata, "secret", true)
	upload := pkg(pypiPage, "tool", false)
	for _, c := range []struct {
		why  string
		got  bool
		want bool
	}{
		{"channel-limited token: repodata of a public channel", access.May(labsToken, access.ArtifactDownload, condaRepodata), true},
		{"channel-limited token: a public package of a public channel", access.CanRead(labsToken, pkg(condaRepodata, "tool", false)), true},
		{"channel-limited token: the public channel is visible", access.Visible(labsToken, condaRepodata), true},
		{"conda token: a PyPI page of a public channel", access.May(labsToken, access.ArtifactDownload, pypiPage), true},
		{"channel-limited token: a private channel its owner reads stays hidden", access.Visible(labsToken, privRepodata), false},
		{"channel-limited token: ... and refused as missing", access.Knows(labsToken, privRepodata), false},
		{"channel-limited token: a private package its owner reads, in a public channel, stays hidden", access.CanRead(labsToken, secretInPublic), false},
		{"channel-limited token: ... and not found", access.KnowsPackage(labsToken, secretInPublic), false},
		{"channel-limited token: the index of the public channel holds public packages only", access.ReadsAll(labsToken, condaRepodata), false},
		{"download token: no upload where its owner may write", access.May(with(limitedTokens["conda:download"]), access.ArtifactCreate, upload), false},
		{"download token: the refusal is a 403 (the channel is known)", access.Knows(with(limitedTokens["conda:download"]), upload), true},
		{"pypi:upload token: uploads where its owner may write", access.May(with(limitedTokens["pypi:upload"]), access.ArtifactCreate, upload), true},
		{"acme-private token: reads its private channel", access.ReadsAll(with(limitedTokens["acme-private:read"]), privRepodata), true},
		{"scope-only token: reads the private package its scope covers", access.CanRead(with(limitedTokens["conda:download"]), secretInPublic), true},
		{"pypi token: a private conda package stays hidden", access.CanRead(with(limitedTokens["pypi:upload"]), secretInPublic), false},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.why, c.got, c.want)
		}
	}
	rd := access.ReadableIn(labsToken, condaRepodata)
	if rd.All || !rd.Public || len(rd.Granted) != 0 {
		t.Errorf("ReadableIn(channel-limited token, public channel) = %+v, want the public packages only", rd)
	}
}
