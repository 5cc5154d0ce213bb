package store

import (
	"context"
	"time"
)

// PyPIFile is one Python distribution as the Simple API lists it.
type PyPIFile struct {
	Filename       string
	Version        string
	SHA256         string
	Size           int64
	UploadedAt     time.Time
	RequiresPython string
	Yanked         bool
	YankedReason   string
	MetadataSHA256 string // "" when no core metadata is kept
}

// PyPIProject is a project with files under the main label.
type PyPIProject struct {
	Name    string // normalized (PEP 503)
	Private bool
}

// PyPISnapshot is a channel's Python projects, or one project's files, at one revision.
type PyPISnapshot struct {
	Revision int64
	Projects []PyPIProject // for the index
	Files    []PyPIFile    // for a project page, sorted by filename
	Private  bool          // the project page's project is private
}

// PyPIStore serves the Simple API from what the channel holds.
type PyPIStore interface {
	// PyPIProjects lists the channel's Python projects (label main) at its revision.
	PyPIProjects(ctx context.Context, channelID int64) (PyPISnapshot, error)
	// PyPIProjectFiles lists one project's files (label main); a *NotFoundError when it has none.
	PyPIProjectFiles(ctx context.Context, channelID int64, project string) (PyPISnapshot, error)
	// CoreMetadata is the METADATA/PKG-INFO kept for a file (PEP 658).
	CoreMetadata(ctx context.Context, channelID int64, filename string) ([]byte, error)
	// SetYanked yanks or unyanks one file (filename set) or every file of a release (versions:
	// the spellings of one PEP 440 version the files carry) of a project (PEP 592), whatever
	// their labels, in one transaction; it returns how many files changed.
	SetYanked(ctx context.Context, channelID int64, project string, versions []string, filename string, yanked bool, reason string, actorID int64) (int, error)
}
