// Package store holds Wharf's metadata: users, channels, packages, files, labels and history,
// on SQLite (embedded, the default) or PostgreSQL (scale-out). Every change that alters what a
// channel serves bumps that channel's revision, and the revision of each (label, subdir) it
// touches, in the same transaction, so index caches keyed by (channel, label, subdir,
// revision) are never stale, on one replica or many (IndexRevisions).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/internal/repodata"
)

// NotFoundError says which thing does not exist.
type NotFoundError struct {
	Kind string // "user", "channel", "file"
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.Name) }

// ConflictError says that a unique thing already exists in another form.
type ConflictError struct {
	Kind   string
	Name   string
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q already exists: %s", e.Kind, e.Name, e.Reason)
}

// IsNotFound reports whether err is a *NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// IsConflict reports whether err is a *ConflictError.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// User is an account.
type User struct {
	ID            int64
	Name          string
	Email         string
	EmailVerified bool
	PasswordHash  string
	Admin         bool
	Disabled      bool
	CreatedAt     time.Time
}

// NewUser is what CreateUser needs. CreateUser also creates the user's channel, of the same
// name; a name taken by a user, an org or a channel, in this spelling or another (names.Key),
// is a *ConflictError.
type NewUser struct {
	Name          string
	Email         string
	EmailVerified bool
	PasswordHash  string
	Admin         bool
}

// Channel is a channel or a subchannel ("parent/child").
type Channel struct {
	ID          int64
	Name        string
	ParentID    int64 // 0 for a top-level channel
	OwnerUserID int64 // 0 when owned by no user
	OwnerOrgID  int64 // 0 when owned by no org
	Private     bool
	// ParentPrivate is the parent's privacy: a subchannel of a private channel is private.
	ParentPrivate bool
	// OwnerUnconfirmed says that the channel's owner is an account whose address is not
	// confirmed yet (a sign-up that may never be): lists leave such channels out.
	OwnerUnconfirmed bool
	Revision         int64
	CreatedAt        time.Time
	UpdatedAt        time.Time // time of the last revision bump
}

// NewChannel is what CreateChannel needs. For a subchannel Name is "parent/child" and the
// parent must exist under that exact name. A name that another spelling of (names.Key) is
// taken, at the top level by a user, an org or a channel, or among the parent's subchannels,
// is a *ConflictError that names the one there.
type NewChannel struct {
	Name        string
	OwnerUserID int64
	OwnerOrgID  int64
	Private     bool
	ActorID     int64
}

// File is one stored package file.
type File struct {
	ID        int64
	ChannelID int64
	Kind      string // "conda"
	Package   string
	// PackagePrivate is the package's privacy: readers without access to it must not see it.
	PackagePrivate bool
	Subdir         string
	Filename       string
	SHA256         string
	MD5            string
	Size           int64
	Version        string
	Build          string
	BuildNumber    int64
	Timestamp      int64
	Labels         []string
	UploaderID     int64
	CreatedAt      time.Time
	// Python distributions (PEP 592).
	Yanked       bool
	YankedReason string
}

// NewFile is an uploaded file whose blob is already durable.
type NewFile struct {
	ChannelID   int64
	Kind        string
	Package     string
	Subdir      string
	Filename    string
	SHA256      string
	MD5         string
	Size        int64
	Version     string
	Build       string
	BuildNumber int64
	Timestamp   int64
	Record      json.RawMessage
	// RecordMsgpack is Record as a CEP-16 shard holds it (repodata.EncodeShardRecord).
	RecordMsgpack []byte
	RunExports    json.RawMessage
	About         json.RawMessage
	// RecipeSource is what channeldata takes from the package's recipe (conda.Package); nil
	// stores NULL, "not read", for the background backfill to read from the blob.
	RecipeSource json.RawMessage
	Flags        repodata.Flags
	Labels       []string
	UploaderID   int64

	// Python distributions: the METADATA or PKG-INFO bytes (PEP 658) and Requires-Python.
	CoreMetadata   []byte
	RequiresPython string

	// Recheck, when set, is asked inside each transaction that would publish the file (or
	// add labels to the same bytes), after the channel is locked: an error refuses the
	// publication, which leaves nothing behind, and is returned as it is. It reads through
	// rd, which sees that transaction and keeps what it read from changing until the commit.
	Recheck func(ctx context.Context, rd AccessReader) error
}

// AccessReader reads what decides who may publish: the Store itself (a fresh read), or the
// reader a Recheck is given (inside the publishing transaction).
type AccessReader interface {
	TokenByHash(ctx context.Context, hash string) (Token, error)
	UserByID(ctx context.Context, id int64) (User, error)
	GrantsOf(ctx context.Context, userID int64) (Grants, error)
	OrgByID(ctx context.Context, id int64) (Org, error)
	ChannelByID(ctx context.Context, id int64) (Channel, error)
}

// UnreadRecipe is a conda file whose recipe was not read when it was stored.
type UnreadRecipe struct {
	ID       int64
	Subdir   string
	Filename string
	SHA256   string
	Size     int64
}

// PyPISubdir is the subdir Python distributions are filed under in a channel.
const PyPISubdir = "pypi"

// BlobRef is a blob that stored files name: its sha256 and size as recorded, and the files
// ("channel/subdir/filename", sorted) that name it.
type BlobRef struct {
	SHA256 string
	Size   int64
	Files  []string
}

// FileRef names a file inside a channel.
type FileRef struct {
	Subdir   string `json:"subdir"`
	Filename string `json:"filename"`
}

func (r FileRef) String() string { return r.Subdir + "/" + r.Filename }

// CopyRequest copies or moves files between labels and channels.
//
// Within one channel, copy adds ToLabels to the files and move also takes FromLabel off them.
// Across channels, copy creates the files in the target channel (sharing the blob) with
// ToLabels, and move then takes them out of the source: only FromLabel when it is given, the
// whole file otherwise. Files empty means every file that carries FromLabel.
type CopyRequest struct {
	FromChannelID int64
	FromLabel     string
	Files         []FileRef
	ToChannelID   int64
	ToLabels      []string
	Move          bool
	ActorID       int64
}

// LabelCount is a label and how many files carry it.
type LabelCount struct {
	Label string `json:"label"`
	Files int64  `json:"files"`
}

// Event is one entry of a channel's history.
type Event struct {
	ID        int64           `json:"id"`
	ChannelID int64           `json:"-"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Detail    json.RawMessage `json:"detail"`
	CreatedAt time.Time       `json:"created_at"`
}

// Snapshot is what one subdir of one label of a channel held at one revision: the revision
// of that (label, subdir) (IndexRevisions.Subdir), and the time of the change that set it.
type Snapshot struct {
	Revision  int64
	UpdatedAt time.Time
	Records   []repodata.Record // sorted by filename
	Private   []string          // the channel's private packages, sorted
}

// ChannelSnapshot is every file of one label of a channel, for channeldata.json, at the
// label's revision (IndexRevisions.Label).
type ChannelSnapshot struct {
	Revision  int64
	UpdatedAt time.Time
	Packages  []repodata.PackageInfo
	Private   []string // the channel's private packages, sorted
}

// Store is Wharf's metadata store. Implementations must pass storetest.Run.
type Store interface {
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// UserByName, ChannelByName and OrgByName find a name as it is spelt or, failing that, by
	// another spelling of it (names.Key): the one that holds the key. A look-alike made before
	// the rule (see LookAlikes) answers only to its exact spelling.
	UserByName(ctx context.Context, name string) (User, error)
	// NameFree returns the *ConflictError CreateUser or CreateOrg would for a name taken in
	// this spelling or another, or nil: for a check before other work.
	NameFree(ctx context.Context, name string) error
	UserByID(ctx context.Context, id int64) (User, error)

	CreateChannel(ctx context.Context, c NewChannel) (Channel, error)
	ChannelByName(ctx context.Context, name string) (Channel, error)
	ChannelByID(ctx context.Context, id int64) (Channel, error)
	ListChannels(ctx context.Context) ([]Channel, error)
	// DeleteChannel removes a channel with its subchannels, files and grants. The files' blobs
	// stay for garbage collection.
	DeleteChannel(ctx context.Context, id int64) error
	// LookAlikes lists the groups of names that are one name by names.Key but were made before
	// the rule that refuses the second: top-level names (users, orgs, channels) and the
	// subchannels of one parent. Each group lists the name other spellings find first.
	LookAlikes(ctx context.Context) ([][]string, error)

	// AddFile records an uploaded file. It returns created=false and the stored file when the
	// same filename with the same sha256 is already there, and a *ConflictError when the
	// filename is taken by other bytes.
	AddFile(ctx context.Context, f NewFile) (stored File, created bool, err error)
	// File returns a file; a non-empty label also requires the file to carry it.
	File(ctx context.Context, channelID int64, ref FileRef, label string) (File, error)
	ListFiles(ctx context.Context, channelID int64, label string) ([]File, error)
	RemoveFile(ctx context.Context, channelID int64, ref FileRef, actorID int64) error
	CopyFiles(ctx context.Context, req CopyRequest) ([]File, error)
	Labels(ctx context.Context, channelID int64) ([]LabelCount, error)
	// BlobInUse reports whether any file still names the blob of this sha256.
	BlobInUse(ctx context.Context, sha256 string) (bool, error)
	// Blobs lists, in sha256 order, the blobs that stored files name whose sha256 sorts after
	// after ("" for the first), those of at most limit sha256s, each with all the files naming
	// it: what wharf admin fsck checks, a page at a time.
	Blobs(ctx context.Context, after string, limit int) ([]BlobRef, error)
	// FilesWithoutRecipe lists conda files stored before their recipe was read (NewFile's
	// RecipeSource nil), those with an id above afterID, at most limit, in id order.
	FilesWithoutRecipe(ctx context.Context, afterID int64, limit int) ([]UnreadRecipe, error)
	// SetRecipeSources stores what was read of files' recipes, by file id, where nothing is
	// stored yet, and bumps the revision of each channel that changed (its channeldata.json
	// changes). It returns how many files it set.
	SetRecipeSources(ctx context.Context, sources map[int64]json.RawMessage) (int, error)

	SubdirSnapshot(ctx context.Context, channelID int64, label, subdir string) (Snapshot, error)
	ChannelSnapshot(ctx context.Context, channelID int64, label string) (ChannelSnapshot, error)
	// IndexRevisions reads the revisions of a channel's indexes.
	IndexRevisions(ctx context.Context, channelID int64) (IndexRevisions, error)
	// ChannelRevisions reads the revisions of these channels, by id; a channel that is gone is
	// missing from the map. It is what replicas poll to learn of each other's changes.
	ChannelRevisions(ctx context.Context, ids []int64) (map[int64]int64, error)
	// WatchChanges calls fn after each transaction of this store that changed what channels
	// serve has committed, before the call that made it returns, with their ids (a
	// subchannel's too when its parent's privacy changed). Changes made through another
	// store, or another process, are not seen: poll ChannelRevisions for those.
	WatchChanges(fn func(channelIDs []int64)) (stop func())

	Events(ctx context.Context, channelID int64, limit int) ([]Event, error)

	PyPIStore
	AccountStore
	TokenStore
	SessionStore
	BrowseStore

	// Stats counts what the store has asked of its database so far: what a request costs is
	// the difference before and after it.
	Stats() Stats
	Close() error
}

// Stats counts a store's work since it was opened.
type Stats struct {
	// Statements run, inside a transaction or on their own (each of those its own
	// transaction in the database).
	Statements int64
	// Transactions begun by the store, for reading or writing several statements at once.
	Transactions int64
	// Connections opened to the database, and open now; WaitCount is how often a call
	// waited for a free connection because the pool was at its size.
	Connections, OpenConnections, WaitCount int64
	// ClosedIdle counts connections closed on their return to the pool because more were
	// idle than it keeps: each is a connection to open again at the next burst.
	ClosedIdle int64
}

// RoundTrips is how many times the store asked its database something: each statement, and
// the begin and the end of each transaction. Benchmarks count what a request costs with it.
func (s Stats) RoundTrips() int64 { return s.Statements + 2*s.Transactions }
