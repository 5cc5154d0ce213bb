package server_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// docs/api.md has a row for every route of the REST API in the route table, that names the
// action the table gives it (and the web pages' routes are in docs/web.md).
func TestAPIDocCoversTheRouteTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]*\}`)
	rows := map[string]string{} // "METHOD /api/v1/channels/{}" → its line
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "| `") {
			continue // a table's row, not the prose that mentions a route
		}
		for _, m := range regexp.MustCompile("`([A-Z]+) (/api/v1/[^` \\[?]*)").FindAllStringSubmatch(l, -1) {
			rows[m[1]+" "+param.ReplaceAllString(m[2], "{}")] = l
		}
	}
	n := 0
	for _, rt := range openapiServer(t).Routes() {
		if !strings.HasPrefix(rt.Pattern, "/api/v1/") {
			continue
		}
		n++
		key := rt.Method + " " + param.ReplaceAllString(rt.Pattern, "{}")
		row, ok := rows[key]
		if !ok && strings.HasSuffix(key, "/files/{}/{}") && rt.Method == "PATCH" {
			row, ok = rows["PATCH /api/v1/channels/{}/files/pypi/{}"] // only Python files are yanked
		}
		switch {
		case !ok:
			t.Errorf("docs/api.md has no row for %s %s", rt.Method, rt.Pattern)
		case rt.Action != "anyone" && !strings.Contains(row, rt.Action):
			t.Errorf("docs/api.md: %s %s does not name its action %s:\n%s", rt.Method, rt.Pattern, rt.Action, row)
		case rt.Action == "anyone" && !strings.Contains(row, "anyone"):
			t.Errorf("docs/api.md: %s %s does not say anyone may:\n%s", rt.Method, rt.Pattern, row)
		}
	}
	if n < 40 {
		t.Errorf("only %d API routes: the walk is broken", n)
	}
}
