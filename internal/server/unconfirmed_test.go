package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/server"
)

// An account whose address is not confirmed (a sign-up that may never be) is in no list but
// the administrators': not its channel in the channel lists, not its page. Adding it to an
// org or a group works, with a warning in the API answer and on the page.
func TestUnconfirmedAccounts(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, signupMode(server.SignupOpen))
			e.users(alice, bob)
			e.mustDo("POST", "/api/v1/signup", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": "a long enough password"}, 202)
			e.mails() // the account is made after the answer

			channels := func(auth string) string {
				t.Helper()
				var list []struct{ Name string }
				e.mustDo("GET", "/api/v1/channels", auth, nil, 200).json(t, &list)
				var names []string
				for _, c := range list {
					names = append(names, c.Name)
				}
				return " " + strings.Join(names, " ") + " "
			}
			for who, auth := range map[string]string{"a visitor": "", "another account": bob} {
				if got := channels(auth); strings.Contains(got, " carol ") || !strings.Contains(got, " alice ") {
					t.Errorf("channels listed to %s: %s; want alice's and not carol's", who, got)
				}
			}
			if got := channels(admin); !strings.Contains(got, " carol ") {
				t.Errorf("channels listed to an administrator: %s; want carol's too", got)
			}
			if r := e.browser().get("/"); r.status != 200 || strings.Contains(r.text(), "carol") || !strings.Contains(r.text(), "alice") {
				t.Errorf("home page of a visitor: %d %s", r.status, r.text())
			}
			for who, w := range map[string]*webClient{"a visitor": e.browser(), "another account": e.signedIn("bob", "bob-is-a-developer")} {
				if r := w.get("/users/carol"); r.status != http.StatusNotFound {
					t.Errorf("/users/carol for %s: %d", who, r.status)
				}
			}
			if r := e.signedIn("admin", adminPassword).get("/users/carol"); r.status != http.StatusOK {
				t.Errorf("/users/carol for an administrator: %d", r.status)
			}

			// Adding to an org and a group: done, with a warning.
			e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
			e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
			var org struct {
				Members []struct {
					Name        string
					Unconfirmed bool
				}
				Warning string
			}
			e.mustDo("PUT", "/api/v1/orgs/acme/members/carol", alice, map[string]string{"role": "member"}, 200).json(t, &org)
			if !strings.Contains(org.Warning, "carol has not confirmed their email address") {
				t.Errorf("adding carol to acme: warning %q", org.Warning)
			}
			for _, m := range org.Members {
				if m.Unconfirmed != (m.Name == "carol") {
					t.Errorf("member %s: unconfirmed %v", m.Name, m.Unconfirmed)
				}
			}
			var warned struct{ Warning string }
			e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/carol", alice, nil, 200).json(t, &warned)
			if !strings.Contains(warned.Warning, "carol has not confirmed their email address") {
				t.Errorf("adding carol to devs: %q", warned.Warning)
			}
			// A confirmed account: no warning.
			e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
			org.Warning = ""
			e.mustDo("PUT", "/api/v1/orgs/acme/members/bob", alice, map[string]string{"role": "member"}, 200).json(t, &org)
			if org.Warning != "" {
				t.Errorf("adding bob: warning %q", org.Warning)
			}

			// The pages say it too.
			al := e.signedIn("alice", "alice-owns-acme-org")
			e.mustDo("DELETE", "/api/v1/orgs/acme/members/carol", alice, nil, 204)
			page := al.posted("/orgs/acme/members", url.Values{"user": {"carol"}, "role": {"member"}}, "/orgs/acme")
			if !strings.Contains(page.text(), "carol is now a member of acme.") || !strings.Contains(page.text(), "Warning: carol has not confirmed their email address") ||
				!strings.Contains(page.text(), "carol address not confirmed") {
				t.Errorf("org page after adding carol: %s", page.text())
			}
			page = al.posted("/orgs/acme/groups/devs/members", url.Values{"user": {"carol"}}, "/orgs/acme/groups/devs")
			if !strings.Contains(page.text(), "Warning: carol has not confirmed their email address") {
				t.Errorf("group page after adding carol: %s", page.text())
			}
			page = al.posted("/orgs/acme/groups/devs/members", url.Values{"user": {"bob"}}, "/orgs/acme/groups/devs")
			if strings.Contains(page.text(), "Warning:") {
				t.Errorf("group page after adding bob warns: %s", page.text())
			}
			// The group's page and its listing mark carol, as the org's page does; bob not.
			if !strings.Contains(page.text(), "carol address not confirmed") || strings.Contains(page.text(), "bob address not confirmed") {
				t.Errorf("group page does not mark carol alone: %s", page.text())
			}
			var groups []struct{ Members, Unconfirmed []string }
			e.mustDo("GET", "/api/v1/orgs/acme/groups", alice, nil, 200).json(t, &groups)
			if len(groups) != 1 || strings.Join(groups[0].Members, " ") != "bob carol" || strings.Join(groups[0].Unconfirmed, " ") != "carol" {
				t.Errorf("groups: %+v; want members bob carol, carol unconfirmed", groups)
			}

			// Confirmed, carol is listed like anyone.
			_, tok := e.lastLink("carol@example.com")
			e.mustDo("POST", "/api/v1/account/verify", "", map[string]string{"token": tok}, 200)
			if got := channels(""); !strings.Contains(got, " carol ") {
				t.Errorf("channels after carol confirmed: %s", got)
			}
			if r := e.browser().get("/users/carol"); r.status != http.StatusOK {
				t.Errorf("/users/carol after confirming: %d", r.status)
			}
			e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/members/carol", alice, nil, 204)
			e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/carol", alice, nil, 204)
		})
	}
}
