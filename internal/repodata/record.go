// Package repodata builds what a conda channel serves for one subdir (repodata.json and its
// compressed forms, current_repodata.json, run_exports.json, CEP-16 shards) and for a channel
// (channeldata.json) from records the server computed at upload. It is pure: no HTTP, no store.
package repodata

import "encoding/json"

// Record is one package file as the index builders need it. JSON is the complete repodata
// record (index.json's keys plus md5, sha256, size), compact, with keys sorted; it is emitted
// byte for byte.
type Record struct {
	Filename    string // "demo-1.0-h123_0.conda"
	Name        string
	Version     string
	Build       string
	BuildNumber int64
	Timestamp   int64           // as in index.json (ms since the epoch, seconds in old packages), 0 if absent
	JSON        json.RawMessage // the repodata record
	RunExports  json.RawMessage // info/run_exports.json normalised to an object, or nil
	// Msgpack is the record as a CEP-16 shard holds it (EncodeShardRecord of JSON), computed
	// once at upload so that shards are built by concatenation; nil means encode on demand.
	Msgpack []byte
}

// PackageInfo is what channeldata.json needs of one file beyond its Record.
type PackageInfo struct {
	Record
	Subdir string
	About  json.RawMessage // info/about.json, or nil
	// RecipeSource is the url and git_url of the rendered recipe's source (conda.Package), or
	// nil.
	RecipeSource json.RawMessage
	Flags        Flags
}

// Flags are channeldata's booleans, computed from the files a package installs.
type Flags struct {
	ActivateD    bool `json:"activate.d"`
	DeactivateD  bool `json:"deactivate.d"`
	PreLink      bool `json:"pre_link"`
	PostLink     bool `json:"post_link"`
	PreUnlink    bool `json:"pre_unlink"`
	BinaryPrefix bool `json:"binary_prefix"`
	TextPrefix   bool `json:"text_prefix"`
}
