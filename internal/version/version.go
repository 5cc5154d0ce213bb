// Package version says which Wharf this is: its version, the commit it was built from and
// the Go that built it. The wharf command, GET /api/v1/version and the web pages' footer all
// read it here.
//
// The values come from the build information Go records in the binary (the module's version
// for `go install …@v1.2.3`, the VCS revision for a build in a git checkout); a release build
// may set them instead:
//
//	go build -ldflags "-X github.com/wharfhq/wharf/internal/version.version=1.2.3 -X github.com/wharfhq/wharf/internal/version.commit=$(git rev-parse HEAD)" ./cmd/wharf
package version

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/wharfhq/wharf/internal/api"
)

// Set with -ldflags -X; they win over the build information.
var version, commit string

// Get is this binary's version.
var Get = sync.OnceValue(func() api.VersionInfo { return fromBuild(debug.ReadBuildInfo()) })

// fromBuild reads the build information (ok false: none, as in some test binaries).
func fromBuild(bi *debug.BuildInfo, ok bool) api.VersionInfo {
	v := api.VersionInfo{Version: "devel", Go: runtime.Version()}
	if ok {
		if m := bi.Main.Version; m != "" && m != "(devel)" {
			v.Version = m
		}
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		v.Version = version
	}
	if commit != "" {
		v.Commit, v.Modified = commit, false
	}
	return v
}

// String is the version in one line: "wharf 1.2.3 (commit 0123456789ab, go1.26.1)".
func String() string { return Describe(Get()) }

// Describe says v in one line, as String does.
func Describe(v api.VersionInfo) string {
	c := v.Commit
	switch {
	case c == "":
		c = "unknown commit"
	case len(c) > 12:
		c = "commit " + c[:12]
	default:
		c = "commit " + c
	}
	if v.Modified {
		c += " with local changes"
	}
	return "wharf " + v.Version + " (" + c + ", " + v.Go + ")"
}
