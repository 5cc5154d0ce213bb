package main_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/internal/conda/condatest"
)

// newBrowser starts a headless Chromium (Debian's) for one test. Where Chromium is not
// installed the test is skipped, except under .ci/run, which installs it and sets
// WHARF_REQUIRE_CHROMIUM=1 so that there it cannot be skipped.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("WHARF_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("WHARF_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("Chromium is required (WHARF_REQUIRE_CHROMIUM=1) and was not found; install Debian's chromium")
		}
		t.Skip("Chromium not found: install Debian's chromium (or set WHARF_CHROMIUM) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1024),
		// This machine's network is closed: Chromium's own background calls would only fail.
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// The first Run starts the browser, which lives as long as ctx: no timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting Chromium at %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// step runs browser actions; on failure it saves a screenshot of the page and says where.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a page that never comes fails the step, not the run
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(sctx, chromedp.Location())
		body, _ := chromedp.Run(sctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		t.Fatalf("%s: %v\nat %s\npage text: %s\nscreenshot: %s", name, err, loc, body, screenshot(t, sctx, name))
	}
	// WHARF_SCREENSHOT_STEPS=1 keeps a picture of every step, to look the pages over.
	if os.Getenv("WHARF_SCREENSHOT_STEPS") == "1" {
		t.Logf("%s: %s", name, screenshot(t, sctx, name))
	}
}

// screenshot saves the page as a PNG under $WHARF_SCREENSHOTS (default: the system's temporary
// directory), where it outlives the test.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	dir := os.Getenv("WHARF_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "wharf-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "not saved: " + err.Error()
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; less is JPEG
	if err != nil {
		return "not taken: " + err.Error()
	}
	clean := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "-" + name)
	p := filepath.Join(dir, fmt.Sprintf("%s-%d.png", clean, time.Now().UnixNano()))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		return "not saved: " + err.Error()
	}
	return p
}

// into runs an action that returns a value and keeps the value.
func into[T any](a chromedp.Action[T], dst *T) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// run runs an action and drops its value.
func run[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	var v T
	return into(a, &v)
}

func statusOf(t *testing.T, method, u, user, password string) int {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestBrowserAccountToRevokedToken walks the web UI in Chromium against the real binary: sign
// up, confirm through the outbox, sign in, create an org and a group, make packages uploaded
// with the CLI private in bulk, create a token, use it, revoke it, and see it refused; and a
// cross-site form post refused.
func TestBrowserAccountToRevokedToken(t *testing.T) {
	ctx := newBrowser(t)
	data := t.TempDir()
	addr := freePort(t)
	s := startServer(t, data, addr, "--signup", "open")
	const pw = "lantern harbour pebble 42"
	var text string

	step(t, ctx, "sign up",
		chromedp.Navigate(s.url+"/"),
		chromedp.Click(chromedp.Search(`//header//a[text()="Sign up"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signup"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "erin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "erin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pw),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Check your mail")]`)),
	)
	if st := statusOf(t, "GET", s.url+"/api/v1/user", "erin", pw); st != http.StatusUnauthorized {
		t.Errorf("API sign-in before confirming: %d, want 401", st)
	}

	link := mailedToken(t, data, "erin@example.com", "/account/verify")
	step(t, ctx, "confirm the address",
		chromedp.Navigate(s.url+"/account/verify?token="+link),
		chromedp.Click(chromedp.CSS(`form[action="/account/verify"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Address confirmed"]`)),
	)

	step(t, ctx, "sign in",
		chromedp.Click(chromedp.Search(`//main//a[text()="Sign in"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "erin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header a.me`)),
		into(chromedp.Text(chromedp.CSS(`header a.me`)), &text),
	)
	if text != "erin" {
		t.Errorf("signed in as %q", text)
	}

	step(t, ctx, "create an org",
		chromedp.Navigate(s.url+"/orgs"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/orgs"] input[name=name]`), "erinco"),
		chromedp.Click(chromedp.CSS(`form[action="/orgs"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/orgs/erinco/groups"]`)),
	)
	step(t, ctx, "create a group",
		chromedp.SendKeys(chromedp.CSS(`form[action="/orgs/erinco/groups"] input[name=name]`), "devs"),
		chromedp.Click(chromedp.CSS(`form[action="/orgs/erinco/groups"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/orgs/erinco/groups/devs/members"]`)),
	)
	if st := statusOf(t, "GET", s.url+"/api/v1/orgs/erinco/groups", "erin", pw); st != http.StatusOK {
		t.Errorf("the org made in the page, through the API: %d", st)
	}

	// Two packages uploaded with the CLI, then made private together.
	dir := t.TempDir()
	alpha := condatest.Spec{Name: "alpha", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"}
	beta := condatest.Spec{Name: "beta", Version: "2.0", Build: "0", Subdir: "noarch", Noarch: "generic"}
	env := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=erin", "WHARF_PASSWORD=" + pw}
	mustWharf(t, env, "", "upload", condatest.WriteFile(t, dir, alpha), condatest.WriteFile(t, dir, beta), "-c", "erin")
	repodata := s.url + "/conda/erin/noarch/repodata.json"
	if files := repodataFiles(t, repodata); !files[alpha.Filename()] || !files[beta.Filename()] {
		t.Fatalf("public repodata before: %v", files)
	}
	step(t, ctx, "make both private in bulk",
		chromedp.Navigate(s.url+"/channels/erin/access"),
		chromedp.Click(chromedp.CSS(`input[name=package][value=alpha]`)),
		chromedp.Click(chromedp.CSS(`input[name=package][value=beta]`)),
		chromedp.SetValue(chromedp.CSS(`select[name=private]`), "true"),
		chromedp.Click(chromedp.CSS(`#set-access`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	if files := repodataFiles(t, repodata); files[alpha.Filename()] || files[beta.Filename()] {
		t.Errorf("anonymous repodata after making both private: %v", files)
	}

	var secret string
	step(t, ctx, "create a token",
		chromedp.Navigate(s.url+"/tokens/new"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/tokens"] input[name=name]`), "ci"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value="conda:download"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/tokens"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-secret`)),
		into(chromedp.Text(chromedp.CSS(`#token-secret`)), &secret),
	)
	secret = strings.TrimSpace(secret)
	if !strings.HasPrefix(secret, "wrfs-") {
		t.Fatalf("the page shows %q as the secret", secret)
	}
	pkg := s.url + "/t/" + secret + "/conda/erin/noarch/" + alpha.Filename()
	if st := statusOf(t, "GET", pkg, "", ""); st != http.StatusOK {
		t.Fatalf("download with the new token: %d", st)
	}
	if st := statusOf(t, "GET", s.url+"/conda/erin/noarch/"+alpha.Filename(), "", ""); st != http.StatusNotFound {
		t.Errorf("anonymous download of the private package: %d, want 404", st)
	}

	step(t, ctx, "revoke the token",
		chromedp.Navigate(s.url+"/tokens"),
		run(chromedp.Evaluate[bool]("window.confirm = () => true, true")), // the form asks "are you sure?"
		chromedp.Click(chromedp.CSS(`form.revoke[data-token="ci"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
		into(chromedp.Text(chromedp.CSS(`main`)), &text),
	)
	if st := statusOf(t, "GET", pkg, "", ""); st != http.StatusUnauthorized {
		t.Errorf("download with the revoked token: %d, want 401", st)
	}

	// Another site's page posts a form to Wharf in the same browser, signed in: refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/settings/password">
<input name="old_password" value="%s"><input name="new_password" value="owned by evil 123456"></form>
<script>document.getElementById("f").submit()</script>`, s.url, pw)
	}))
	defer evil.Close()
	eu, _ := url.Parse(evil.URL)
	step(t, ctx, "cross-site post",
		// localhost is another site than 127.0.0.1, as any other host would be.
		chromedp.Navigate("http://localhost:"+eu.Port()+"/"),
		chromedp.WaitVisible(chromedp.Search(`//body[contains(., "cross-origin request refused")]`)),
	)
	if st := statusOf(t, "GET", s.url+"/api/v1/user", "erin", pw); st != http.StatusOK {
		t.Errorf("erin's password after the cross-site post: %d, want it unchanged (200)", st)
	}
}
