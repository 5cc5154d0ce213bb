// Package access decides who may do what. It is pure: a request becomes (principal, action,
// resource) and May answers. The next issues fill in organizations, groups and tokens; every
// route already asks through this one function.
package access

// Action is one thing a principal can do. Scopes (later) are named sets of actions.
type Action string

const (
	ChannelList      Action = "channel:list"      // list channels (each filtered by ChannelView)
	ChannelView      Action = "channel:view"      // see a channel and its index
	ChannelCreate    Action = "channel:create"    // create a channel or subchannel
	ChannelHistory   Action = "channel:history"   // read a channel's history
	ArtifactDownload Action = "artifact:download" // fetch repodata and package files
	ArtifactCreate   Action = "artifact:create"   // upload
	ArtifactEdit     Action = "artifact:edit"     // label, copy, move
	ArtifactDelete   Action = "artifact:delete"   // remove
	UserView         Action = "user:view"         // who am I
)

// Principal is who is asking.
type Principal struct {
	UserID   int64 // 0 for anonymous
	Name     string
	Admin    bool
	Disabled bool
}

// Anonymous reports whether no one is signed in.
func (p Principal) Anonymous() bool { return p.UserID == 0 }

// Resource is what an action is on. The zero Resource is the server itself.
type Resource struct {
	Channel     string // "" for the server
	Private     bool
	OwnerUserID int64
}

// readActions are what anyone may do on a public channel.
var readActions = map[Action]bool{ChannelView: true, ArtifactDownload: true}

// May reports whether p may do a on r.
func May(p Principal, a Action, r Resource) bool {
	if p.Disabled {
		return false
	}
	if p.Admin {
		return true
	}
	if a == UserView {
		return !p.Anonymous()
	}
	if a == ChannelList {
		return true // the answer holds only what ChannelView lets p see
	}
	if r.Channel == "" {
		return false // server-wide actions (creating channels) are the admin's for now
	}
	if !p.Anonymous() && r.OwnerUserID == p.UserID {
		return true
	}
	return readActions[a] && !r.Private
}

// Visible reports whether p may know that r exists; a refusal of something invisible is a
// 404, never a 403.
func Visible(p Principal, r Resource) bool { return May(p, ChannelView, r) }

// Level is a permission level on a channel or a package. Each includes the ones below it.
type Level int

const (
	None   Level = iota
	Read         // see and download
	Write        // upload, label, edit files
	Manage       // delete, settings, grants, history
)

var levelNames = [...]string{"none", "read", "write", "manage"}

func (l Level) String() string {
	if l < None || l > Manage {
		return "invalid"
	}
	return levelNames[l]
}

// ParseLevel reads "read", "write" or "manage".
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames[1:] {
		if s == n {
			return Level(i + 1), true
		}
	}
	return None, false
}
