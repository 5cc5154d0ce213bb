package server_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/server"
)

// transports are the ways a client sends a token (DESIGN §4), each as a request maker.
var transports = []struct {
	name string
	send func(e *env, method, path, tok string, body []byte, header ...string) resp
}{
	{"/t/ prefix", func(e *env, m, p, tok string, b []byte, h ...string) resp { return e.do(m, "/t/"+tok+p, "", b, h...) }},
	{"Authorization: token", func(e *env, m, p, tok string, b []byte, h ...string) resp {
		return e.do(m, p, "", b, append([]string{"Authorization", "token " + tok}, h...)...)
	}},
	{"Authorization: Bearer", func(e *env, m, p, tok string, b []byte, h ...string) resp {
		return e.do(m, p, "", b, append([]string{"Authorization", "Bearer " + tok}, h...)...)
	}},
	{"Basic __token__:T", func(e *env, m, p, tok string, b []byte, h ...string) resp {
		return e.do(m, p, "__token__:"+tok, b, h...)
	}},
	{"Basic T:x-auth-token", func(e *env, m, p, tok string, b []byte, h ...string) resp {
		return e.do(m, p, tok+":x-auth-token", b, h...)
	}},
}

// onlyAddEnv: the org acme with the public channel acme (a public and a private conda package,
// a public and a private Python project, and a public subchannel acme/dev), and the private
// channels acme-labs and acme-private. bob writes to acme and reads acme-labs and
// acme-private through his group: every refusal below is the token's, not his.
func onlyAddEnv(t *testing.T, opts ...func(*server.Options)) *env {
	t.Helper()
	e := newEnv(t, backends[0], opts...)
	e.users(alice, bob)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/channels", alice, map[string]any{"name": "acme", "org": "acme"}, 409) // the org's own channel exists
	for _, ch := range []map[string]any{{"name": "acme-labs", "org": "acme", "private": true}, {"name": "acme-private", "org": "acme", "private": true},
		{"name": "acme/dev"}} {
		e.mustDo("POST", "/api/v1/channels", alice, ch, 201)
	}
	for ch, specs := range map[string][]condatest.Spec{
		"acme":         {spec("tool", "1.0", "0", "noarch", condatest.Conda), spec("secret", "1.0", "0", "noarch", condatest.Conda)},
		"acme/dev":     {spec("devtool", "1.0", "0", "noarch", condatest.Conda)},
		"acme-labs":    {spec("labtool", "1.0", "0", "noarch", condatest.Conda)},
		"acme-private": {spec("inner", "1.0", "0", "noarch", condatest.Conda)},
	} {
		for _, s := range specs {
			if r := e.uploadAs(alice, ch, s); r.status != 201 {
				t.Fatalf("upload %s to %s: %d %s", s.Filename(), ch, r.status, r.body)
			}
		}
	}
	for _, s := range []pypitest.Spec{{Name: "open-lib"}, {Name: "hidden-lib"}} {
		if r := e.uploadDist(alice, "acme", s); r.status != 201 {
			t.Fatalf("upload %s: %d %s", s.Filename(), r.status, r.body)
		}
	}
	if r := e.uploadDist(alice, "acme-labs", pypitest.Spec{Name: "lab-lib"}); r.status != 201 {
		t.Fatalf("upload lab-lib: %d %s", r.status, r.body)
	}
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/secret", alice, map[string]bool{"private": true}, 200)
	e.mustDo("PATCH", "/api/v1/channels/acme/packages/hidden-lib", alice, map[string]bool{"private": true}, 200)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	for ch, lvl := range map[string]string{"acme": "write", "acme-labs": "read", "acme-private": "read"} {
		e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": ch, "level": lvl}, 200)
	}
	return e
}

// fileURL is the Simple API's link to a project's only file.
func (e *env) fileURL(t *testing.T, channel, project, auth string) string {
	t.Helper()
	page, r := e.simple("/pypi/"+channel+"/simple/"+project+"/", auth)
	if r.status != 200 || len(page.Files) != 1 {
		t.Fatalf("page of %s: %d %s", project, r.status, r.body)
	}
	u, _ := url.Parse(resolve(e.srv.URL+"/pypi/"+channel+"/simple/"+project+"/", page.Files[0].URL))
	return u.Path
}

// Issue 12, item 2: a token limited to some channels (or to some actions) only adds to what
// an anonymous request may do. Through every way of sending it, on conda, PyPI and the REST
// API: public channels and their public packages answer as to anyone; private packages of a
// public channel, and private channels the owner reads but the token does not name, stay
// hidden; the token's own channel is read; uploads the token does not allow stay refused.
func TestLimitedTokenOnlyAdds(t *testing.T) {
	e := onlyAddEnv(t)
	// As `wharf auth --create --scopes conda:download --resource acme-labs:read` makes it.
	tok := e.newToken(bob, map[string]any{"name": "labs", "scopes": []string{"conda:download"},
		"resources": []map[string]string{{"channel": "acme-labs", "level": "read"}}})
	openFile := e.fileURL(t, "acme", "open-lib", "")
	type want struct {
		status  int
		has     []string
		hasNone []string
	}
	reads := []struct {
		what, path, accept string
		want               want
	}{
		{"conda repodata of a public channel", "/conda/acme/noarch/repodata.json", "", want{200, []string{"tool-1.0-0.conda"}, []string{"secret"}}},
		{"conda current_repodata", "/conda/acme/noarch/current_repodata.json", "", want{200, []string{"tool-1.0-0.conda"}, []string{"secret"}}},
		{"conda repodata.json.zst", "/conda/acme/noarch/repodata.json.zst", "", want{200, nil, nil}},
		{"conda channeldata", "/conda/acme/channeldata.json", "", want{200, []string{`"tool"`}, []string{"secret"}}},
		{"conda package of a public channel", "/conda/acme/noarch/tool-1.0-0.conda", "", want{200, nil, nil}},
		{"conda private package of a public channel", "/conda/acme/noarch/secret-1.0-0.conda", "", want{404, nil, nil}},
		{"conda public subchannel", "/conda/acme/dev/noarch/repodata.json", "", want{200, []string{"devtool"}, nil}},
		{"conda: the token's channel", "/conda/acme-labs/noarch/repodata.json", "", want{200, []string{"labtool"}, nil}},
		{"conda: a private channel the owner reads", "/conda/acme-private/noarch/repodata.json", "", want{404, nil, []string{"inner"}}},
		{"conda: a public package of that private channel", "/conda/acme-private/noarch/inner-1.0-0.conda", "", want{404, nil, nil}},
		{"PyPI index of a public channel", "/pypi/acme/simple/", jsonAccept, want{200, []string{"open-lib"}, []string{"hidden-lib"}}},
		{"PyPI project page", "/pypi/acme/simple/open-lib/", jsonAccept, want{200, []string{"open_lib-1.0"}, nil}},
		{"PyPI file", openFile, "", want{200, nil, nil}},
		{"PyPI core metadata", openFile + ".metadata", "", want{200, []string{"Name: open-lib"}, nil}},
		{"PyPI private project of a public channel", "/pypi/acme/simple/hidden-lib/", jsonAccept, want{404, nil, []string{"hidden_lib"}}},
		{"PyPI project of the token's channel, beyond its conda scope", "/pypi/acme-labs/simple/lab-lib/", jsonAccept, want{403, nil, []string{"lab_lib"}}},
		{"PyPI index of a private channel the owner reads", "/pypi/acme-private/simple/", jsonAccept, want{404, nil, nil}},
		{"API: a public channel", "/api/v1/channels/acme", "", want{200, []string{`"acme"`}, nil}},
		{"API: its files", "/api/v1/channels/acme/files", "", want{200, []string{"tool-1.0-0.conda", "open_lib"}, []string{"secret", "hidden"}}},
		{"API: its labels", "/api/v1/channels/acme/labels", "", want{200, []string{`"main"`}, nil}},
		{"API: a private channel the owner reads", "/api/v1/channels/acme-private", "", want{404, nil, nil}},
		{"API: a private file of a public channel", "/api/v1/channels/acme/files/noarch/secret-1.0-0.conda", "", want{404, nil, nil}},
	}
	check := func(who string, r resp, w want, what string) {
		t.Helper()
		if r.status != w.status {
			t.Errorf("%s / %s: %d %.200s, want %d", who, what, r.status, r.body, w.status)
			return
		}
		for _, s := range w.has {
			if !strings.Contains(string(r.body), s) {
				t.Errorf("%s / %s: %q missing from %.300s", who, what, s, r.body)
			}
		}
		for _, s := range w.hasNone {
			if strings.Contains(string(r.body), s) {
				t.Errorf("%s / %s: %q shown", who, what, s)
			}
		}
	}
	for _, rd := range reads {
		var h []string
		if rd.accept != "" {
			h = []string{"Accept", rd.accept}
		}
		// Anonymous first: a token never gets less on what is public.
		anon := e.do("GET", rd.path, "", nil, h...)
		if w := rd.want; w.status == 200 && anon.status != 200 && !strings.Contains(rd.what, "token's channel") {
			t.Errorf("anonymous / %s: %d", rd.what, anon.status)
		}
		for _, tr := range transports {
			check(tr.name, tr.send(e, "GET", rd.path, tok, nil, h...), rd.want, rd.what)
		}
	}
	// The labels list counts only what the token may read: the private package's label is
	// not counted.
	var labels []struct {
		Label string
		Files int
	}
	e.asToken("GET", "/api/v1/channels/acme/labels", tok, nil).json(t, &labels)
	var anonLabels []struct {
		Label string
		Files int
	}
	e.mustDo("GET", "/api/v1/channels/acme/labels", "", nil, 200).json(t, &anonLabels)
	if mustJSON(labels) != mustJSON(anonLabels) {
		t.Errorf("labels through the token %v, anonymous %v: the token reads nothing private of acme", labels, anonLabels)
	}

	// What the token may not see is refused in the words of what does not exist: nothing
	// tells a private channel or package from a missing one.
	scrub := func(b []byte, names ...string) string {
		out := string(scrubID(b))
		for _, n := range names {
			out = strings.ReplaceAll(out, n, "NAME")
		}
		return out
	}
	for _, p := range [][2]string{
		{"/api/v1/channels/acme-private", "/api/v1/channels/no-such"},
		{"/conda/acme-private/noarch/repodata.json", "/conda/no-such/noarch/repodata.json"},
		{"/pypi/acme-private/simple/", "/pypi/no-such/simple/"},
		{"/api/v1/channels/acme/files/noarch/secret-1.0-0.conda", "/api/v1/channels/acme/files/noarch/nothing-1.0-0.conda"},
		{"/conda/acme/noarch/secret-1.0-0.conda", "/conda/acme/noarch/nothing-1.0-0.conda"},
		{"/pypi/acme/simple/hidden-lib/", "/pypi/acme/simple/no-such-lib/"},
	} {
		for _, tr := range transports {
			hidden, missing := tr.send(e, "GET", p[0], tok, nil), tr.send(e, "GET", p[1], tok, nil)
			if hidden.status != 404 || missing.status != 404 ||
				scrub(hidden.body, "acme-private", "secret", "hidden-lib") != scrub(missing.body, "no-such-lib", "no-such", "nothing") {
				t.Errorf("%s: %s answers %d %s, %s answers %d %s", tr.name, p[0], hidden.status, hidden.body, p[1], missing.status, missing.body)
			}
		}
	}

	// Refusals that stay refusals.
	up := spec("new", "1.0", "0", "noarch", condatest.Conda)
	upPath := "/api/v1/channels/acme/files/" + up.Filename()
	whl := pypitest.Spec{Name: "tw-new"}
	for _, tr := range transports {
		if r := tr.send(e, "PUT", upPath, tok, condatest.Build(t, up)); r.status != 403 {
			t.Errorf("%s: upload to a channel its owner writes, beyond the token: %d %s, want 403", tr.name, r.status, r.body)
		}
	}
	upTok := e.newToken(bob, map[string]any{"name": "twine-labs", "scopes": []string{"pypi:upload"},
		"resources": []map[string]string{{"channel": "acme-labs", "level": "read"}}})
	if r := twineUpload(e, "/pypi/acme/", "__token__:"+upTok, pypitest.Build(t, whl), whl.Filename(), map[string]string{"name": "tw-new", "version": "1.0"}); r.status != 403 {
		t.Errorf("twine with a token for another channel, to a public channel its owner writes: %d %s, want 403", r.status, r.body)
	}
	e.mustDo("GET", "/pypi/acme/simple/tw-new/", "", nil, 404)
	if r := e.asToken("PUT", upPath, upTok, condatest.Build(t, up)); r.status != 403 {
		t.Errorf("pypi:upload token uploading a conda package: %d, want 403", r.status)
	}
	if r := twineUpload(e, "/pypi/acme-private/", "__token__:"+tok, pypitest.Build(t, whl), whl.Filename(), map[string]string{"name": "tw-new", "version": "1.0"}); r.status != 404 {
		t.Errorf("twine to a private channel the token does not name: %d, want 404", r.status)
	}
	// The same token may do what it allows: a pypi:upload token for acme-labs with write.
	labsUp := e.newToken(bob, map[string]any{"name": "labs-up", "scopes": []string{"pypi:upload"},
		"resources": []map[string]string{{"channel": "acme-labs", "level": "read"}, {"channel": "acme", "level": "write"}}})
	if r := twineUpload(e, "/pypi/acme/", "__token__:"+labsUp, pypitest.Build(t, whl), whl.Filename(), map[string]string{"name": "tw-new", "version": "1.0"}); r.status != 201 {
		t.Errorf("twine with a token that names acme with write: %d %s", r.status, r.body)
	}
}

// A wrong token is an error, never anonymous: malformed, unknown, revoked, reissued and
// expired tokens get 401 on a public channel, through every way of sending them.
func TestBadTokenOnPublicChannelIsRefused(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := onlyAddEnv(t, func(o *server.Options) { o.Now = clk.Now })
	revoked := e.newToken(bob, map[string]any{"name": "revoked", "scopes": []string{"conda:download"}})
	e.mustDo("DELETE", "/api/v1/tokens/revoked", bob, nil, 204)
	reissued := e.newToken(bob, map[string]any{"name": "reissued"})
	e.mustDo("PATCH", "/api/v1/tokens/reissued", bob, map[string]any{"reissue": true}, 200)
	expired := e.newToken(bob, map[string]any{"name": "expired", "expires": "1d",
		"resources": []map[string]string{{"channel": "acme-labs", "level": "read"}}})
	clk.add(49 * time.Hour)
	malformed := expired[:len(expired)-1] + map[bool]string{true: "A", false: "B"}[expired[len(expired)-1] != 'A']
	for name, tok := range map[string]string{"revoked": revoked, "reissued": reissued, "expired": expired, "malformed": malformed} {
		for _, tr := range transports {
			for _, p := range []string{"/conda/acme/noarch/repodata.json", "/pypi/acme/simple/", "/api/v1/channels/acme"} {
				if r := tr.send(e, "GET", p, tok, nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s token, %s, %s: %d, want 401 with a challenge", name, tr.name, p, r.status)
				}
			}
		}
	}
}

// The same with the real clients: pip reads a public channel through a token limited to
// another channel (in a /t/ index URL and as __token__), and still finds no private project;
// twine with that token cannot upload where the token does not allow it.
func TestLimitedTokenWithRealPythonClients(t *testing.T) {
	twine := twineClient(t)
	pips := pipClients(t)
	e := onlyAddEnv(t)
	tok := e.newToken(bob, map[string]any{"name": "labs", "scopes": []string{"conda:download"},
		"resources": []map[string]string{{"channel": "acme-labs", "level": "read"}}})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for name, index := range map[string]string{
		"/t/ token":       e.srv.URL + "/t/" + tok + "/pypi/acme/simple/",
		"Basic __token__": "http://" + url.UserPassword("__token__", tok).String() + "@" + host + "/pypi/acme/simple/",
	} {
		for _, pip := range pips {
			t.Run(pip.name+"/"+name, func(t *testing.T) {
				if pip.missing != "" {
					skipOrFail(t, pip.missing)
				}
				dir := t.TempDir()
				if o, err := run(t, pip.python, "-m", "pip", "download", "--no-deps", "--isolated", "-d", dir, "--index-url", index, "open-lib==1.0"); err != nil {
					t.Fatalf("pip download from a public channel with a token for another channel: %v\n%s", err, o)
				}
				if o, err := run(t, pip.python, "-m", "pip", "download", "--no-deps", "--isolated", "-d", dir, "--index-url", index, "hidden-lib==1.0"); err == nil {
					t.Errorf("pip got a private project through a token that does not allow it:\n%s", o)
				}
			})
		}
	}
	wheel := pypitest.WriteFile(t, t.TempDir(), pypitest.Spec{Name: "tw-real", Version: "1.0", MetadataVersion: "2.1"})
	if o, err := run(t, twine, "upload", "--disable-progress-bar", "--repository-url", e.srv.URL+"/pypi/acme/", "-u", "__token__", "-p", tok, wheel); err == nil ||
		!strings.Contains(o, "403") {
		t.Errorf("twine with a download token for another channel: %v\n%s", err, o)
	}
}
