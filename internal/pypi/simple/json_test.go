package simple_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wharfhq/wharf/internal/pypi/simple"
)

const (
	shaWheel = "8d6ee2dbb1b0f8e7ff1f5b1c8a2f7b9c6e1f3f6a0b5d9c3e2a7f4b1c0d9e8f7a"
	shaSdist = "0b5d9c3e2a7f4b1c0d9e8f7a8d6ee2dbb1b0f8e7ff1f5b1c8a2f7b9c6e1f3f6a"
	shaMeta  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// demo is a project with one file of each shape the spec distinguishes.
func demo() simple.Project {
	cet := time.FixedZone("CET", 3600)
	return simple.Project{
		Name:     "demo-lib",
		Versions: []string{"0.1.0", "0.2.0", "0.3.0"},
		Files: []simple.File{
			{ // everything set, not yanked
				Filename: "demo_lib-0.3.0-py3-none-any.whl", URL: "../../files/" + shaWheel + "/demo_lib-0.3.0-py3-none-any.whl",
				SHA256: shaWheel, Size: 18234, RequiresPython: ">=3.9",
				UploadTime:     time.Date(2026, 5, 1, 11, 0, 0, 123456789, cet), // 10:00:00.123456Z
				MetadataSHA256: shaMeta,
			},
			{ // yanked with a reason, no metadata, no requires-python
				Filename: "demo_lib-0.2.0.tar.gz", URL: "../../files/" + shaSdist + "/demo_lib-0.2.0.tar.gz",
				SHA256: shaSdist, Size: 9001, Yanked: true, YankedReason: "broken build",
				UploadTime: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
			},
			{ // yanked without a reason; no hash, no upload time
				Filename: "demo_lib-0.1.0.tar.gz", URL: "../../files/x/demo_lib-0.1.0.tar.gz", Size: 0,
				Yanked: true,
			},
			{ // a reason without Yanked means not yanked
				Filename: "demo_lib-0.1.0-py3-none-any.whl", URL: "../../files/y/demo_lib-0.1.0-py3-none-any.whl",
				SHA256: shaWheel, Size: 1, YankedReason: "ignored",
				UploadTime: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
			},
		},
	}
}

func TestProjectJSONFollowsPEP691And700(t *testing.T) {
	m := decodeJSON(t, simple.ProjectPage(demo(), simple.JSON))

	keys(t, "page", m, "meta", "name", "versions", "files")
	meta := object(t, "meta", m["meta"])
	keys(t, "meta", meta, "api-version")
	str(t, "meta.api-version", meta["api-version"], "1.1")
	str(t, "name", m["name"], "demo-lib")
	versions := array(t, "versions", m["versions"])
	if diff := cmp.Diff([]any{"0.1.0", "0.2.0", "0.3.0"}, versions); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}

	files := array(t, "files", m["files"])
	if len(files) != 4 {
		t.Fatalf("files: got %d, want 4", len(files))
	}

	f := object(t, "files[0]", files[0])
	// PEP 714: core-metadata only; pip 22.3 to 23.0 crash on a dist-info-metadata key.
	keys(t, "files[0]", f, "filename", "url", "hashes", "requires-python", "core-metadata",
		"size", "upload-time", "yanked")
	str(t, "files[0].filename", f["filename"], "demo_lib-0.3.0-py3-none-any.whl")
	str(t, "files[0].url", f["url"], "../../files/"+shaWheel+"/demo_lib-0.3.0-py3-none-any.whl")
	hashes(t, "files[0].hashes", f["hashes"], shaWheel)
	str(t, "files[0].requires-python", f["requires-python"], ">=3.9")
	hashes(t, "files[0].core-metadata", f["core-metadata"], shaMeta)
	num(t, "files[0].size", f["size"], "18234")
	str(t, "files[0].upload-time", f["upload-time"], "2026-05-01T10:00:00.123456Z")
	boolean(t, "files[0].yanked", f["yanked"], false)

	f = object(t, "files[1]", files[1])
	keys(t, "files[1]", f, "filename", "url", "hashes", "size", "upload-time", "yanked")
	hashes(t, "files[1].hashes", f["hashes"], shaSdist)
	num(t, "files[1].size", f["size"], "9001")
	str(t, "files[1].upload-time", f["upload-time"], "2026-04-01T00:00:00.000000Z")
	str(t, "files[1].yanked", f["yanked"], "broken build")

	f = object(t, "files[2]", files[2])
	keys(t, "files[2]", f, "filename", "url", "hashes", "size", "yanked")
	hashes(t, "files[2].hashes", f["hashes"], "") // mandatory, may be empty
	num(t, "files[2].size", f["size"], "0")
	boolean(t, "files[2].yanked", f["yanked"], true)

	f = object(t, "files[3]", files[3])
	keys(t, "files[3]", f, "filename", "url", "hashes", "size", "upload-time", "yanked")
	str(t, "files[3].upload-time", f["upload-time"], "2026-01-02T03:04:05.000006Z")
	boolean(t, "files[3].yanked", f["yanked"], false)
}

func TestProjectJSONExactBytes(t *testing.T) {
	p := simple.Project{Name: "Demo_Lib", Files: []simple.File{{
		Filename: "demo_lib-1.0.tar.gz", URL: "../../files/ab/demo_lib-1.0.tar.gz", SHA256: "ab", Size: 3,
		UploadTime: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Yanked: true, YankedReason: "CVE <1>",
		RequiresPython: ">=3.9", MetadataSHA256: "cd",
	}}}
	want := `{"meta":{"api-version":"1.1"},"name":"demo-lib","versions":[],"files":[` +
		`{"filename":"demo_lib-1.0.tar.gz","url":"../../files/ab/demo_lib-1.0.tar.gz","hashes":{"sha256":"ab"},` +
		`"requires-python":"\u003e=3.9","core-metadata":{"sha256":"cd"},` +
		`"size":3,"upload-time":"2026-05-01T10:00:00.000000Z","yanked":"CVE \u003c1\u003e"}]}` + "\n"
	if got := string(simple.ProjectPage(p, simple.JSON)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestProjectJSONEmptyListsAreArrays(t *testing.T) {
	m := decodeJSON(t, simple.ProjectPage(simple.Project{Name: "empty"}, simple.JSON))
	if diff := cmp.Diff([]any{}, array(t, "versions", m["versions"])); diff != "" {
		t.Errorf("versions: %s", diff)
	}
	if diff := cmp.Diff([]any{}, array(t, "files", m["files"])); diff != "" {
		t.Errorf("files: %s", diff)
	}
}

func TestProjectJSONCarriesHostileStringsIntact(t *testing.T) {
	hostile := `a"b<c>d&e'f\g` + "\n\r\t\u2028\x00é"
	p := simple.Project{Name: "x", Versions: []string{hostile}, Files: []simple.File{{
		Filename: hostile, URL: "../../files/1/" + hostile, SHA256: hostile, RequiresPython: hostile,
		Yanked: true, YankedReason: hostile, MetadataSHA256: hostile,
	}}}
	m := decodeJSON(t, simple.ProjectPage(p, simple.JSON))
	f := object(t, "files[0]", array(t, "files", m["files"])[0])
	str(t, "versions[0]", array(t, "versions", m["versions"])[0], hostile)
	for _, k := range []string{"filename", "requires-python", "yanked"} {
		str(t, k, f[k], hostile)
	}
	str(t, "url", f["url"], "../../files/1/"+hostile)
	hashes(t, "hashes", f["hashes"], hostile)
	hashes(t, "core-metadata", f["core-metadata"], hostile)
}

func TestIndexJSON(t *testing.T) {
	got := simple.IndexPage([]string{"Zope.Interface", "demo_lib", "demo-lib", "A", "", "zope-interface"}, simple.JSON)
	want := `{"meta":{"api-version":"1.1"},"projects":[{"name":"a"},{"name":"demo-lib"},{"name":"zope-interface"}]}` + "\n"
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	m := decodeJSON(t, simple.IndexPage(nil, simple.JSON))
	keys(t, "index", m, "meta", "projects")
	if diff := cmp.Diff([]any{}, array(t, "projects", m["projects"])); diff != "" {
		t.Errorf("projects: %s", diff)
	}
}

func TestPagesAreByteStable(t *testing.T) {
	for _, f := range []simple.Format{simple.HTML, simple.JSON} {
		a, b := simple.ProjectPage(demo(), f), simple.ProjectPage(demo(), f)
		if !bytes.Equal(a, b) {
			t.Errorf("%v project page differs between two renderings", f)
		}
		names := []string{"b", "a", "c"}
		x := simple.IndexPage(names, f)
		slices.Reverse(names)
		if y := simple.IndexPage(names, f); !bytes.Equal(x, y) {
			t.Errorf("%v index depends on the order of its input", f)
		}
	}
}

// --- field checks ---

func keys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s keys (-want +got):\n%s", what, diff)
	}
}

func object(t *testing.T, what string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: got %T (%v), want an object", what, v, v)
	}
	return m
}

func array(t *testing.T, what string, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: got %T (%v), want an array", what, v, v)
	}
	return a
}

func str(t *testing.T, what string, v any, want string) {
	t.Helper()
	if s, ok := v.(string); !ok || s != want {
		t.Errorf("%s: got %T %#v, want string %q", what, v, v, want)
	}
}

func boolean(t *testing.T, what string, v any, want bool) {
	t.Helper()
	if b, ok := v.(bool); !ok || b != want {
		t.Errorf("%s: got %T %#v, want bool %v", what, v, v, want)
	}
}

func num(t *testing.T, what string, v any, want string) {
	t.Helper()
	if n, ok := v.(json.Number); !ok || n.String() != want {
		t.Errorf("%s: got %T %#v, want number %s", what, v, v, want)
	}
}

// hashes checks a hashes object: {"sha256": want}, or {} when want is "".
func hashes(t *testing.T, what string, v any, want string) {
	t.Helper()
	m := object(t, what, v)
	if want == "" {
		keys(t, what, m)
		return
	}
	keys(t, what, m, "sha256")
	str(t, what+".sha256", m["sha256"], want)
}
