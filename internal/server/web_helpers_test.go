package server_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// webClient is a browser stand-in for page tests: it keeps the cookies the server sets (all of
// them, Secure ones too, though the test server is plain HTTP) and does not follow redirects,
// so tests see each 303.
type webClient struct {
	t       testing.TB
	e       *env
	cookies map[string]string
}

func (e *env) browser() *webClient {
	return &webClient{t: e.t, e: e, cookies: map[string]string{}}
}

// signedIn is a webClient signed in as name.
func (e *env) signedIn(name, password string) *webClient {
	e.t.Helper()
	w := e.browser()
	w.login(name, password)
	return w
}

func (w *webClient) login(name, password string) {
	w.t.Helper()
	r := w.post("/login", url.Values{"username": {name}, "password": {password}, "next": {"/"}})
	if r.status != http.StatusSeeOther {
		w.t.Fatalf("sign-in of %s: %d %s", name, r.status, r.body)
	}
}

func (w *webClient) do(method, path string, body io.Reader, header ...string) resp {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.t.Context(), method, w.e.srv.URL+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	for n, v := range w.cookies {
		req.AddCookie(&http.Cookie{Name: n, Value: v})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	cl := *w.e.srv.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := cl.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(w.cookies, c.Name)
		} else {
			w.cookies[c.Name] = c.Value
			if strings.Contains(c.Name, "session") {
				noteIssued(c.Value) // session secrets must not reach the logs either
			}
		}
	}
	return resp{res.StatusCode, res.Header, b}
}

func (w *webClient) get(path string) resp {
	w.t.Helper()
	return w.do("GET", path, nil)
}

// post sends a form the way a browser does from one of the server's own pages.
func (w *webClient) post(path string, form url.Values, header ...string) resp {
	w.t.Helper()
	h := append([]string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}, header...)
	return w.do("POST", path, strings.NewReader(form.Encode()), h...)
}

// follow GETs the page a 303 points to.
func (w *webClient) follow(r resp) resp {
	w.t.Helper()
	if r.status != http.StatusSeeOther {
		w.t.Fatalf("want a 303, got %d %s", r.status, r.body)
	}
	return w.get(r.header.Get("Location"))
}

// text is a page's text with tags dropped and spaces squeezed, for assertions on what a
// person reads.
func (r resp) text() string {
	s := tagRE.ReplaceAllString(string(r.body), " ")
	return strings.Join(strings.Fields(htmlUnescape(s)), " ")
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&amp;", "&").Replace(s)
}
