package server_test

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

// A grant on a package names it in any spelling: the Python project Yankee_Lib, kept as
// yankee-lib (PEP 503), is reached by a grant on Yankee_Lib, yankee.lib or YANKEE-LIB, as is
// the conda package of that name lowercased (conda names are lowercase): yankee_lib for
// Yankee_Lib, and not the conda package yankee.lib, another package. Grants stored as typed by earlier versions work too. Through
// the API, with pip's view of the PyPI surface and conda's of repodata.
func TestPackageGrantsInAnySpelling(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.store(t)
			e := newEnv(t, backend{b.name, func(testing.TB) string { return dsn }, b.blobs})
			driver := "sqlite"
			if strings.HasPrefix(dsn, "postgres") {
				driver = "pgx"
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			e.users(alice, bob)
			e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
			e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme-py", "org": "acme", "private": true}, 201)
			e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
			e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
			for _, s := range []pypitest.Spec{{Name: "Yankee_Lib"}, {Name: "other-lib"}} {
				if r := e.uploadDist(alice, "acme-py", s); r.status != 201 {
					t.Fatalf("upload %s: %d %s", s.Name, r.status, r.body)
				}
			}
			condaFile := map[string]string{}
			for _, name := range []string{"yankee_lib", "yankee.lib"} {
				s := condatest.Spec{Name: name, Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"}
				if r := e.do("PUT", "/api/v1/channels/acme-py/files/"+s.Filename(), alice, condatest.Build(t, s)); r.status != 201 {
					t.Fatalf("upload %s: %d %s", s.Filename(), r.status, r.body)
				}
				condaFile[name] = s.Filename()
			}

			// What bob gets: the PyPI project (index, page, a file) and each conda package.
			type view struct {
				index, project, file bool
				web, webList         bool // the package's page, and the channel's page listing it
				conda                map[string]bool
			}
			browser := e.signedIn("bob", "bob-is-a-developer")
			look := func() view {
				t.Helper()
				var v view
				v.web = browser.get("/channels/acme-py/packages/yankee-lib").status == 200
				v.webList = strings.Contains(string(browser.get("/channels/acme-py").body), `href="/channels/acme-py/packages/yankee-lib"`)
				idx, _ := e.simple("/pypi/acme-py/simple/", bob)
				for _, p := range idx.Projects {
					v.index = v.index || p.Name == "yankee-lib"
					if p.Name == "other-lib" {
						t.Errorf("bob's index lists other-lib, which no grant names")
					}
				}
				page, r := e.simple("/pypi/acme-py/simple/yankee-lib/", bob)
				v.project = r.status == 200
				if v.project && len(page.Files) == 1 {
					v.file = e.do("GET", strings.TrimPrefix(resolve(e.srv.URL+"/pypi/acme-py/simple/yankee-lib/", page.Files[0].URL), e.srv.URL), bob, nil).status == 200
				}
				v.conda = map[string]bool{}
				rd := e.do("GET", "/conda/acme-py/noarch/repodata.json", bob, nil)
				for name, fn := range condaFile {
					listed := strings.Contains(string(rd.body), `"`+fn+`"`)
					got := e.do("GET", "/conda/acme-py/noarch/"+fn, bob, nil).status == 200
					if listed != got {
						t.Errorf("conda %s: listed %v, downloaded %v", name, listed, got)
					}
					v.conda[name] = got
				}
				return v
			}
			// want: the PyPI project read or not, and the one conda package read ("" none).
			want := func(state string, got view, pypi bool, conda string) {
				t.Helper()
				if got.index != pypi || got.project != pypi || got.file != pypi || got.web != pypi || got.webList != pypi {
					t.Errorf("%s: bob's view of the project yankee-lib: index %v, page %v, file %v, web page %v, on the channel's page %v; want %v",
						state, got.index, got.project, got.file, got.web, got.webList, pypi)
				}
				for name, read := range got.conda {
					if read != (name == conda) {
						t.Errorf("%s: bob reads conda %s: %v", state, name, read)
					}
				}
			}

			// A grant as an earlier version stored it: as typed.
			e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-py", "package": "Yankee_Lib", "level": "read"}, 200)
			if _, err := db.Exec(`UPDATE grants SET package = 'Yankee_Lib' WHERE package <> ''`); err != nil {
				t.Fatal(err)
			}
			want("a grant stored as Yankee_Lib", look(), true, "yankee_lib")

			// Taken away in another spelling of it.
			e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/grants?channel=acme-py&package=YANKEE_LIB", alice, nil, 204)
			want("no grant", look(), false, "")

			for _, spelling := range []string{"Yankee_Lib", "yankee.lib", "YANKEE-LIB"} {
				var groups []struct{ Grants []struct{ Package string } }
				e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme-py", "package": spelling, "level": "read"}, 200).json(t, &groups)
				// Kept lowercase: both kinds' names ignore case.
				if len(groups) != 1 || len(groups[0].Grants) != 1 || groups[0].Grants[0].Package != strings.ToLower(spelling) {
					t.Errorf("grant on %s: groups %+v", spelling, groups)
				}
				// The conda package of that name (lowercase), if there is one.
				conda := map[string]string{"yankee_lib": "yankee_lib", "yankee.lib": "yankee.lib"}[strings.ToLower(spelling)]
				want("a grant on "+spelling, look(), true, conda)
				e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/grants?"+url.Values{"channel": {"acme-py"}, "package": {spelling}}.Encode(), alice, nil, 204)
			}
			want("every grant taken away", look(), false, "")
		})
	}
}
