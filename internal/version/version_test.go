package version

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/api"
)

func TestFromBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	got := fromBuild(bi, true)
	if want := (api.VersionInfo{Version: "v1.2.3", Commit: "0123456789abcdef0123", Modified: true, Go: "go1.26.1"}); got != want {
		t.Errorf("fromBuild = %+v, want %+v", got, want)
	}
	if s := Describe(got); s != "wharf v1.2.3 (commit 0123456789ab with local changes, go1.26.1)" {
		t.Errorf("Describe = %q", s)
	}
	dev := fromBuild(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true)
	if dev.Version != "devel" || dev.Commit != "" || !strings.HasPrefix(dev.Go, "go") {
		t.Errorf("a source build: %+v", dev)
	}
	if s := Describe(dev); !strings.Contains(s, "unknown commit") {
		t.Errorf("Describe = %q", s)
	}

	// -ldflags -X wins.
	version, commit = "1.4.0", "feedface"
	t.Cleanup(func() { version, commit = "", "" })
	if v := fromBuild(bi, true); v.Version != "1.4.0" || v.Commit != "feedface" || v.Modified {
		t.Errorf("with -X: %+v", v)
	}
}
