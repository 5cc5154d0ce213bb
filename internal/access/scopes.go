package access

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// TokenLimits is what a token allows, on top of what its owner may do: scopes restrict by
// action, resources by channel. A token with both needs both; a nil *TokenLimits (no token)
// restricts nothing.
type TokenLimits struct {
	ID        int64
	Scopes    []string        // known scope names; empty: no restriction by action
	Resources map[int64]Level // channel id → level; nil: no restriction by channel
	ExpiresAt time.Time

	// Surface is where the request came in ("api", "conda", "pypi"), for resources that do
	// not say: the server sets it per request.
	Surface string
}

// allows reports whether the token lets a through, for whatever its owner may do.
func (t *TokenLimits) allows(a Action, r Resource) bool {
	if t == nil || a == Anyone {
		return true
	}
	r = t.normalize(r)
	return t.scopesAllow(a, r) && t.resourcesAllow(a, r)
}

// normalize fills in what r leaves to the request: the surface, and the kind of package
// (everything under /conda/ is about conda packages, under /pypi/ about Python ones).
func (t *TokenLimits) normalize(r Resource) Resource {
	if r.Surface == "" {
		r.Surface = t.Surface
	}
	if r.Kind == "" && (r.Surface == "conda" || r.Surface == "pypi") && r.Channel != "" {
		r.Kind = r.Surface
	}
	return r
}

// scopesAllow is the scopes' part of allows: one of them allows a (or there are none).
func (t *TokenLimits) scopesAllow(a Action, r Resource) bool {
	if len(t.Scopes) == 0 {
		return true
	}
	for _, name := range t.Scopes {
		if sc, found := scopeByName[name]; found && sc.allows(a, r) {
			return true
		}
	}
	return false
}

// resourcesAllow is the resources' part of allows: the level a needs on r's channel, or for
// what is on no channel, the few actions a resource token may take there.
func (t *TokenLimits) resourcesAllow(a Action, r Resource) bool {
	if t.Resources == nil {
		return true
	}
	need, onChannel := resourceNeed[a]
	switch {
	case onChannel && r.Channel != "":
		return t.channelCap(r) >= need
	case onChannel:
		return a == ChannelList // listing is filtered per channel
	default:
		return resourceTokenMay[a]
	}
}

// channelCap is the most a token lets its holder do on r's channel.
func (t *TokenLimits) channelCap(r Resource) Level {
	if t == nil || t.Resources == nil {
		return Manage
	}
	return max(t.Resources[r.ChannelID], t.Resources[r.ParentID])
}

// resourceNeed is the level a resource token needs on a channel for each action there.
var resourceNeed = map[Action]Level{
	ChannelList: Read, ChannelView: Read, ArtifactDownload: Read,
	ArtifactCreate: Write, ArtifactEdit: Write,
	ArtifactDelete: Manage, PackageManage: Manage, ChannelManage: Manage, ChannelHistory: Manage, ChannelDelete: Manage,
	ChannelCreate: Manage, // a subchannel, on its parent
}

// resourceTokenMay are the actions off any channel that a resource-only token may take.
var resourceTokenMay = map[Action]bool{UserView: true, TokenView: true}

// Scope is one named set of actions a token may be limited to.
type Scope struct {
	Name        string
	Description string
	Actions     []Action // what it allows, for listing
	allows      func(a Action, r Resource) bool
}

func anyOf(actions ...Action) func(Action) bool {
	return func(a Action) bool { return slices.Contains(actions, a) }
}

var (
	readActions  = []Action{ChannelList, ChannelView, ArtifactDownload}
	writeActions = []Action{ArtifactCreate, ArtifactEdit, ArtifactDelete, ChannelCreate, ChannelManage, PackageManage}
	allActions   = Actions
)

// kindScope allows actions on packages of one kind (conda, pypi), through any surface.
func kindScope(name, desc string, kinds []string, actions ...Action) Scope {
	in := anyOf(actions...)
	return Scope{Name: name, Description: desc, Actions: actions, allows: func(a Action, r Resource) bool {
		// Listing and seeing a channel carry no kind; the download or upload that follows does.
		return in(a) && (r.Kind == "" && (a == ChannelList || a == ChannelView) || slices.Contains(kinds, r.Kind))
	}}
}

// apiScope allows actions through the REST API only.
func apiScope(name, desc string, actions ...Action) Scope {
	in := anyOf(actions...)
	return Scope{Name: name, Description: desc, Actions: actions, allows: func(a Action, r Resource) bool {
		return in(a) && r.Surface == "api"
	}}
}

// serverScope is an Anaconda Server `category:action` scope. sub says whether it is about
// subchannels (true), top-level channels (false), or either (nil).
func serverScope(name, desc string, sub *bool, actions ...Action) Scope {
	in := anyOf(actions...)
	return Scope{Name: name, Description: desc, Actions: actions, allows: func(a Action, r Resource) bool {
		if !in(a) {
			return false
		}
		if sub == nil {
			return true
		}
		if a == ChannelCreate {
			// Creating a subchannel is an action on its parent; a top-level channel, on the
			// server or an org.
			return (r.Channel != "") == *sub
		}
		if r.Channel == "" {
			return true // listing and the like: each channel is checked on its own
		}
		return (r.ParentID != 0) == *sub
	}}
}

// recognised scopes of Anaconda Server that name features Wharf does not have yet: accepted
// in tokens, allowing nothing.
func recognised(name, desc string) Scope {
	return Scope{Name: name, Description: desc + " (no such feature in Wharf yet: allows nothing)", Actions: []Action{},
		allows: func(Action, Resource) bool { return false }}
}

var yes, no = true, false

// Scopes is the one table of scopes: the anaconda.org names and Anaconda Server's
// `category:action` names, each a named set of Wharf's actions.
var Scopes = []Scope{
	{Name: "all", Description: "everything the owner may do", Actions: allActions, allows: func(Action, Resource) bool { return true }},
	apiScope("api", "everything through the REST API", allActions...),
	apiScope("api:read", "read through the REST API: channels, files, history, organizations, one's account and tokens",
		ChannelList, ChannelView, ArtifactDownload, ChannelHistory, UserView, OrgView, TokenView),
	apiScope("api:write", "read and change channels and files through the REST API: upload, label, copy, remove, privacy, create channels",
		append(append([]Action{UserView}, readActions...), writeActions...)...),
	apiScope("api:modify-group", "manage organizations' members, groups and grants through the REST API",
		ChannelList, UserView, OrgView, OrgManage),
	kindScope("conda", "see, download and upload conda packages", []string{"conda"}, ChannelList, ChannelView, ArtifactDownload, ArtifactCreate),
	kindScope("conda:download", "see and download conda packages", []string{"conda"}, readActions...),
	kindScope("pypi", "see, download and upload Python packages", []string{"pypi"}, ChannelList, ChannelView, ArtifactDownload, ArtifactCreate),
	kindScope("pypi:download", "see and download Python packages", []string{"pypi"}, readActions...),
	kindScope("pypi:upload", "upload Python packages (twine)", []string{"pypi"}, ChannelList, ChannelView, ArtifactCreate),
	kindScope("repos", "see, download and upload conda and Python packages", []string{"conda", "pypi"}, ChannelList, ChannelView, ArtifactDownload, ArtifactCreate),

	serverScope("artifact:create", "upload files", nil, ArtifactCreate),
	serverScope("artifact:delete", "remove files", nil, ArtifactDelete),
	serverScope("artifact:download", "download files and indexes", nil, ChannelList, ChannelView, ArtifactDownload),
	serverScope("artifact:edit", "label, copy and move files", nil, ArtifactEdit),
	serverScope("artifact:view", "see files", nil, ChannelList, ChannelView),
	serverScope("channel:create", "create channels", &no, ChannelCreate),
	serverScope("channel:delete", "remove channels", &no, ChannelDelete),
	serverScope("channel:edit", "change channels' and their packages' settings (privacy)", &no, ChannelManage, PackageManage),
	serverScope("channel:history", "read channels' history", &no, ChannelHistory),
	serverScope("channel:view", "see channels", &no, ChannelList, ChannelView),
	serverScope("channel:view-artifacts", "see channels' files", &no, ChannelList, ChannelView, ArtifactDownload),
	recognised("channel.default-channel:edit", "change the default channel"),
	serverScope("channel.group:edit", "manage the groups and grants of organizations", nil, OrgView, OrgManage),
	serverScope("channel.group:view", "see the groups and grants of organizations", nil, OrgView),
	recognised("channel.mirror:edit", "manage channel mirrors"),
	recognised("channel.mirror:view", "see channel mirrors"),
	serverScope("subchannel:create", "create subchannels", &yes, ChannelCreate),
	serverScope("subchannel:delete", "remove subchannels", &yes, ChannelDelete),
	serverScope("subchannel:edit", "change subchannels' and their packages' settings (privacy)", &yes, ChannelManage, PackageManage),
	serverScope("subchannel:history", "read subchannels' history", &yes, ChannelHistory),
	serverScope("subchannel:view", "see subchannels", &yes, ChannelList, ChannelView),
	serverScope("subchannel:view-artifacts", "see subchannels' files", &yes, ChannelList, ChannelView, ArtifactDownload),
	serverScope("subchannel.group:edit", "manage the groups and grants of organizations", nil, OrgView, OrgManage),
	serverScope("subchannel.group:view", "see the groups and grants of organizations", nil, OrgView),
	recognised("subchannel.mirror:edit", "manage subchannel mirrors"),
	recognised("subchannel.mirror:view", "see subchannel mirrors"),
	recognised("mirror:view", "see mirrors"),
	recognised("system.license:edit", "change the license"),
	recognised("system.license:view", "see the license"),
	recognised("cve:edit", "edit CVE data"),
	recognised("cve:view", "see CVE data"),
	recognised("role:edit", "edit roles"),
	recognised("role:view", "see roles"),
	recognised("system.settings:edit", "change server settings"),
	recognised("system:delete-blobs", "delete unreferenced blobs"),
	serverScope("user.token:edit", "create, rename, extend, reissue and revoke tokens no broader than this one", nil, TokenView, TokenEdit),
	serverScope("user.token:view", "list tokens", nil, TokenView),
}

var scopeByName = func() map[string]Scope {
	m := make(map[string]Scope, len(Scopes))
	for _, s := range Scopes {
		if _, dup := m[s.Name]; dup {
			panic("access: scope " + s.Name + " twice")
		}
		m[s.Name] = s
	}
	return m
}()

// KnownScope reports whether name is a scope.
func KnownScope(name string) bool {
	_, ok := scopeByName[name]
	return ok
}

// ScopeNames lists every scope name, sorted.
func ScopeNames() []string {
	out := make([]string, 0, len(Scopes))
	for _, s := range Scopes {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

// NearestScope is the scope name a mistyped name most likely meant, for a "did you mean": the
// known name at the smallest edit distance (case ignored; two letters swapped count as one
// edit), when that distance is small enough for a typo (at most 1 for names of up to 4
// letters, 2 up to 8, else 3). "" when name is a scope, or nothing is that close.
func NearestScope(name string) string {
	if KnownScope(name) {
		return ""
	}
	n := strings.ToLower(name)
	limit := 3
	switch {
	case len(n) <= 4:
		limit = 1
	case len(n) <= 8:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, s := range ScopeNames() { // sorted: ties go to the first
		if d := editDistance(n, strings.ToLower(s)); d < bestD {
			best, bestD = s, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b, by bytes: insertions,
// deletions, substitutions and swaps of two neighbours each count one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
