package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/store"
)

// The people of the browsing tests. olivia owns the channels harbor (public, with the private
// package hushed) and vault (private), and the org acme with its private channel acme-intern,
// where the group readers (ben) may read, and the group pkgmgr (dora) may manage the package
// one but not two. carl is a stranger to all of it.
const (
	bwOlivia = "olivia:harbor-master-pass"
	bwBen    = "ben:reads-the-intern-channel"
	bwDora   = "dora:manages-one-package"
	bwCarl   = "carl:a-stranger-here"
)

type browseEnv struct {
	*env
	demo, wheel []byte
}

func newBrowseEnv(t *testing.T, b backend) *browseEnv {
	e := newEnv(t, b)
	e.users(bwOlivia, bwBen, bwDora, bwCarl)
	e.mustDo("POST", "/api/v1/channels", bwOlivia, map[string]any{"name": "harbor"}, 201)
	e.mustDo("POST", "/api/v1/channels", bwOlivia, map[string]any{"name": "vault", "private": true}, 201)
	e.mustDo("POST", "/api/v1/orgs", bwOlivia, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/channels", bwOlivia, map[string]any{"name": "acme-intern", "org": "acme", "private": true}, 201)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", bwOlivia, map[string]string{"name": "readers"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/readers/members/ben", bwOlivia, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/readers/grants", bwOlivia, map[string]string{"channel": "acme-intern", "level": "read"}, 200)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", bwOlivia, map[string]string{"name": "pkgmgr"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/pkgmgr/members/dora", bwOlivia, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/pkgmgr/grants", bwOlivia, map[string]string{"channel": "acme-intern", "package": "one", "level": "manage"}, 200)

	demo := condatest.Spec{Name: "demo", Version: "1.2.0", Build: "py_0", Subdir: "noarch", Depends: []string{"python >=3.9", "numpy"}}
	be := &browseEnv{env: e}
	be.demo = e.mustUpload("harbor", demo)
	e.mustUpload("harbor", condatest.Spec{Name: "demo", Version: "1.10.0", Build: "py_0", Subdir: "noarch"})
	e.mustUpload("harbor", condatest.Spec{Name: "hushed", Version: "0.1", Subdir: "linux-64"})
	e.mustDo("PATCH", "/api/v1/channels/harbor/packages/hushed", bwOlivia, map[string]any{"private": true}, 200)
	whl := pypitest.Spec{Name: "wheely", Version: "2.0", Fields: []string{"Requires-Dist: requests>=2.31", "Requires-Python: >=3.10", "Summary: Rolls along"}}
	be.wheel = pypitest.Build(t, whl)
	if r := e.do("PUT", "/api/v1/channels/harbor/files/"+whl.Filename(), admin, be.wheel); r.status != 201 {
		t.Fatalf("upload wheel: %d %s", r.status, r.body)
	}
	e.mustUpload("vault", condatest.Spec{Name: "locked", Version: "3.0", Subdir: "noarch"})
	e.mustUpload("acme-intern", condatest.Spec{Name: "one", Version: "1.0", Subdir: "noarch"})
	e.mustUpload("acme-intern", condatest.Spec{Name: "two", Version: "1.0", Subdir: "noarch"})
	if r := e.do("PUT", "/api/v1/channels/acme-intern/files/"+pypitest.Spec{Name: "pyintern"}.Filename(), admin, pypitest.Build(t, pypitest.Spec{Name: "pyintern"})); r.status != 201 {
		t.Fatalf("upload wheel: %d %s", r.status, r.body)
	}
	return be
}

func (e *browseEnv) as(creds string) *webClient {
	name, pw, _ := strings.Cut(creds, ":")
	return e.signedIn(name, pw)
}

func (e *browseEnv) packagePrivate(channel, pkg string) bool {
	e.t.Helper()
	ch, err := e.store.ChannelByName(context.Background(), channel)
	if err != nil {
		e.t.Fatal(err)
	}
	priv, err := e.store.PackagePrivacy(context.Background(), ch.ID, pkg)
	if err != nil {
		e.t.Fatal(err)
	}
	return priv
}

// page GETs a page that must be there.
func (w *webClient) bwPage(path string) string {
	w.t.Helper()
	r := w.get(path)
	if r.status != http.StatusOK {
		w.t.Fatalf("GET %s: %d %s", path, r.status, r.text())
	}
	return r.text()
}

func bwHas(t *testing.T, who, page, text string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(text, s) {
			t.Errorf("%s on %s: %q missing from the page:\n%s", who, page, s, text)
		}
	}
}

func bwLacks(t *testing.T, who, page, text string, unwanted ...string) {
	t.Helper()
	for _, s := range unwanted {
		if strings.Contains(text, s) {
			t.Errorf("%s on %s: the page shows %q:\n%s", who, page, s, text)
		}
	}
}

func TestWebDashboardShowsEachViewerTheirs(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			private := []string{"vault", "hushed", "acme-intern", "locked", "pyintern"}

			text := e.browser().bwPage("/")
			bwHas(t, "a visitor", "/", text, "Sign in", "harbor", "demo", "wheely", "olivia")
			bwLacks(t, "a visitor", "/", text, private...)

			text = e.as(bwOlivia).bwPage("/")
			bwHas(t, "olivia", "/", text, "Dashboard", "harbor", "vault", "acme-intern", "organization acme (owner)", "acme (owner)",
				"hushed", "locked", "one", "pyintern", "Create a channel")
			if !strings.Contains(text, "yours") {
				t.Errorf("olivia's channels are not marked as hers: %s", text)
			}

			text = e.as(bwBen).bwPage("/")
			bwHas(t, "ben", "/", text, "acme-intern", "organization acme, group grant: read", "acme (member)", "one", "two", "pyintern", "harbor", "demo")
			bwLacks(t, "ben", "/", text, "vault", "hushed", "locked")

			text = e.as(bwDora).bwPage("/")
			bwHas(t, "dora", "/", text, "acme-intern", "organization acme, group grant on packages", "one")
			bwLacks(t, "dora", "/", text, "vault", "hushed", "locked", "two", "pyintern")

			text = e.as(bwCarl).bwPage("/")
			bwHas(t, "carl", "/", text, "carl public yours", "harbor", "demo")
			bwLacks(t, "carl", "/", text, private...)
			// The owner select offers carl himself only; olivia's orgs she owns too.
			if r := e.as(bwCarl).get("/"); strings.Contains(string(r.body), `value="acme"`) {
				t.Error("carl may create channels in acme")
			}
			if r := e.as(bwOlivia).get("/"); !strings.Contains(string(r.body), `<option value="acme">`) {
				t.Error("olivia is not offered acme as an owner")
			}

			// A user's page: the channels the viewer may see.
			text = e.browser().bwPage("/users/olivia")
			bwHas(t, "a visitor", "/users/olivia", text, "harbor")
			bwLacks(t, "a visitor", "/users/olivia", text, "vault")
			bwHas(t, "olivia", "/users/olivia", e.as(bwOlivia).bwPage("/users/olivia"), "harbor", "vault")
			if r := e.browser().get("/users/nobody-here"); r.status != http.StatusNotFound {
				t.Errorf("a missing user: %d", r.status)
			}
			// A name from before the naming rules (the first administrator's) has its page
			// too: uploads and member lists link to it.
			if r := e.browser().get("/users/admin"); r.status != http.StatusOK {
				t.Errorf("/users/admin: %d", r.status)
			}
		})
	}
}

func TestWebChannelPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			e.mustDo("POST", "/api/v1/channels", bwOlivia, map[string]any{"name": "harbor/dev"}, 201)
			e.mustDo("POST", "/api/v1/channels", bwOlivia, map[string]any{"name": "harbor/closed", "private": true}, 201)

			r := e.browser().get("/channels/harbor")
			text := r.text()
			bwHas(t, "a visitor", "harbor", text, "demo", "conda", "1.10.0", "wheely", "pypi", "2.0", "harbor/dev", "main", "noarch",
				"conda install -c https://wharf.example.com/conda/harbor PACKAGE", "pip install --index-url https://wharf.example.com/pypi/harbor/simple/ PACKAGE")
			bwLacks(t, "a visitor", "harbor", text, "hushed", "linux-64", "harbor/closed", "<TOKEN>", "Settings", "History", "Package access")
			if !strings.Contains(string(r.body), `href="/channels/harbor%2Fdev"`) || !strings.Contains(string(r.body), `href="/channels/harbor/packages/demo"`) {
				t.Errorf("links of the channel page: %s", r.body)
			}
			// Label counts do not count the private package's file: main holds 2 conda files and 1 wheel for visitors.
			if !strings.Contains(text, "main 3") {
				t.Errorf("a visitor's label counts: %s", text)
			}
			text = e.as(bwOlivia).bwPage("/channels/harbor")
			bwHas(t, "olivia", "harbor", text, "hushed", "private", "linux-64", "harbor/closed", "Settings", "History", "Package access", "main 4")

			// The subchannel's page links back to its parent.
			r = e.browser().get("/channels/harbor%2Fdev")
			if r.status != 200 || !strings.Contains(string(r.body), `href="/channels/harbor"`) {
				t.Errorf("subchannel page: %d %s", r.status, r.body)
			}

			// A private channel is missing for whoever may not see it, on every page of it.
			missing := e.browser().get("/channels/nosuch").text()
			for _, w := range []*webClient{e.browser(), e.as(bwCarl)} {
				for _, p := range []string{"/channels/vault", "/channels/vault/packages/locked", "/channels/vault/history",
					"/channels/vault/settings", "/channels/vault/access", "/channels/harbor%2Fclosed"} {
					r := w.get(p)
					if r.status != http.StatusNotFound {
						t.Errorf("GET %s: %d, want 404", p, r.status)
					}
					bwLacks(t, "a stranger", p, r.text(), "locked")
				}
			}
			if got := e.browser().get("/channels/vault").text(); !bwSame(strings.ReplaceAll(got, "vault", "nosuch"), missing) {
				t.Errorf("a private channel's page differs from a missing one's:\n%s\n%s", got, missing)
			}
			text = e.as(bwOlivia).bwPage("/channels/vault")
			bwHas(t, "olivia", "vault", text, "locked", "https://wharf.example.com/t/<TOKEN>/conda/vault", "wharf setup conda vault")
		})
	}
}

func TestWebPackagePage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			demoFile := condatest.Spec{Name: "demo", Version: "1.2.0", Build: "py_0", Subdir: "noarch"}.Filename()

			// The newest version is shown by default; another by ?version=.
			anon := e.browser()
			text := anon.bwPage("/channels/harbor/packages/demo")
			bwHas(t, "a visitor", "demo", text, "1.10.0", "1.2.0", "conda install -c https://wharf.example.com/conda/harbor demo", "Files of 1.10.0")
			bwLacks(t, "a visitor", "demo", text, "<TOKEN>", "Make it private", "hushed")
			r := anon.get("/channels/harbor/packages/demo?version=1.2.0")
			text = r.text()
			bwHas(t, "a visitor", "demo 1.2.0", text, "Files of 1.2.0", demoFile, "noarch", "python >=3.9", "numpy", "by admin",
				bwSHA256(e.demo), strconv.Itoa(len(e.demo))+" bytes")
			if !strings.Contains(string(r.body), `href="/channels/harbor/files/noarch/`+demoFile+`"`) {
				t.Errorf("no download link for %s: %s", demoFile, r.body)
			}
			if d := anon.get("/channels/harbor/files/noarch/" + demoFile); d.status != 200 || string(d.body) != string(e.demo) ||
				d.header.Get("Content-Disposition") != `attachment; filename=`+demoFile {
				t.Errorf("download link: %d %v", d.status, d.header)
			}

			// A Python distribution: Requires-Dist from its core metadata, the pip line.
			r = anon.get("/channels/harbor/packages/wheely")
			text = r.text()
			bwHas(t, "a visitor", "wheely", text, "requests>=2.31", ">=3.10", "Rolls along", bwSHA256(e.wheel), "pypi",
				"pip install --index-url https://wharf.example.com/pypi/harbor/simple/ wheely")
			bwLacks(t, "a visitor", "wheely", text, "<TOKEN>", "conda install")
			link := "/channels/harbor/files/pypi/wheely-2.0-py3-none-any.whl"
			if !strings.Contains(string(r.body), `href="`+link+`"`) {
				t.Errorf("no download link %s: %s", link, r.body)
			}
			if d := anon.get(link); d.status != 200 || string(d.body) != string(e.wheel) {
				t.Errorf("download link: %d", d.status)
			}
			// Other spellings of a Python project find it.
			if r := anon.get("/channels/harbor/packages/Wheely"); r.status != 200 {
				t.Errorf("/packages/Wheely: %d", r.status)
			}

			// A private package: missing for whoever may not read it, in the same words as a
			// package that is not there; the token placeholder for those who may.
			for _, w := range []*webClient{anon, e.as(bwCarl)} {
				missing := w.get("/channels/harbor/packages/nosuch")
				r := w.get("/channels/harbor/packages/hushed")
				if r.status != http.StatusNotFound || missing.status != http.StatusNotFound || !bwSame(strings.ReplaceAll(r.text(), "hushed", "nosuch"), missing.text()) {
					t.Errorf("private package for a stranger: %d %s; missing one: %d %s", r.status, r.text(), missing.status, missing.text())
				}
			}
			olivia := e.as(bwOlivia)
			// The page's download link works with the session for who may read the file
			// (the conda URL would not take the cookie), and is missing for the others.
			hushedFile := "/channels/harbor/files/linux-64/" + condatest.Spec{Name: "hushed", Version: "0.1", Subdir: "linux-64"}.Filename()
			if d := olivia.get(hushedFile); d.status != 200 || !strings.Contains(d.header.Get("Cache-Control"), "private") || len(d.body) == 0 {
				t.Errorf("olivia downloads her private file: %d %v", d.status, d.header)
			}
			for _, w := range []*webClient{anon, e.as(bwCarl)} {
				if d := w.get(hushedFile); d.status != http.StatusNotFound {
					t.Errorf("a stranger downloads the private file: %d", d.status)
				}
			}
			text = olivia.bwPage("/channels/harbor/packages/hushed")
			bwHas(t, "olivia", "hushed", text, "conda install -c https://wharf.example.com/t/<TOKEN>/conda/harbor hushed", "Make it public", "linux-64")
			text = olivia.bwPage("/channels/vault/packages/locked")
			bwHas(t, "olivia", "locked", text, "https://wharf.example.com/t/<TOKEN>/conda/vault locked", "wharf setup conda vault")
			text = olivia.bwPage("/channels/acme-intern/packages/pyintern")
			bwHas(t, "olivia", "pyintern", text, "pip install --index-url https://__token__:<TOKEN>@wharf.example.com/pypi/acme-intern/simple/ pyintern")

			// One package made private and public again from its page.
			r = olivia.post("/channels/harbor/packages/demo/privacy", url.Values{"private": {"true"}})
			if r.status != http.StatusSeeOther || !e.packagePrivate("harbor", "demo") {
				t.Fatalf("make demo private: %d %s", r.status, r.body)
			}
			text = olivia.follow(r).text()
			bwHas(t, "olivia", "demo", text, "Package demo is now private.", "<TOKEN>")
			if r := anon.get("/channels/harbor/packages/demo"); r.status != http.StatusNotFound {
				t.Errorf("a visitor on the now private demo: %d", r.status)
			}
			if r := olivia.post("/channels/harbor/packages/demo/privacy", url.Values{"private": {"maybe"}}); r.status != http.StatusBadRequest || !e.packagePrivate("harbor", "demo") {
				t.Errorf("private=maybe: %d", r.status)
			}
			if r := olivia.post("/channels/harbor/packages/demo/privacy", url.Values{"private": {"false"}}); r.status != http.StatusSeeOther || e.packagePrivate("harbor", "demo") {
				t.Errorf("make demo public: %d", r.status)
			}
			// Refused: a visitor, a stranger, a reader; nothing changes.
			for _, tc := range []struct {
				who    string
				w      *webClient
				path   string
				status int
			}{
				{"a visitor", e.browser(), "/channels/harbor/packages/demo/privacy", http.StatusUnauthorized},
				{"carl", e.as(bwCarl), "/channels/harbor/packages/demo/privacy", http.StatusForbidden},
				{"carl", e.as(bwCarl), "/channels/harbor/packages/hushed/privacy", http.StatusNotFound},
				{"ben, a reader", e.as(bwBen), "/channels/acme-intern/packages/two/privacy", http.StatusForbidden},
				{"dora", e.as(bwDora), "/channels/acme-intern/packages/two/privacy", http.StatusNotFound},
			} {
				if r := tc.w.post(tc.path, url.Values{"private": {"true"}}); r.status != tc.status {
					t.Errorf("%s POST %s: %d, want %d", tc.who, tc.path, r.status, tc.status)
				}
			}
			if e.packagePrivate("harbor", "demo") || e.packagePrivate("acme-intern", "two") || !e.packagePrivate("harbor", "hushed") {
				t.Error("a refused privacy change changed something")
			}
			if text := e.as(bwBen).bwPage("/channels/acme-intern/packages/two"); strings.Contains(text, "Make it private") {
				t.Error("ben, a reader, is offered the privacy form")
			}
		})
	}
}

func TestWebBulkPackageAccess(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			olivia := e.as(bwOlivia)
			r := olivia.get("/channels/harbor/access")
			if r.status != 200 {
				t.Fatalf("access page: %d %s", r.status, r.text())
			}
			for _, want := range []string{`value="demo"`, `value="wheely"`, `value="hushed"`, `data-select-all="package"`, `id="set-access"`,
				`name="private"`, `href="/channels/harbor/access?type=conda"`} {
				if !strings.Contains(string(r.body), want) {
					t.Errorf("access page lacks %s", want)
				}
			}
			// Filter by type.
			conda := olivia.get("/channels/harbor/access?type=conda")
			if body := string(conda.body); !strings.Contains(body, `value="demo"`) || !strings.Contains(body, `value="hushed"`) || strings.Contains(body, `value="wheely"`) {
				t.Errorf("type=conda: %s", conda.text())
			}
			py := olivia.get("/channels/harbor/access?type=pypi")
			if body := string(py.body); strings.Contains(body, `value="demo"`) || !strings.Contains(body, `value="wheely"`) {
				t.Errorf("type=pypi: %s", py.text())
			}

			// Two packages made private at once, read back through the API.
			r = olivia.post("/channels/harbor/access", url.Values{"package": {"demo", "wheely"}, "private": {"true"}, "type": {"all"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/channels/harbor/access" {
				t.Fatalf("set access: %d %s %s", r.status, r.header.Get("Location"), r.body)
			}
			bwHas(t, "olivia", "access", olivia.follow(r).text(), "2 packages are now private: demo, wheely.")
			var files []struct {
				Filename       string `json:"filename"`
				PackagePrivate bool   `json:"package_private"`
			}
			e.mustDo("GET", "/api/v1/channels/harbor/files", bwOlivia, nil, 200).json(t, &files)
			for _, f := range files {
				if !f.PackagePrivate {
					t.Errorf("%s is public after the bulk change", f.Filename)
				}
			}
			bwLacks(t, "a visitor", "/channels/harbor", e.browser().bwPage("/channels/harbor"), "demo", "wheely")
			if r := e.do("GET", "/pypi/harbor/simple/wheely/", "", nil); r.status != http.StatusNotFound {
				t.Errorf("pip index of the now private wheely for a visitor: %d", r.status)
			}
			// And public again, from the filtered list.
			r = olivia.post("/channels/harbor/access", url.Values{"package": {"wheely"}, "private": {"false"}, "type": {"pypi"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/channels/harbor/access?type=pypi" || e.packagePrivate("harbor", "wheely") {
				t.Errorf("make wheely public: %d %s", r.status, r.header.Get("Location"))
			}

			// Nothing named, or no access chosen: 400.
			if r := olivia.post("/channels/harbor/access", url.Values{"private": {"true"}}); r.status != http.StatusBadRequest {
				t.Errorf("no package named: %d", r.status)
			}
			if r := olivia.post("/channels/harbor/access", url.Values{"package": {"wheely"}}); r.status != http.StatusBadRequest || e.packagePrivate("harbor", "wheely") {
				t.Errorf("no access chosen: %d", r.status)
			}

			// dora manages one but not two: the page lists one only, and a request naming two
			// changes nothing, not even one.
			dora := e.as(bwDora)
			r = dora.get("/channels/acme-intern/access")
			if body := string(r.body); r.status != 200 || !strings.Contains(body, `value="one"`) || strings.Contains(body, `value="two"`) || strings.Contains(body, "pyintern") {
				t.Errorf("dora's access page: %d %s", r.status, r.text())
			}
			if r := dora.post("/channels/acme-intern/access", url.Values{"package": {"one", "two"}, "private": {"false"}}); r.status != http.StatusForbidden {
				t.Errorf("dora on one and two: %d", r.status)
			}
			if r := dora.post("/channels/acme-intern/access", url.Values{"package": {"one", "nosuch"}, "private": {"true"}}); r.status != http.StatusForbidden {
				t.Errorf("dora on one and a missing package: %d", r.status)
			}
			if e.packagePrivate("acme-intern", "one") || e.packagePrivate("acme-intern", "two") {
				t.Error("a refused bulk change changed something")
			}
			if r := dora.post("/channels/acme-intern/access", url.Values{"package": {"one"}, "private": {"true"}}); r.status != http.StatusSeeOther || !e.packagePrivate("acme-intern", "one") {
				t.Errorf("dora on one: %d", r.status)
			}

			// Refused outright: a reader, a stranger, a visitor.
			for _, tc := range []struct {
				who        string
				w          *webClient
				channel    string
				get, post  int
				pkg        string
				wasPrivate bool
			}{
				{"ben, a reader", e.as(bwBen), "acme-intern", 403, 403, "two", false},
				{"carl", e.as(bwCarl), "harbor", 403, 403, "demo", true},
				{"carl", e.as(bwCarl), "acme-intern", 404, 404, "two", false},
				{"a visitor", e.browser(), "harbor", 303, 401, "demo", true},
			} {
				path := "/channels/" + tc.channel + "/access"
				r := tc.w.get(path)
				if r.status != tc.get {
					t.Errorf("%s GET %s: %d, want %d", tc.who, path, r.status, tc.get)
				}
				if tc.get == 303 && !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
					t.Errorf("%s GET %s: sent to %s", tc.who, path, r.header.Get("Location"))
				}
				if tc.get != 200 {
					bwLacks(t, tc.who, path, r.text(), "pyintern", "hushed")
				}
				r = tc.w.post(path, url.Values{"package": {tc.pkg}, "private": {"false"}})
				if r.status != tc.post {
					t.Errorf("%s POST %s: %d, want %d", tc.who, path, r.status, tc.post)
				}
				if e.packagePrivate(tc.channel, tc.pkg) != tc.wasPrivate {
					t.Errorf("%s changed %s", tc.who, tc.pkg)
				}
			}
		})
	}
}

func TestWebCreateChannels(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			ctx := context.Background()
			olivia := e.as(bwOlivia)

			r := olivia.post("/channels", url.Values{"name": {"fresh"}, "owner": {"olivia"}, "private": {"true"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/channels/fresh" {
				t.Fatalf("create fresh: %d %s %s", r.status, r.header.Get("Location"), r.body)
			}
			bwHas(t, "olivia", "fresh", olivia.follow(r).text(), "Channel fresh created.", "private")
			var info struct {
				Private bool `json:"private"`
			}
			e.mustDo("GET", "/api/v1/channels/fresh", bwOlivia, nil, 200).json(t, &info)
			if !info.Private {
				t.Error("fresh is not private")
			}
			if r := olivia.post("/channels", url.Values{"name": {"acme-team"}, "owner": {"acme"}}); r.status != http.StatusSeeOther {
				t.Fatalf("create acme-team: %d %s", r.status, r.body)
			}
			acme, _ := e.store.OrgByName(ctx, "acme")
			if ch, err := e.store.ChannelByName(ctx, "acme-team"); err != nil || ch.OwnerOrgID != acme.ID || ch.Private {
				t.Errorf("acme-team = %+v, %v", ch, err)
			}
			// A bad name, a taken one: back to the dashboard, which says why.
			for _, name := range []string{"Bad Name!", "harbor", ""} {
				r := olivia.post("/channels", url.Values{"name": {name}, "owner": {"olivia"}})
				if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
					t.Errorf("name %q: %d %s", name, r.status, r.header.Get("Location"))
					continue
				}
				if text := olivia.follow(r).text(); !strings.Contains(text, "channel") {
					t.Errorf("name %q: no reason shown: %s", name, text)
				}
			}
			// Refused: ben may not create in acme (a member, not an owner), a visitor not at all.
			if r := e.as(bwBen).post("/channels", url.Values{"name": {"ben-in-acme"}, "owner": {"acme"}}); r.status != http.StatusForbidden {
				t.Errorf("ben in acme: %d", r.status)
			}
			if r := e.browser().post("/channels", url.Values{"name": {"anon-chan"}, "owner": {"olivia"}}); r.status != http.StatusUnauthorized {
				t.Errorf("a visitor: %d", r.status)
			}
			for _, n := range []string{"ben-in-acme", "anon-chan"} {
				if _, err := e.store.ChannelByName(ctx, n); !store.IsNotFound(err) {
					t.Errorf("%s was created: %v", n, err)
				}
			}
			// ben's own channel is fine.
			if r := e.as(bwBen).post("/channels", url.Values{"name": {"ben-lab"}, "owner": {"ben"}}); r.status != http.StatusSeeOther {
				t.Errorf("ben's own: %d %s", r.status, r.body)
			}
			if ch, err := e.store.ChannelByName(ctx, "ben-lab"); err != nil || ch.OwnerOrgID != 0 {
				t.Errorf("ben-lab = %+v, %v", ch, err)
			}

			// Subchannels, from the settings page.
			r = olivia.post("/channels/harbor/subchannels", url.Values{"name": {"dev"}, "private": {"true"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/channels/harbor/settings" {
				t.Fatalf("create harbor/dev: %d %s %s", r.status, r.header.Get("Location"), r.body)
			}
			bwHas(t, "olivia", "harbor settings", olivia.follow(r).text(), "Subchannel harbor/dev created.", "harbor/dev")
			if ch, err := e.store.ChannelByName(ctx, "harbor/dev"); err != nil || !ch.Private || ch.OwnerUserID == 0 {
				t.Errorf("harbor/dev = %+v, %v", ch, err)
			}
			if r := olivia.post("/channels/harbor/subchannels", url.Values{"name": {"label"}}); r.status != http.StatusSeeOther {
				t.Errorf("a reserved name: %d", r.status)
			} else if text := olivia.follow(r).text(); !strings.Contains(text, "reserved") {
				t.Errorf("a reserved name: %s", text)
			}
			if r := olivia.post("/channels/harbor%2Fdev/subchannels", url.Values{"name": {"deeper"}}); r.status != http.StatusSeeOther {
				t.Errorf("a subchannel of a subchannel: %d", r.status)
			}
			for _, tc := range []struct {
				who    string
				w      *webClient
				parent string
				status int
			}{
				{"carl", e.as(bwCarl), "harbor", http.StatusForbidden},
				{"carl", e.as(bwCarl), "vault", http.StatusNotFound},
				{"ben, a reader", e.as(bwBen), "acme-intern", http.StatusForbidden},
				{"a visitor", e.browser(), "harbor", http.StatusUnauthorized},
			} {
				if r := tc.w.post("/channels/"+tc.parent+"/subchannels", url.Values{"name": {"sneaky"}}); r.status != tc.status {
					t.Errorf("%s on %s: %d, want %d", tc.who, tc.parent, r.status, tc.status)
				}
				if _, err := e.store.ChannelByName(ctx, tc.parent+"/sneaky"); !store.IsNotFound(err) {
					t.Errorf("%s created %s/sneaky", tc.who, tc.parent)
				}
			}
			for _, n := range []string{"harbor/label", "harbor/dev/deeper"} {
				if _, err := e.store.ChannelByName(ctx, n); !store.IsNotFound(err) {
					t.Errorf("%s was created", n)
				}
			}
			// The org's owner makes subchannels of org channels; they belong to the org.
			if r := olivia.post("/channels/acme-intern/subchannels", url.Values{"name": {"qa"}}); r.status != http.StatusSeeOther {
				t.Errorf("acme-intern/qa: %d", r.status)
			}
			if ch, err := e.store.ChannelByName(ctx, "acme-intern/qa"); err != nil || ch.OwnerOrgID != acme.ID {
				t.Errorf("acme-intern/qa = %+v, %v", ch, err)
			}
		})
	}
}

func TestWebChannelSettingsAndHistory(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			ctx := context.Background()
			olivia := e.as(bwOlivia)
			channelPrivate := func(name string) bool {
				ch, err := e.store.ChannelByName(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				return ch.Private
			}

			r := olivia.get("/channels/harbor/settings")
			if r.status != 200 || !strings.Contains(string(r.body), `action="/channels/harbor/settings/privacy"`) || !strings.Contains(string(r.body), `action="/channels/harbor/subchannels"`) {
				t.Fatalf("settings: %d %s", r.status, r.body)
			}
			bwHas(t, "olivia", "harbor settings", r.text(), "The channel is public", "belongs to a user", "history")

			r = olivia.post("/channels/harbor/settings/privacy", url.Values{"private": {"true"}})
			if r.status != http.StatusSeeOther || !channelPrivate("harbor") {
				t.Fatalf("make harbor private: %d %s", r.status, r.body)
			}
			bwHas(t, "olivia", "harbor settings", olivia.follow(r).text(), "Channel harbor is now private.", "The channel is private")
			if r := e.browser().get("/channels/harbor"); r.status != http.StatusNotFound {
				t.Errorf("a visitor on the now private harbor: %d", r.status)
			}
			bwLacks(t, "a visitor", "/", e.browser().bwPage("/"), "harbor", "demo")

			// The history lists the change, with who made it.
			text := olivia.bwPage("/channels/harbor/history")
			bwHas(t, "olivia", "harbor history", text, "channel.privacy", "private: true", "olivia", "package.privacy", "package: hushed", "file.upload", "channel.create")

			// Refused: carl (harbor is now private to him: 404), a visitor, ben on acme's channel.
			for _, tc := range []struct {
				who     string
				w       *webClient
				channel string
				get     int
				post    int
			}{
				{"carl", e.as(bwCarl), "harbor", 404, 404},
				{"carl", e.as(bwCarl), "vault", 404, 404},
				{"a visitor", e.browser(), "harbor", 404, 404},
				{"ben, a reader", e.as(bwBen), "acme-intern", 403, 403},
				{"dora, a package manager", e.as(bwDora), "acme-intern", 403, 403},
			} {
				was := channelPrivate(tc.channel)
				for _, p := range []string{"/settings", "/history"} {
					if r := tc.w.get("/channels/" + tc.channel + p); r.status != tc.get {
						t.Errorf("%s GET %s%s: %d, want %d", tc.who, tc.channel, p, r.status, tc.get)
					}
				}
				if r := tc.w.post("/channels/"+tc.channel+"/settings/privacy", url.Values{"private": {strconv.FormatBool(!was)}}); r.status != tc.post {
					t.Errorf("%s POST privacy of %s: %d, want %d", tc.who, tc.channel, r.status, tc.post)
				}
				if channelPrivate(tc.channel) != was {
					t.Errorf("%s changed the privacy of %s", tc.who, tc.channel)
				}
			}
			// On a public channel a visitor is sent to sign in, and a stranger refused.
			olivia.post("/channels/harbor/settings/privacy", url.Values{"private": {"false"}})
			if channelPrivate("harbor") {
				t.Fatal("harbor is still private")
			}
			if r := e.browser().get("/channels/harbor/settings"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fchannels%2Fharbor%2Fsettings" {
				t.Errorf("a visitor on harbor's settings: %d %s", r.status, r.header.Get("Location"))
			}
			if r := e.browser().get("/channels/harbor/history"); r.status != http.StatusSeeOther {
				t.Errorf("a visitor on harbor's history: %d", r.status)
			}
			if r := e.as(bwCarl).get("/channels/harbor/settings"); r.status != http.StatusForbidden {
				t.Errorf("carl on harbor's settings: %d", r.status)
			}
			if r := e.browser().post("/channels/harbor/settings/privacy", url.Values{"private": {"true"}}); r.status != http.StatusUnauthorized || channelPrivate("harbor") {
				t.Errorf("a visitor's privacy change: %d", r.status)
			}

			// The group grants of an org's channel.
			text = olivia.bwPage("/channels/acme-intern/settings")
			bwHas(t, "olivia", "acme-intern settings", text, "readers", "the whole channel", "read", "pkgmgr", "package one", "manage")
		})
	}
}

// bwSHA256 is the hex SHA-256 of b.
func bwSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var bwRequestID = regexp.MustCompile(`Request id: \S+`)

// bwSame reports whether two error pages say the same, but for their request ids.
func bwSame(a, b string) bool {
	return bwRequestID.ReplaceAllString(a, "") == bwRequestID.ReplaceAllString(b, "")
}

// TestWebPackagePagePrivacyAndLabels: the package page shows the privacy a reader meets and
// why (a package of a private channel is private, whatever its own setting), and an install
// line per label the package has, main first.
func TestWebPackagePagePrivacyAndLabels(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newBrowseEnv(t, b)
			olivia := e.as(bwOlivia)
			// A public subchannel of the private vault, and a private package in vault.
			e.mustDo("POST", "/api/v1/channels", bwOlivia, map[string]any{"name": "vault/open", "private": false}, 201)
			e.mustUpload("vault/open", condatest.Spec{Name: "inner", Version: "1.0", Subdir: "noarch"})
			e.mustUpload("vault", condatest.Spec{Name: "both", Version: "1.0", Subdir: "noarch"})
			e.mustDo("PATCH", "/api/v1/channels/vault/packages/both", bwOlivia, map[string]any{"private": true}, 200)
			for _, c := range []struct {
				path, want string
			}{
				{"/channels/vault/packages/locked", "private: the channel is private"},
				{"/channels/harbor/packages/hushed", "private: the package is private"},
				{"/channels/vault%2Fopen/packages/inner", "private: the parent channel is private"},
				{"/channels/vault/packages/both", "private: the channel is private; the package is private"},
				{"/channels/harbor/packages/demo", "public"},
			} {
				r := olivia.get(c.path)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", c.path, r.status, r.text())
				}
				h1 := regexp.MustCompile(`(?s)<h1>.*?</h1>`).FindString(string(r.body))
				if got := (resp{body: []byte(h1)}).text(); !strings.HasSuffix(got, " "+c.want) {
					t.Errorf("%s: heading %q, want it to end in %q", c.path, got, c.want)
				}
				if c.want != "public" && strings.Contains(h1, "badge public") {
					t.Errorf("%s: a public badge on a package only some may read: %s", c.path, h1)
				}
			}
			// The channel's list of packages says the same: a package of a private channel
			// (or of a subchannel of one) is not shown as public.
			for _, c := range []struct {
				channel, pkg string
				private      bool
			}{
				{"vault", "locked", true}, {"vault", "both", true}, {"vault%2Fopen", "inner", true},
				{"harbor", "hushed", true}, {"harbor", "demo", false},
			} {
				r := olivia.get("/channels/" + c.channel)
				if r.status != http.StatusOK {
					t.Fatalf("GET /channels/%s: %d %s", c.channel, r.status, r.text())
				}
				row := regexp.MustCompile(`(?s)<tr>\s*<td><a href="[^"]*/packages/` + c.pkg + `">.*?</tr>`).FindString(string(r.body))
				want := map[bool]string{true: "badge private", false: "badge public"}[c.private]
				if !strings.Contains(row, want) {
					t.Errorf("/channels/%s: the row of %s has no %q: %s", c.channel, c.pkg, want, row)
				}
			}

			// demo 2.0 is on dev only: main (with 1.10.0, its newest there) comes first, then dev.
			e.mustUpload("harbor", condatest.Spec{Name: "demo", Version: "2.0", Build: "py_0", Subdir: "noarch"}, "dev")
			e.mustUpload("harbor", condatest.Spec{Name: "demo", Version: "1.9", Build: "py_0", Subdir: "noarch"}, "beta")
			text := e.browser().bwPage("/channels/harbor/packages/demo")
			lines := []string{
				"conda install -c https://wharf.example.com/conda/harbor demo",
				"conda install -c https://wharf.example.com/conda/harbor/label/beta demo",
				"conda install -c https://wharf.example.com/conda/harbor/label/dev demo",
			}
			last := -1
			for _, l := range lines {
				i := strings.Index(text, l)
				if i < 0 {
					t.Errorf("install line %q missing:\n%s", l, text)
					continue
				}
				if i < last {
					t.Errorf("install line %q out of order (main first, then the labels by name):\n%s", l, text)
				}
				last = i
			}
			bwHas(t, "a visitor", "demo", text, "conda (main: 1.10.0)", "conda (label beta: 1.9)", "conda (label dev: 2.0)")
		})
	}
}
