package server_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

const jsonAccept = "application/vnd.pypi.simple.v1+json"

type simpleJSON struct {
	Meta     map[string]any `json:"meta"`
	Name     string         `json:"name"`
	Versions []string       `json:"versions"`
	Files    []struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython string            `json:"requires-python"`
		CoreMetadata   map[string]string `json:"core-metadata"`
		Size           int64             `json:"size"`
		Yanked         any               `json:"yanked"`
	} `json:"files"`
	Projects []struct{ Name string } `json:"projects"`
}

func (e *env) simple(path, auth string) (simpleJSON, resp) {
	e.t.Helper()
	r := e.do("GET", path, auth, nil, "Accept", jsonAccept)
	var out simpleJSON
	if r.status == 200 {
		r.json(e.t, &out)
	}
	return out, r
}

func (e *env) uploadDist(auth, channel string, s pypitest.Spec) resp {
	e.t.Helper()
	return e.do("PUT", "/api/v1/channels/"+url.PathEscape(channel)+"/files/"+s.Filename(), auth, pypitest.Build(e.t, s))
}

// resolve makes a page-relative URL absolute, as pip does.
func resolve(page, ref string) string {
	u, _ := url.Parse(page)
	r, _ := url.Parse(ref)
	return u.ResolveReference(r).String()
}

func TestPyPISimpleAPI(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	whl := pypitest.Spec{Name: "demo-lib", Version: "1.0", Fields: []string{"Requires-Python: >=3.9", "Summary: A demo"}}
	sd := pypitest.Spec{Kind: pypitest.TarGz, Name: "demo-lib", Version: "1.0"}
	w2 := pypitest.Spec{Name: "demo-lib", Version: "2.0rc1"}
	for _, s := range []pypitest.Spec{whl, sd, w2} {
		if r := e.uploadDist(admin, "acme", s); r.status != 201 {
			t.Fatalf("upload %s: %d %s", s.Filename(), r.status, r.body)
		}
	}
	if r := e.uploadDist(admin, "acme", whl); r.status != 200 {
		t.Errorf("same bytes again: %d, want 200", r.status)
	}
	other := whl
	other.Fields = append(other.Fields, "Keywords: changed")
	if r := e.uploadDist(admin, "acme", other); r.status != 409 {
		t.Errorf("other bytes under the name: %d, want 409", r.status)
	}

	idx, r := e.simple("/pypi/acme/simple/", "")
	if r.status != 200 || len(idx.Projects) != 1 || idx.Projects[0].Name != "demo-lib" || r.header.Get("Content-Type") != jsonAccept {
		t.Fatalf("index: %d %s %v", r.status, r.body, r.header)
	}
	page := "/pypi/acme/simple/demo-lib/"
	p, r := e.simple(page, "")
	if r.status != 200 || !strings.Contains(r.header.Get("Vary"), "Accept") {
		t.Fatalf("project page: %d %s", r.status, r.body)
	}
	if p.Name != "demo-lib" || strings.Join(p.Versions, ",") != "1.0,2.0rc1" || len(p.Files) != 3 || p.Meta["api-version"] != "1.1" {
		t.Errorf("project = %+v", p)
	}
	for _, f := range p.Files {
		abs := resolve(e.srv.URL+page, f.URL)
		if !strings.HasPrefix(f.URL, "../../files/") {
			t.Errorf("%s: URL %q is not relative", f.Filename, f.URL)
		}
		res := e.do("GET", strings.TrimPrefix(abs, e.srv.URL), "", nil)
		sum := sha256.Sum256(res.body)
		if res.status != 200 || hex.EncodeToString(sum[:]) != f.Hashes["sha256"] || int64(len(res.body)) != f.Size {
			t.Errorf("%s: download %d, hash or size differs from the page", f.Filename, res.status)
		}
		md := e.do("GET", strings.TrimPrefix(abs, e.srv.URL)+".metadata", "", nil)
		msum := sha256.Sum256(md.body)
		if md.status != 200 || hex.EncodeToString(msum[:]) != f.CoreMetadata["sha256"] || !bytes.HasPrefix(md.body, []byte("Metadata-Version:")) {
			t.Errorf("%s: metadata %d, hash %v", f.Filename, md.status, f.CoreMetadata)
		}
		if f.Yanked != false {
			t.Errorf("%s: yanked %v", f.Filename, f.Yanked)
		}
	}
	if p.Files[0].RequiresPython != ">=3.9" {
		t.Errorf("requires-python = %q", p.Files[0].RequiresPython)
	}

	// HTML for pip's Accept, with text/html.
	h := e.do("GET", page, "", nil, "Accept", "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
	if h.status != 200 || !strings.HasPrefix(h.header.Get("Content-Type"), "text/html") || !bytes.Contains(h.body, []byte("#sha256=")) ||
		!bytes.Contains(h.body, []byte(`data-requires-python="&gt;=3.9"`)) || !bytes.Contains(h.body, []byte("pypi:repository-version")) {
		t.Errorf("HTML page: %d %v %s", h.status, h.header, h.body)
	}
	// Names are normalized; other spellings and the slashless URL redirect, relatively.
	for from, to := range map[string]string{"/pypi/acme/simple/Demo_Lib/": "../demo-lib/", "/pypi/acme/simple/demo-lib": "demo-lib/", "/pypi/acme/simple": "simple/"} {
		client := *e.srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := client.Get(e.srv.URL + from)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 301 || res.Header.Get("Location") != to {
			t.Errorf("GET %s: %d Location %q, want 301 %q", from, res.StatusCode, res.Header.Get("Location"), to)
		}
	}
	e.mustDo("GET", "/pypi/acme/simple/nope/", "", nil, 404)
	if r := e.do("GET", page, "", nil, "Accept", "application/json"); r.status != 406 {
		t.Errorf("Accept application/json only: %d, want 406", r.status)
	}
	// A file URL with the wrong hash is not the file.
	e.mustDo("GET", "/pypi/acme/files/"+strings.Repeat("0", 64)+"/"+whl.Filename(), "", nil, 404)

	// Yank a release, then unyank one file.
	// 1.0.0 is the release 1.0.
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0.0", admin, map[string]any{"yanked": true, "reason": "broken <build>"}, 200)
	e.mustDo("PATCH", "/api/v1/channels/acme/files/pypi/"+sd.Filename(), admin, map[string]any{"yanked": false}, 200)
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0", "", map[string]any{"yanked": true}, 401)
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/9.0", admin, map[string]any{"yanked": true}, 404)
	// Any spelling of the project; the API shows the yank on the file too.
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/Demo_Lib/releases/1.0", admin, map[string]any{"yanked": true, "reason": "broken <build>"}, 200)
	var fi struct {
		Yanked       bool   `json:"yanked"`
		YankedReason string `json:"yanked_reason"`
	}
	e.mustDo("GET", "/api/v1/channels/acme/files/pypi/"+whl.Filename(), admin, nil, 200).json(t, &fi)
	if !fi.Yanked || fi.YankedReason != "broken <build>" {
		t.Errorf("file info after a yank: %+v", fi)
	}
	// A token that may only upload may not yank: refused, not hidden.
	upTok := e.newToken(admin, map[string]any{"name": "up", "scopes": []string{"pypi:upload"}})
	if r := e.asToken("PATCH", "/api/v1/channels/acme/packages/demo-lib/releases/1.0", upTok, []byte(`{"yanked":false}`), "Content-Type", "application/json"); r.status != 403 {
		t.Errorf("pypi:upload token yanking: %d, want 403", r.status)
	}
	e.mustDo("PATCH", "/api/v1/channels/acme/files/pypi/"+sd.Filename(), admin, map[string]any{"yanked": false}, 200)
	p, _ = e.simple(page, "")
	got := map[string]any{}
	for _, f := range p.Files {
		got[f.Filename] = f.Yanked
	}
	if got[whl.Filename()] != "broken <build>" || got[sd.Filename()] != false || got[w2.Filename()] != false {
		t.Errorf("yanked = %v", got)
	}
	// Python files move between labels like conda packages: off main, out of the index.
	e.mustDo("POST", "/api/v1/channels/acme/copy", admin, map[string]any{"files": []map[string]string{{"subdir": "pypi", "filename": w2.Filename()}},
		"from_label": "main", "to_labels": []string{"dev"}, "move": true}, 200)
	if p, _ := e.simple(page, ""); len(p.Files) != 2 {
		t.Errorf("after moving a file off main the page lists %d files, want 2", len(p.Files))
	}
	e.mustDo("POST", "/api/v1/channels/acme/copy", admin, map[string]any{"files": []map[string]string{{"subdir": "pypi", "filename": w2.Filename()}},
		"to_labels": []string{"main"}}, 200)
	// Removed, then back only with the same bytes.
	e.mustDo("DELETE", "/api/v1/channels/acme/files/pypi/"+w2.Filename(), admin, nil, 204)
	w2b := w2
	w2b.Fields = []string{"Summary: other"}
	if r := e.uploadDist(admin, "acme", w2b); r.status != 409 {
		t.Errorf("removed filename with other bytes: %d, want 409", r.status)
	}
}

// twineUpload posts a distribution as twine does.
func twineUpload(e *env, path, auth string, data []byte, filename string, fields map[string]string) resp {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	sum := sha256.Sum256(data)
	b2 := blake2b.Sum256(data)
	m5 := md5.Sum(data)
	base := map[string]string{":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
		"sha256_digest": hex.EncodeToString(sum[:]), "blake2_256_digest": hex.EncodeToString(b2[:]), "md5_digest": hex.EncodeToString(m5[:])}
	for k, v := range fields {
		base[k] = v
	}
	for k, v := range base {
		if v != "" {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("content", filename)
	fw.Write(data)
	mw.Close()
	return e.do("POST", path, auth, body.Bytes(), "Content-Type", mw.FormDataContentType())
}

func TestTwineStyleUpload(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(bob)
	e.createChannel("acme", false)
	s := pypitest.Spec{Name: "tw-demo", Version: "0.1"}
	data := pypitest.Build(t, s)
	fields := map[string]string{"name": "tw-demo", "version": "0.1", "filetype": "bdist_wheel", "pyversion": "py3"}
	if r := twineUpload(e, "/pypi/acme/", admin, data, s.Filename(), fields); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := twineUpload(e, "/pypi/acme/", admin, data, s.Filename(), fields); r.status != 200 {
		t.Errorf("same file again: %d, want 200", r.status)
	}
	other := pypitest.Build(t, pypitest.Spec{Name: "tw-demo", Version: "0.1", Fields: []string{"Summary: x"}})
	if r := twineUpload(e, "/pypi/acme/", admin, other, s.Filename(), fields); r.status != 409 {
		t.Errorf("other bytes: %d, want 409 (twine --skip-existing understands it)", r.status)
	}
	bad := map[string]string{"sha256_digest": strings.Repeat("ab", 32)}
	for k, v := range fields {
		bad[k] = v
	}
	s2 := pypitest.Spec{Name: "tw-demo", Version: "0.2"}
	if r := twineUpload(e, "/pypi/acme/", admin, pypitest.Build(t, s2), s2.Filename(), bad); r.status != 400 || !strings.Contains(string(r.body), "sha256_digest") {
		t.Errorf("wrong digest: %d %s", r.status, r.body)
	}
	if r := twineUpload(e, "/pypi/acme/", "", pypitest.Build(t, s2), s2.Filename(), fields); r.status != 401 {
		t.Errorf("anonymous upload: %d, want 401", r.status)
	}
	mismatch := map[string]string{"name": "someone-else", "version": "0.2"}
	if r := twineUpload(e, "/pypi/acme/", admin, pypitest.Build(t, s2), s2.Filename(), mismatch); r.status != 400 || !strings.Contains(string(r.body), "someone-else") {
		t.Errorf("form naming another project: %d %s", r.status, r.body)
	}
	if r := twineUpload(e, "/pypi/acme/", bob, pypitest.Build(t, s2), s2.Filename(), fields); r.status != 403 {
		t.Errorf("stranger's upload: %d, want 403", r.status)
	}
	// The repository URL never redirects, with or without /simple/ or the trailing slash.
	for _, p := range []string{"/pypi/acme", "/pypi/acme/simple/"} {
		s3 := pypitest.Spec{Name: "tw-demo", Version: "0.3" + map[string]string{"/pypi/acme": "", "/pypi/acme/simple/": ".1"}[p]}
		if r := twineUpload(e, p, admin, pypitest.Build(t, s3), s3.Filename(), map[string]string{"name": "tw-demo", "version": s3.Version}); r.status != 201 {
			t.Errorf("POST %s: %d %s", p, r.status, r.body)
		}
	}
	if got := e.do("GET", "/pypi/acme/simple/", "", nil, "Accept", jsonAccept); !strings.Contains(string(got.body), "tw-demo") {
		t.Errorf("index after uploads: %s", got.body)
	}
}

func TestPyPIPrivacy(t *testing.T) {
	e := tokenEnv(t)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-py", "org": "acme"}, 201)
	for _, s := range []pypitest.Spec{{Name: "open-lib"}, {Name: "secret-lib"}} {
		if r := e.uploadDist(alice, "acme-py", s); r.status != 201 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
	}
	e.mustDo("PATCH", "/api/v1/channels/acme-py/packages/secret-lib", alice, map[string]bool{"private": true}, 200)
	idx, _ := e.simple("/pypi/acme-py/simple/", "")
	if len(idx.Projects) != 1 || idx.Projects[0].Name != "open-lib" {
		t.Errorf("anonymous index: %+v", idx.Projects)
	}
	e.mustDo("GET", "/pypi/acme-py/simple/secret-lib/", "", nil, 404)
	e.mustDo("GET", "/pypi/acme-py/simple/secret-lib/", alice, nil, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-py", "package": "secret-lib", "level": "read"}, 200)
	if _, r := e.simple("/pypi/acme-py/simple/secret-lib/", bob); r.status != 200 {
		t.Errorf("member with a package grant: %d", r.status)
	}
	// Tokens: pypi:download reads, conda:download does not.
	tok := e.newToken(bob, map[string]any{"name": "pip", "scopes": []string{"pypi:download"}})
	if r := e.do("GET", "/t/"+tok+"/pypi/acme-py/simple/secret-lib/", "", nil); r.status != 200 {
		t.Errorf("pypi:download token under /t/: %d", r.status)
	}
	ctok := e.newToken(bob, map[string]any{"name": "conda-only", "scopes": []string{"conda:download"}})
	if r := e.do("GET", "/t/"+ctok+"/pypi/acme-py/simple/secret-lib/", "", nil); r.status != 403 {
		t.Errorf("conda:download token on PyPI: %d, want 403", r.status)
	}
	// A private channel's index is not there for strangers.
	if r := e.uploadDist(alice, "acme-private", pypitest.Spec{Name: "inner"}); r.status != 201 {
		t.Fatal(r.status)
	}
	e.mustDo("GET", "/pypi/acme-private/simple/inner/", eve, nil, 401) // eve is not a user here
	e.users(eve)
	e.mustDo("GET", "/pypi/acme-private/simple/inner/", eve, nil, 404)
	e.mustDo("GET", "/pypi/acme-private/simple/inner/", bob, nil, 200)
}

func TestPyPIBadUploads(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	for _, c := range []struct {
		name string
		spec pypitest.Spec
		says string
	}{
		{"metadata names another project", pypitest.Spec{Name: "demo", MetaName: "other"}, "other"},
		{"version not PEP 440", pypitest.Spec{Name: "demo", Version: "2010i"}, "version"},
		{"path traversal", pypitest.Spec{Name: "demo", Entries: []pypitest.Entry{{Name: "../evil.py", Data: []byte("x")}}}, ".."},
		{"huge METADATA", pypitest.Spec{Name: "demo", Description: strings.Repeat("x", 10<<20)}, "METADATA"},
		{"zip bomb", pypitest.Spec{Name: "demo", Entries: []pypitest.Entry{{Name: "demo/big.bin", Zeros: 1 << 30}}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.uploadDist(admin, "acme", c.spec)
			if r.status != 400 || !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(c.says)) {
				t.Errorf("%d %s; want 400 saying %q", r.status, r.body, c.says)
			}
		})
	}
	if r := e.do("PUT", "/api/v1/channels/acme/files/demo-1.0-py3-none-any.whl", admin, []byte("not a zip at all")); r.status != 400 {
		t.Errorf("not a zip: %d %s", r.status, r.body)
	}
	if idx, _ := e.simple("/pypi/acme/simple/", ""); len(idx.Projects) != 0 {
		t.Errorf("refused uploads left projects: %+v", idx.Projects)
	}
}

// The real distributions of the shared fixtures (pip's test data) over HTTP.
func TestPyPIFixtures(t *testing.T) {
	dir := os.Getenv("WHARF_FIXTURES")
	if dir == "" {
		t.Skip("WHARF_FIXTURES is not set: the shared fixtures are not available")
	}
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	broken := map[string]string{
		"corruptwheel-1.0-py2.py3-none-any.whl":  "zip",
		"brokenwheel-1.0-py2.py3-none-any.whl":   "simple.dist",
		"invalid_version-2010i-py3-none-any.whl": "version",
		"simple.dist-0.1-py1-none-invalid.whl":   "",
	}
	files, _ := filepath.Glob(filepath.Join(dir, "pypi", "*"))
	valid := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := e.do("PUT", "/api/v1/channels/acme/files/"+url.PathEscape(name), admin, data)
		if says, bad := broken[name]; bad {
			if r.status != 400 || !strings.Contains(strings.ToLower(string(r.body)), says) {
				t.Errorf("%s: %d %s; want 400 saying %q", name, r.status, r.body, says)
			}
			continue
		}
		if r.status != 201 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
			continue
		}
		var fi struct{ Package, Version string }
		json.Unmarshal(r.body, &fi)
		valid[fi.Package] = true
	}
	idx, _ := e.simple("/pypi/acme/simple/", "")
	var names []string
	for _, p := range idx.Projects {
		names = append(names, p.Name)
	}
	for _, want := range []string{"simplewheel", "simple", "upper", "translationstring", "colander", "has-script", "meta", "pkg-prerelease", "requires-simple-extra", "simple-namespace"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("project %s is not listed: %v", want, names)
		}
	}
	p, _ := e.simple("/pypi/acme/simple/simplewheel/", "")
	if strings.Join(p.Versions, ",") != "1.0,2.0" || len(p.Files) != 4 {
		t.Errorf("simplewheel = %v, %d files", p.Versions, len(p.Files))
	}
	up, _ := e.simple("/pypi/acme/simple/upper/", "")
	if strings.Join(up.Versions, ",") != "1.0,2.0" {
		t.Errorf("Upper = %v", up.Versions)
	}
	_ = io.Discard
}

// An Accept header sent as several lines is read whole: the JSON line is not lost behind the
// first.
func TestPyPIAcceptOnSeveralLines(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	if r := e.uploadDist(admin, "acme", pypitest.Spec{Name: "demo-lib", Version: "1.0"}); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/pypi/acme/simple/demo-lib/", nil)
	req.Header.Add("Accept", "text/html;q=0.1")
	req.Header.Add("Accept", "application/vnd.pypi.simple.v1+json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.pypi.simple.v1+json" {
		t.Errorf("Content-Type = %q, want the JSON the second line prefers", ct)
	}
}
