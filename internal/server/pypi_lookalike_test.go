package server_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// lookalike is a wheel of project col-lide 1.0 whose filename spells the name as name, and
// whose content is told apart by content.
func lookalike(name, content string) pypitest.Spec {
	return pypitest.Spec{Name: name, Version: "1.0", Files: map[string][]byte{"col_lide/__init__.py": []byte(content + "\n")}}
}

// putAs uploads s's bytes under filename with the REST API (wharf upload).
func (e *env) putAs(channel, filename string, s pypitest.Spec) resp {
	e.t.Helper()
	return e.do("PUT", "/api/v1/channels/"+url.PathEscape(channel)+"/files/"+filename, admin, pypitest.Build(e.t, s))
}

// twineAs uploads s's bytes under filename as twine does.
func (e *env) twineAs(channel, filename string, s pypitest.Spec) resp {
	e.t.Helper()
	return twineUpload(e, "/pypi/"+channel+"/", admin, pypitest.Build(e.t, s), filename,
		map[string]string{"name": "col-lide", "version": "1.0", "filetype": "bdist_wheel", "pyversion": "py3"})
}

// TestPyPILookalikeFilenames (issue 12): Col_Lide-1.0-py3-none-any.whl, col_lide-…,
// col.lide-… and COL__lide-… are one distribution. The first upload is stored and listed
// under the canonical filename; another spelling with other bytes gets 409 naming the stored
// file, with the same bytes 200 and the stored file, on every upload path: the REST PUT
// (wharf upload), twine's POST, and a copy between channels.
func TestPyPILookalikeFilenames(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.createChannel("acme", false)
			const canonical = "col_lide-1.0-py3-none-any.whl"
			first := lookalike("Col_Lide", "first")
			r := e.putAs("acme", first.Filename(), first)
			var info struct {
				Filename string `json:"filename"`
				SHA256   string `json:"sha256"`
			}
			if r.status != 201 || json.Unmarshal(r.body, &info) != nil || info.Filename != canonical || !strings.HasSuffix(r.header.Get("Location"), "/"+canonical) {
				t.Fatalf("first upload of %s: %d %s (Location %q); want 201 as %s", first.Filename(), r.status, r.body, r.header.Get("Location"), canonical)
			}
			for _, name := range []string{"col_lide", "col.lide", "COL__lide", "Col.Lide"} {
				fn := name + "-1.0-py3-none-any.whl"
				other := lookalike(name, "other "+name)
				for path, up := range map[string]func(string, string, pypitest.Spec) resp{"PUT": e.putAs, "twine": e.twineAs} {
					if r := up("acme", fn, other); r.status != 409 || !strings.Contains(string(r.body), canonical) {
						t.Errorf("%s of %s with other bytes: %d %s; want 409 naming %s", path, fn, r.status, r.body, canonical)
					}
					r := up("acme", fn, first)
					if r.status != 200 || json.Unmarshal(r.body, &info) != nil || info.Filename != canonical {
						t.Errorf("%s of %s with the stored bytes: %d %s; want 200 and %s", path, fn, r.status, r.body, canonical)
					}
				}
			}
			// pip sees one file, under the canonical name, with the first upload's bytes.
			p, r := e.simple("/pypi/acme/simple/col-lide/", "")
			if r.status != 200 || len(p.Files) != 1 || p.Files[0].Filename != canonical || p.Files[0].Hashes["sha256"] != info.SHA256 {
				t.Fatalf("project page: %d %+v; want only %s", r.status, p.Files, canonical)
			}
			if dl := e.do("GET", "/pypi/acme/files/"+info.SHA256+"/"+canonical, "", nil); dl.status != 200 || string(dl.body) != string(pypitest.Build(t, first)) {
				t.Errorf("download of %s: %d", canonical, dl.status)
			}
			// An sdist: one per release, .tar.gz or .zip, whatever the spelling.
			sd := pypitest.Spec{Kind: pypitest.TarGz, Name: "Col.Lide", Version: "1.0"}
			if r := e.uploadDist(admin, "acme", sd); r.status != 201 || !strings.Contains(string(r.body), `"col_lide-1.0.tar.gz"`) {
				t.Errorf("sdist %s: %d %s; want 201 as col_lide-1.0.tar.gz", sd.Filename(), r.status, r.body)
			}
			zip := pypitest.Spec{Kind: pypitest.Zip, Name: "col-lide", Version: "1.0.0"}
			if r := twineUpload(e, "/pypi/acme/", admin, pypitest.Build(t, zip), zip.Filename(), map[string]string{"name": "col-lide", "version": "1.0.0", "filetype": "sdist"}); r.status != 409 ||
				!strings.Contains(string(r.body), "col_lide-1.0.tar.gz") {
				t.Errorf("a second sdist of the release (%s): %d %s; want 409 naming col_lide-1.0.tar.gz", zip.Filename(), r.status, r.body)
			}

			// Copies: into a channel that holds the distribution under another spelling of
			// its version with other bytes, 409 naming that file; into an empty one, the
			// canonical file.
			e.createChannel("staging", false)
			e.createChannel("prod", false)
			v100 := pypitest.Spec{Name: "col.lide", Version: "1.0.0", Files: map[string][]byte{"col_lide/__init__.py": []byte("staging\n")}}
			if r := e.uploadDist(admin, "staging", v100); r.status != 201 || !strings.Contains(string(r.body), `"col_lide-1.0.0-py3-none-any.whl"`) {
				t.Fatalf("upload to staging: %d %s", r.status, r.body)
			}
			copyTo := func(to string) resp {
				return e.do("POST", "/api/v1/channels/acme/copy", admin,
					[]byte(`{"files":[{"subdir":"pypi","filename":"`+canonical+`"}],"to_channel":"`+to+`","to_labels":["main"]}`), "Content-Type", "application/json")
			}
			if r := copyTo("staging"); r.status != 409 || !strings.Contains(string(r.body), "col_lide-1.0.0-py3-none-any.whl") {
				t.Errorf("copy onto a look-alike with other bytes: %d %s; want 409 naming col_lide-1.0.0-py3-none-any.whl", r.status, r.body)
			}
			if p, _ := e.simple("/pypi/staging/simple/col-lide/", ""); len(p.Files) != 1 || p.Files[0].Filename != "col_lide-1.0.0-py3-none-any.whl" {
				t.Errorf("staging after the refused copy: %+v", p.Files)
			}
			if r := copyTo("prod"); r.status != 200 || !strings.Contains(string(r.body), canonical) {
				t.Errorf("copy to an empty channel: %d %s", r.status, r.body)
			}
		})
	}
}

// TestPyPILookalikeRace: two spellings of one distribution with different bytes, uploaded at
// once (by twine and by wharf upload): one wins, the other gets 409, and pip sees one file.
func TestPyPILookalikeRace(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.createChannel("acme", false)
			for round := range 5 {
				v := "1." + string(rune('0'+round))
				a := pypitest.Spec{Name: "Col_Lide", Version: v, Files: map[string][]byte{"col_lide/a.py": []byte("a\n")}}
				c := pypitest.Spec{Name: "col.lide", Version: v, Files: map[string][]byte{"col_lide/c.py": []byte("c\n")}}
				var wg sync.WaitGroup
				var ra, rc resp
				wg.Add(2)
				go func() { defer wg.Done(); ra = e.uploadDist(admin, "acme", a) }()
				go func() {
					defer wg.Done()
					rc = twineUpload(e, "/pypi/acme/", admin, pypitest.Build(t, c), c.Filename(), map[string]string{"name": "col-lide", "version": v, "filetype": "bdist_wheel"})
				}()
				wg.Wait()
				if !(ra.status == 201 && rc.status == 409 || ra.status == 409 && rc.status == 201) {
					t.Errorf("round %d: %s got %d, %s got %d; want one 201 and one 409", round, a.Filename(), ra.status, c.Filename(), rc.status)
				}
			}
			p, r := e.simple("/pypi/acme/simple/col-lide/", "")
			if r.status != 200 || len(p.Files) != 5 {
				t.Errorf("project page: %d, %d files; want one per version", r.status, len(p.Files))
			}
		})
	}
}
