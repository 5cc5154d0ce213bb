package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type orgJSON struct {
	Name    string
	Members []struct{ Name, Role string }
	Groups  []struct {
		Name    string
		Members []string
		Grants  []struct{ Channel, Package, Level string }
	}
}

// orgAsAdmin reads an org back through the API.
func (e *env) orgAsAdmin(name string) orgJSON {
	e.t.Helper()
	var o orgJSON
	e.mustDo("GET", "/api/v1/orgs/"+name, admin, nil, 200).json(e.t, &o)
	return o
}

func (o orgJSON) role(user string) string {
	for _, m := range o.Members {
		if m.Name == user {
			return m.Role
		}
	}
	return ""
}

func (o orgJSON) String() string {
	b, _ := json.Marshal(o)
	return string(b)
}

// posted checks that a form's POST answered with a 303 to the page it is on, and returns that
// page as it then shows.
func (w *webClient) posted(path string, form url.Values, back string) resp {
	w.t.Helper()
	r := w.post(path, form)
	if r.status != http.StatusSeeOther {
		w.t.Fatalf("POST %s %v: %d %s", path, form, r.status, r.text())
	}
	if loc := r.header.Get("Location"); loc != back {
		w.t.Fatalf("POST %s %v: back to %q, want %q", path, form, loc, back)
	}
	return w.follow(r)
}

func TestWebOrganizationsAndGroups(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			const pw = "correct-horse-battery-9"
			for _, u := range []string{"olive", "otto", "mark", "gina", "stan"} {
				e.user(u, pw)
			}
			olive, mark, gina, stan, anon := e.signedIn("olive", pw), e.signedIn("mark", pw), e.signedIn("gina", pw), e.signedIn("stan", pw), e.browser()

			// A visitor is sent to sign in; a user sees the form.
			if r := anon.get("/orgs"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
				t.Fatalf("visitor on /orgs: %d %s", r.status, r.header.Get("Location"))
			}
			if r := anon.post("/orgs", url.Values{"name": {"acme"}}); r.status != http.StatusUnauthorized {
				t.Fatalf("visitor creating an org: %d", r.status)
			}
			e.mustDo("GET", "/api/v1/orgs/acme", admin, nil, 404)
			r := olive.get("/orgs")
			if r.status != 200 || !strings.Contains(r.text(), "You belong to no organization yet") || !strings.Contains(string(r.body), `action="/orgs"`) {
				t.Fatalf("/orgs: %d %s", r.status, r.text())
			}

			// Create an org through the page: its creator owns it.
			page := olive.posted("/orgs", url.Values{"name": {"acme"}}, "/orgs/acme")
			if page.status != 200 || !strings.Contains(page.text(), "The organization acme is created") {
				t.Fatalf("org page after creation: %d %s", page.status, page.text())
			}
			if o := e.orgAsAdmin("acme"); o.role("olive") != "owner" {
				t.Fatalf("after creation: %s", o)
			}
			if r := olive.get("/orgs"); !strings.Contains(r.text(), "acme owner") {
				t.Errorf("/orgs does not list acme: %s", r.text())
			}
			page = olive.posted("/orgs", url.Values{"name": {"no such name!"}}, "/orgs")
			if !strings.Contains(page.text(), "organization") || !strings.Contains(string(page.body), `class="flash error"`) {
				t.Errorf("a bad name: %s", page.text())
			}

			// Members and owners.
			olive.posted("/orgs/acme/members", url.Values{"user": {"mark"}, "role": {"member"}}, "/orgs/acme")
			page = olive.posted("/orgs/acme/members", url.Values{"user": {"otto"}, "role": {"owner"}}, "/orgs/acme")
			if !strings.Contains(page.text(), "otto is now an owner of acme") {
				t.Errorf("flash after adding an owner: %s", page.text())
			}
			if o := e.orgAsAdmin("acme"); o.role("mark") != "member" || o.role("otto") != "owner" {
				t.Fatalf("after adding members: %s", o)
			}
			page = olive.posted("/orgs/acme/members", url.Values{"user": {"nobody"}, "role": {"member"}}, "/orgs/acme")
			if !strings.Contains(page.text(), `user "nobody" not found`) {
				t.Errorf("adding a user who does not exist: %s", page.text())
			}
			page = olive.posted("/orgs/acme/members", url.Values{"user": {"stan"}, "role": {"king"}}, "/orgs/acme")
			if !strings.Contains(page.text(), `role must be "owner" or "member"`) || e.orgAsAdmin("acme").role("stan") != "" {
				t.Errorf("a bad role: %s", page.text())
			}

			// A private channel of the org, and a group with read on it.
			e.mustDo("POST", "/api/v1/channels", "olive:"+pw, map[string]any{"name": "acme-secret", "org": "acme", "private": true}, 201)
			e.mustDo("POST", "/api/v1/channels", "olive:"+pw, map[string]any{"name": "acme-open", "org": "acme"}, 201)
			page = olive.posted("/orgs/acme/groups", url.Values{"name": {"devs"}}, "/orgs/acme/groups/devs")
			if page.status != 200 || !strings.Contains(page.text(), "Group devs") {
				t.Fatalf("group page: %d %s", page.status, page.text())
			}
			olive.posted("/orgs/acme/groups/devs/members", url.Values{"user": {"gina"}}, "/orgs/acme/groups/devs")
			if r := gina.get("/orgs/acme"); strings.Contains(string(r.body), "acme-secret") || !strings.Contains(string(r.body), "acme-open") {
				t.Errorf("gina before the grant: %s", r.text())
			}
			e.mustDo("GET", "/api/v1/channels/acme-secret", "gina:"+pw, nil, 404)
			page = olive.posted("/orgs/acme/groups/devs/grants", url.Values{"channel": {"acme-secret"}, "package": {""}, "level": {"read"}}, "/orgs/acme/groups/devs")
			if !strings.Contains(page.text(), "The group devs has read on the channel acme-secret") || !strings.Contains(page.text(), "acme-secret every package read") {
				t.Errorf("group page after the grant: %s", page.text())
			}
			o := e.orgAsAdmin("acme")
			if len(o.Groups) != 1 || len(o.Groups[0].Grants) != 1 || o.Groups[0].Grants[0].Level != "read" || o.Groups[0].Members[0] != "gina" {
				t.Fatalf("after the grant: %s", o)
			}
			// A grant on another's channel, or with a bad level, is refused and changes nothing.
			e.createChannel("elsewhere", false)
			page = olive.posted("/orgs/acme/groups/devs/grants", url.Values{"channel": {"elsewhere"}, "level": {"read"}}, "/orgs/acme/groups/devs")
			if !strings.Contains(page.text(), "does not belong to organization acme") {
				t.Errorf("a grant on another's channel: %s", page.text())
			}
			page = olive.posted("/orgs/acme/groups/devs/grants", url.Values{"channel": {"acme-open"}, "level": {"root"}}, "/orgs/acme/groups/devs")
			if !strings.Contains(page.text(), `level must be "read", "write" or "manage"`) {
				t.Errorf("a bad level: %s", page.text())
			}
			if got := e.orgAsAdmin("acme"); got.String() != o.String() {
				t.Errorf("refused grants changed the org: %s, was %s", got, o)
			}

			// The group's member now sees the channel, on the API and on the org page.
			e.mustDo("GET", "/api/v1/channels/acme-secret", "gina:"+pw, nil, 200)
			if r := gina.get("/orgs/acme"); r.status != 200 || !strings.Contains(r.text(), "acme-secret private") {
				t.Errorf("gina's org page after the grant: %d %s", r.status, r.text())
			}
			if r := gina.get("/orgs/acme/groups/devs"); r.status != 200 || !strings.Contains(r.text(), "acme-secret") || strings.Contains(string(r.body), "<form") &&
				strings.Contains(string(r.body), "/grants") {
				t.Errorf("gina's group page: %d %s", r.status, r.body)
			}
			// No one else finds the private channel's name anywhere on the org page: not a
			// visitor, not a stranger, not a member outside the group (who sees the group,
			// not its grant).
			for name, w := range map[string]*webClient{"visitor": anon, "stan": stan, "mark": mark} {
				r := w.get("/orgs/acme")
				if r.status != 200 || !strings.Contains(string(r.body), "acme-open") {
					t.Errorf("%s on the org page: %d %s", name, r.status, r.text())
				}
				if strings.Contains(string(r.body), "acme-secret") {
					t.Errorf("%s finds the private channel on the org page: %s", name, r.body)
				}
			}
			if r := anon.get("/orgs/acme"); strings.Contains(r.text(), "olive") || strings.Contains(r.text(), "devs") {
				t.Errorf("a visitor sees members or groups: %s", r.text())
			}
			if r := mark.get("/orgs/acme"); !strings.Contains(r.text(), "devs") || !strings.Contains(r.text(), "otto owner") ||
				strings.Contains(string(r.body), `action="/orgs/acme/members"`) {
				t.Errorf("a member's org page (members and groups, no forms): %s", r.body)
			}
			if r := olive.get("/orgs/acme"); !strings.Contains(string(r.body), `action="/orgs/acme/members"`) || !strings.Contains(r.text(), "gina member devs") {
				t.Errorf("an owner's org page: %s", r.text())
			}

			// Refused: a stranger on the group page; a visitor sent to sign in.
			if r := stan.get("/orgs/acme/groups/devs"); r.status != http.StatusForbidden || strings.Contains(string(r.body), "acme-secret") {
				t.Errorf("a stranger on the group page: %d", r.status)
			}
			if r := anon.get("/orgs/acme/groups/devs"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
				t.Errorf("a visitor on the group page: %d", r.status)
			}
			if r := olive.get("/orgs/acme/groups/nope"); r.status != http.StatusNotFound {
				t.Errorf("a group that does not exist: %d", r.status)
			}

			// Refused: every management form, posted by a plain member, a stranger or a
			// visitor. Nothing changes.
			before := e.orgAsAdmin("acme").String()
			forms := []struct {
				path string
				form url.Values
			}{
				{"/orgs/acme/members", url.Values{"user": {"stan"}, "role": {"owner"}}},
				{"/orgs/acme/members/otto/remove", nil},
				{"/orgs/acme/groups", url.Values{"name": {"mine"}}},
				{"/orgs/acme/groups/devs/delete", nil},
				{"/orgs/acme/groups/devs/members", url.Values{"user": {"mark"}}},
				{"/orgs/acme/groups/devs/members/gina/remove", nil},
				{"/orgs/acme/groups/devs/grants", url.Values{"channel": {"acme-open"}, "level": {"manage"}}},
				{"/orgs/acme/groups/devs/grants/remove", url.Values{"channel": {"acme-secret"}}},
			}
			for _, f := range forms {
				for name, w := range map[string]*webClient{"mark": mark, "gina": gina, "stan": stan, "visitor": anon} {
					want := http.StatusForbidden
					if name == "visitor" {
						want = http.StatusUnauthorized
					}
					if r := w.post(f.path, f.form); r.status != want {
						t.Errorf("%s posting %s: %d, want %d", name, f.path, r.status, want)
					}
				}
			}
			if after := e.orgAsAdmin("acme").String(); after != before {
				t.Errorf("refused forms changed the org:\n%s\nwas\n%s", after, before)
			}

			// Undo it all through the pages.
			page = olive.posted("/orgs/acme/groups/devs/grants/remove", url.Values{"channel": {"acme-secret"}, "package": {""}}, "/orgs/acme/groups/devs")
			if !strings.Contains(page.text(), "no longer has a grant on the channel acme-secret") {
				t.Errorf("after removing the grant: %s", page.text())
			}
			if o := e.orgAsAdmin("acme"); len(o.Groups[0].Grants) != 0 {
				t.Errorf("the grant is still there: %s", o)
			}
			e.mustDo("GET", "/api/v1/channels/acme-secret", "gina:"+pw, nil, 404)
			if r := gina.get("/orgs/acme"); strings.Contains(string(r.body), "acme-secret") {
				t.Errorf("gina still sees the channel after the grant went")
			}
			olive.posted("/orgs/acme/groups/devs/members/gina/remove", nil, "/orgs/acme/groups/devs")
			if o := e.orgAsAdmin("acme"); len(o.Groups[0].Members) != 0 || o.role("gina") != "member" {
				t.Errorf("after removing gina from the group: %s", o)
			}
			page = olive.posted("/orgs/acme/members/mark/remove", nil, "/orgs/acme")
			if !strings.Contains(page.text(), "mark is no longer in acme") {
				t.Errorf("after removing mark: %s", page.text())
			}
			if o := e.orgAsAdmin("acme"); o.role("mark") != "" {
				t.Errorf("mark is still a member: %s", o)
			}
			if r := mark.get("/orgs/acme"); strings.Contains(r.text(), "Members") {
				t.Errorf("a former member still sees the members: %s", r.text())
			}
			page = olive.posted("/orgs/acme/groups/devs/delete", nil, "/orgs/acme")
			if !strings.Contains(page.text(), "The group devs is deleted") {
				t.Errorf("after deleting the group: %s", page.text())
			}
			if o := e.orgAsAdmin("acme"); len(o.Groups) != 0 {
				t.Errorf("the group is still there: %s", o)
			}
			// A form on a group that is gone goes back to the org's page with the reason.
			page = olive.posted("/orgs/acme/groups/devs/members", url.Values{"user": {"gina"}}, "/orgs/acme")
			if !strings.Contains(page.text(), `group "devs" not found`) {
				t.Errorf("a form on a deleted group: %s", page.text())
			}
			// The last owner cannot leave.
			olive.posted("/orgs/acme/members/otto/remove", nil, "/orgs/acme")
			page = olive.posted("/orgs/acme/members/olive/remove", nil, "/orgs/acme")
			if e.orgAsAdmin("acme").role("olive") != "owner" || !strings.Contains(string(page.body), `class="flash error"`) {
				t.Errorf("the last owner left: %s", page.text())
			}
		})
	}
}
