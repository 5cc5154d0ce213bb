package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// A mistyped scope is refused, by the API and the web form alike, with the scope meant.
func TestUnknownScopeSuggestsTheNearest(t *testing.T) {
	e := newEnv(t, backends[0])
	e.users(alice)
	r := e.mustDo("POST", "/api/v1/tokens", alice, map[string]any{"name": "ci", "scopes": []string{"conda:donwload"}}, http.StatusBadRequest)
	if !strings.Contains(string(r.body), `did you mean \"conda:download\"?`) || !strings.Contains(string(r.body), "GET /api/v1/scopes") {
		t.Errorf("API: %s", r.body)
	}
	r = e.mustDo("POST", "/api/v1/tokens", alice, map[string]any{"name": "ci", "scopes": []string{"deploy"}}, http.StatusBadRequest)
	if strings.Contains(string(r.body), "did you mean") || !strings.Contains(string(r.body), `unknown scope \"deploy\"`) {
		t.Errorf("API, nothing near: %s", r.body)
	}
	w := e.signedIn("alice", "alice-owns-acme-org")
	if r := w.post("/tokens", tokenForm("x1", []string{"pypi:uplaod"})); r.status != http.StatusBadRequest || !strings.Contains(r.text(), `did you mean "pypi:upload"?`) {
		t.Errorf("web: %d %s", r.status, r.text())
	}
}
