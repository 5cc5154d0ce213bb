package server_test

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
)

// openapiServer is a server over an empty SQLite store and blob directory.
func openapiServer(t *testing.T) *server.Server {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blob.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close() })
	srv, err := server.New(st, bl, server.Options{TempDir: filepath.Join(t.TempDir(), "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// fetchOpenAPI gets the document over HTTP and checks how it is served.
func fetchOpenAPI(t *testing.T, srv *server.Server) map[string]any {
	t.Helper()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	res, err := http.Get(hs.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", res.StatusCode, body)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", res.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	return doc
}

var openapiMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// openapiPath turns a route pattern into an OpenAPI path: the wildcards are spelled alike,
// except that "{name...}" and "{$}" have no OpenAPI form.
func openapiPath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	return regexp.MustCompile(`\{([A-Za-z0-9_]+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

func TestOpenAPIIsAnOpenAPI31Document(t *testing.T) {
	doc := fetchOpenAPI(t, openapiServer(t))
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info lacks a title or version: %v", info)
	}
	schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if basic, _ := schemes["basic"].(map[string]any); basic["type"] != "http" || basic["scheme"] != "basic" {
		t.Errorf("securitySchemes.basic = %v, want HTTP Basic", schemes["basic"])
	}

	// Every local $ref points at something.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := pointer(doc, ref); err != "" {
					t.Errorf("%s: $ref %s: %s", at, ref, err)
				}
			}
			for k, e := range v {
				walk(e, at+"/"+k)
			}
		case []any:
			for _, e := range v {
				walk(e, at+"[]")
			}
		}
	}
	walk(doc, "#")
}

// pointer resolves a local JSON pointer ("#/components/schemas/Error").
func pointer(doc map[string]any, ref string) (any, string) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, "not a local reference"
	}
	var v any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok || m[part] == nil {
			return nil, "nothing at " + part
		}
		v = m[part]
	}
	return v, ""
}

func TestOpenAPICoversTheRouteTable(t *testing.T) {
	srv := openapiServer(t)
	doc := fetchOpenAPI(t, srv)
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("the document has no paths")
	}

	// Every API route is documented, with the action the route table gives it.
	inTable := map[string]bool{}
	for _, rt := range srv.Routes() {
		if !strings.HasPrefix(rt.Pattern, "/api/v1/") {
			continue
		}
		p, m := openapiPath(rt.Pattern), strings.ToLower(rt.Method)
		inTable[m+" "+p] = true
		item, _ := paths[p].(map[string]any)
		op, _ := item[m].(map[string]any)
		if op == nil {
			t.Errorf("%s %s is not in the document", rt.Method, rt.Pattern)
			continue
		}
		if got := op["x-wharf-action"]; got != rt.Action {
			t.Errorf("%s %s: x-wharf-action = %v, the route table says %q", rt.Method, rt.Pattern, got, rt.Action)
		}
	}

	// Nothing in the document is missing from the route table, and each operation says what
	// it is, what it answers, and every path wildcard it has.
	wildcard := regexp.MustCompile(`\{([^}]+)\}`)
	for p, v := range paths {
		item, _ := v.(map[string]any)
		for k, o := range item {
			if !slices.Contains(openapiMethods, k) {
				continue
			}
			if !inTable[k+" "+p] {
				t.Errorf("%s %s is documented but not in the route table", strings.ToUpper(k), p)
				continue
			}
			op, _ := o.(map[string]any)
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s %s has no summary", strings.ToUpper(k), p)
			}
			if r, _ := op["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s %s has no responses", strings.ToUpper(k), p)
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, pv := range params {
				pm, _ := pv.(map[string]any)
				if ref, ok := pm["$ref"].(string); ok {
					r, _ := pointer(doc, ref)
					pm, _ = r.(map[string]any)
				}
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			for _, m := range wildcard.FindAllStringSubmatch(p, -1) {
				if !declared[m[1]] {
					t.Errorf("%s %s does not declare the path parameter %s", strings.ToUpper(k), p, m[1])
				}
			}
		}
	}
}
