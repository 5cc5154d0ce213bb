// Package api holds the REST API's wire types, shared by the server and the wharf client.
package api

import (
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// ChannelInfo is a channel as the API shows it.
type ChannelInfo struct {
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	Parent    string    `json:"parent,omitempty"`
	Revision  int64     `json:"revision,omitempty"` // only for readers of the whole channel
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FileInfo is a stored file as the API shows it.
type FileInfo struct {
	Channel   string    `json:"channel"`
	Package   string    `json:"package"`
	Kind      string    `json:"kind"`
	Subdir    string    `json:"subdir"`
	Filename  string    `json:"filename"`
	Version   string    `json:"version"`
	Build     string    `json:"build"`
	SHA256    string    `json:"sha256"`
	MD5       string    `json:"md5"`
	Size      int64     `json:"size"`
	Labels    []string  `json:"labels"`
	CreatedAt time.Time `json:"created_at"`
	// PackagePrivate: the file's package is private.
	PackagePrivate bool `json:"package_private,omitempty"`
	// Python distributions: PEP 592 yanking.
	Yanked       bool   `json:"yanked,omitempty"`
	YankedReason string `json:"yanked_reason,omitempty"`
}

// CopyRequest is the body of POST /api/v1/channels/{channel}/copy.
type CopyRequest struct {
	Files     []store.FileRef `json:"files"`
	FromLabel string          `json:"from_label"`
	ToChannel string          `json:"to_channel"`
	ToLabels  []string        `json:"to_labels"`
	Move      bool            `json:"move"`
}

// NewChannelRequest is the body of POST /api/v1/channels.
type NewChannelRequest struct {
	Name    string `json:"name"`
	Private bool   `json:"private"`
	// Org makes an organization own the new top-level channel (its owners may do this).
	Org string `json:"org,omitempty"`
}
