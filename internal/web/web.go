// Package web holds the web UI's templates and static assets, embedded in the binary. It
// renders; what a page shows and who may see it is the server's business.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/version"
)

//go:embed templates static
var files embed.FS

// Renderer renders the pages. Every page is parsed at start, so a template that does not
// parse stops the server from starting rather than failing a request.
type Renderer struct {
	pages  map[string]*template.Template
	assets map[string]string // file name → its URL, with a content hash for caching
}

// New parses every page with the layout and the partials.
func New() (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, assets: map[string]string{}}
	statics, err := fs.Glob(files, "static/*")
	if err != nil {
		return nil, err
	}
	for _, name := range statics {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		r.assets[path.Base(name)] = "/static/" + path.Base(name) + "?v=" + hex.EncodeToString(sum[:6])
	}
	base, err := template.New("layout.html").Funcs(r.funcs()).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, p)
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// Pages lists the names of the pages, for tests that render each.
func (r *Renderer) Pages() []string {
	out := make([]string, 0, len(r.pages))
	for n := range r.pages {
		out = append(out, n)
	}
	return out
}

// Render renders a page into memory, whole: a template that fails halfway must not leave half
// a page behind a 200.
func (r *Renderer) Render(page string, data any) ([]byte, error) {
	t, ok := r.pages[page]
	if !ok {
		return nil, fmt.Errorf("web: no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return nil, fmt.Errorf("web: page %s: %w", page, err)
	}
	return buf.Bytes(), nil
}

// Static serves the embedded assets under /static/. Their URLs carry a content hash, so they
// may be cached for long.
func (r *Renderer) Static() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, ok := r.assets[path.Base(req.URL.Path)]; !ok || strings.HasSuffix(req.URL.Path, "/") {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, req)
	})
}

func (r *Renderer) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string { return r.assets[name] },
		// seg escapes one path segment: a subchannel "acme/dev" becomes "acme%2Fdev".
		"seg":  url.PathEscape,
		"size": Size,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02")
		},
		"join": strings.Join,
		// version is the footer's "wharf 1.2.3 (commit …, go1.26.1)".
		"version": version.String,
		"has": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
	}
}

// Size is a byte count for people: 1.2 MB.
func Size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// Page is what every page is rendered with; Data is the page's own.
type Page struct {
	Title   string
	Viewer  *Viewer // nil for a visitor who is not signed in
	Flash   string  // what the last action did
	Warning string  // what to look out for after it
	Error   string  // why the last action failed
	Signup  bool    // whether visitors may sign up (the header links to it)
	Path    string  // this page's path, for the sign-in link to come back to
	Data    any
}

// Viewer is the signed-in user.
type Viewer struct {
	Name  string
	Admin bool
}
