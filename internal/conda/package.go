// Package conda reads conda package files (.conda and .tar.bz2) and validates the names in them.
// It is pure: no HTTP, no storage. Everything a user uploads passes through ReadPackage, which
// reads only what it needs, as a stream, under hard caps.
package conda

import (
	"encoding/json"

	"github.com/wharfhq/wharf/internal/repodata"
)

// Format is a conda package file format.
type Format int

const (
	FormatTarBz2 Format = iota + 1 // v1: <stem>.tar.bz2
	FormatConda                    // v2: <stem>.conda
)

// Package is what Wharf keeps of an uploaded conda package.
type Package struct {
	Filename    string
	Format      Format
	Name        string
	Version     string
	Build       string
	BuildNumber int64
	Subdir      string
	Timestamp   int64 // index.json "timestamp", 0 if absent

	// Index is info/index.json, every key kept with its raw value.
	Index map[string]json.RawMessage
	// About is info/about.json (nil if absent); RunExports is info/run_exports.json normalised
	// to an object ({"weak": [...]} for the old list form), nil if absent.
	About      json.RawMessage
	RunExports json.RawMessage
	// RecipeSource is what channeldata takes from the rendered recipe (info/recipe/meta.yaml):
	// its source's url and git_url, {"git_url":…,"url":…} with the keys the recipe has; {}
	// when there is no recipe, no source mapping, or nothing conda-index could read.
	RecipeSource json.RawMessage
	Flags        repodata.Flags
}
