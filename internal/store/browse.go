package store

import (
	"context"
	"encoding/json"
	"time"
)

// Upload is a stored file with the names a listing shows beside it.
type Upload struct {
	File
	Channel  string // the channel's name
	Uploader string // the uploader's name; "" when the account is gone
}

// PackageSummary is one package of a channel as a listing shows it: a name of one kind.
type PackageSummary struct {
	Name       string
	Kind       string // "conda" or "pypi"
	Private    bool
	Versions   []string // the distinct versions of its files, byte-wise sorted: order them by the kind's rules
	Subdirs    []string // sorted
	Files      int64
	LastUpload time.Time
}

// BrowseStore answers the listings of the web UI.
type BrowseStore interface {
	// ChannelPackages lists a channel's packages that have files, by name, then kind.
	ChannelPackages(ctx context.Context, channelID int64) ([]PackageSummary, error)
	// PackageFiles lists the files of the channel's packages of that name (of either kind),
	// with their labels, channel and uploader, by subdir and filename.
	PackageFiles(ctx context.Context, channelID int64, pkg string) ([]Upload, error)
	// FileRecord is the record kept for a file: a conda package's repodata record, a Python
	// distribution's summary. A *NotFoundError when the channel has no such file.
	FileRecord(ctx context.Context, channelID int64, ref FileRef) (json.RawMessage, error)
	// RecentUploads lists files of the channels named, newest first, at most limit; with
	// before > 0 only files of smaller id (the next page: pass the last one's ID). Labels are
	// left empty.
	RecentUploads(ctx context.Context, channelIDs []int64, before int64, limit int) ([]Upload, error)
	// SetPackagesPrivate changes the privacy of several packages of a channel in one
	// transaction, recorded in history: all of them or, when one is missing (a
	// *NotFoundError), none.
	SetPackagesPrivate(ctx context.Context, channelID int64, pkgs []string, private bool, actorID int64) error
}
