package access

import "slices"

// surfaceActions are the actions a token can be asked for through each surface: the conda
// routes only read (a channel's existence and its files), the PyPI routes read and take
// twine's uploads, the REST API does everything. Comparing tokens, an action a surface never
// asks for is not a difference.
var surfaceActions = map[string][]Action{
	"conda": {ChannelView, ArtifactDownload},
	"pypi":  {ChannelView, ArtifactDownload, ArtifactCreate},
	"api":   slices.DeleteFunc(slices.Clone(Actions), func(a Action) bool { return a == Anyone }), // no token limits Anyone
}

// packageActions are the actions on one package, which the API asks with its kind.
var packageActions = map[Action]bool{ArtifactDownload: true, ArtifactCreate: true, ArtifactEdit: true, ArtifactDelete: true, PackageManage: true}

// SurfaceActions lists the actions a token can be asked for through surface ("conda",
// "pypi", "api"), for the route table's tests.
func SurfaceActions(surface string) []Action { return slices.Clone(surfaceActions[surface]) }

// Breadth says how a token would allow more than another: the zero value when it allows
// nothing the other does not.
type Breadth struct {
	// Actions its scopes allow that the other's do not, each as "action (surface)" with the
	// package kind when it matters, and Scopes, its scopes that allow them (empty when it
	// has no scopes: no limit by action).
	Actions []string
	Scopes  []string
	// Channels it reaches beyond the other's resources, each with its level there;
	// AllChannels when it has no resources (every channel, and what is on no channel) while
	// the other has.
	Channels    map[int64]Level
	AllChannels bool
	// Outlives says it expires after the other.
	Outlives bool
}

// Wider reports whether the token allows some action or reaches some channel the other does
// not; Outlives is apart, since a later expiry is settled by shortening it.
func (b Breadth) Wider() bool { return len(b.Actions) > 0 || len(b.Channels) > 0 || b.AllChannels }

// Compare says how a token with child's limits would allow more than one with parent's:
// a token may only make, extend or reissue tokens no broader than itself. It compares what
// they allow, action by action through each surface and channel by channel (a scope is
// within another when every action it allows is, as conda:download is within repos, and a
// level on a channel covers its subchannels), not the names they carry. parentOf gives a
// channel's parent (0 for a top-level channel), so that a resource on a subchannel is within
// one on its parent; nil: none is known. A nil parent (a password or a session) is broader
// than anything; a nil child allows everything its owner may.
func Compare(child, parent *TokenLimits, parentOf func(int64) int64) Breadth {
	var b Breadth
	if parent == nil {
		return b
	}
	if child == nil {
		child = &TokenLimits{}
	}
	if !parent.ExpiresAt.IsZero() && (child.ExpiresAt.IsZero() || child.ExpiresAt.After(parent.ExpiresAt)) {
		b.Outlives = true
	}
	if parentOf == nil {
		parentOf = func(int64) int64 { return 0 }
	}
	// "all" (or no limit at all) is everything, later versions' additions too: within
	// nothing narrower, whatever the comparison of today's actions says.
	childAll := slices.Contains(child.Scopes, "all") || len(child.Scopes) == 0 && child.Resources == nil
	if childAll && len(parent.Scopes) > 0 && !slices.Contains(parent.Scopes, "all") {
		b.Actions = append(b.Actions, "everything, with what later versions add")
		if len(child.Scopes) > 0 {
			b.Scopes = append(b.Scopes, "all")
		}
	}
	eachPoint(child, parent, parentOf, func(a Action, r Resource) {
		if !child.allows(a, r) || parent.allows(a, r) {
			return
		}
		r = child.normalize(r)
		if !parent.scopesAllow(a, r) {
			what := string(a) + " (" + r.Surface
			if r.Surface == "api" && r.Kind != "" {
				what += ", " + r.Kind + " packages"
			}
			what += ")"
			if !slices.Contains(b.Actions, what) {
				b.Actions = append(b.Actions, what)
			}
			for _, name := range child.Scopes {
				if sc, ok := scopeByName[name]; ok && sc.allows(a, r) && !slices.Contains(b.Scopes, name) {
					b.Scopes = append(b.Scopes, name)
				}
			}
		}
		if !parent.resourcesAllow(a, r) {
			if child.Resources == nil {
				b.AllChannels = true
				return
			}
			// The child's resource that reaches r: the channel's own, or its parent's.
			id := r.ChannelID
			if child.Resources[r.ParentID] > child.Resources[id] {
				id = r.ParentID
			}
			if b.Channels == nil {
				b.Channels = map[int64]Level{}
			}
			b.Channels[id] = max(b.Channels[id], child.Resources[id])
		}
	})
	return b
}

// Channel ids that no token names: another top-level channel and a subchannel of it, and
// subchannels of the named channels, numbered downwards from subOf.
const (
	otherChannel    = -1
	otherSubchannel = -2
	subOf           = -3
)

// eachPoint calls fn with the (action, resource) pairs that tell apart everything two
// tokens' limits can allow: the server and an org (through the API), and on each surface each
// channel either token names, a subchannel of it, and a channel neither names, as each
// package kind.
func eachPoint(child, parent *TokenLimits, parentOf func(int64) int64, fn func(Action, Resource)) {
	var named []int64
	for _, t := range []*TokenLimits{child, parent} {
		for id := range t.Resources {
			if !slices.Contains(named, id) {
				named = append(named, id)
			}
		}
	}
	slices.Sort(named)
	channels := []Resource{{Channel: "other", ChannelID: otherChannel}, {Channel: "other/sub", ChannelID: otherSubchannel, ParentID: otherChannel}}
	for i, id := range named {
		p := parentOf(id)
		channels = append(channels, Resource{Channel: "named", ChannelID: id, ParentID: p})
		if p == 0 {
			channels = append(channels, Resource{Channel: "named/sub", ChannelID: subOf - int64(i), ParentID: id})
		}
	}
	for _, surface := range []string{"api", "conda", "pypi"} {
		kinds := []string{surface}
		if surface == "api" {
			kinds = []string{"", "conda", "pypi"}
			for _, r := range []Resource{{}, {Org: 1}} {
				r.Surface = surface
				for _, a := range surfaceActions[surface] {
					if _, onChannel := resourceNeed[a]; !onChannel || a == ChannelList || a == ChannelCreate {
						fn(a, r)
					}
				}
			}
		}
		for _, r := range channels {
			for _, kind := range kinds {
				r.Surface, r.Kind = surface, kind
				for _, a := range surfaceActions[surface] {
					// Listing channels is asked of the server, never of one channel; the API
					// names a package's kind only for actions on packages.
					_, onChannel := resourceNeed[a]
					if onChannel && a != ChannelList && (surface != "api" || kind == "" || packageActions[a]) {
						fn(a, r)
					}
				}
			}
		}
	}
}
