package server_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/server"
)

// Bytes that PostgreSQL refuses in text (invalid UTF-8, NUL) must be refused before they reach
// it, with the 4xx the same request gets on SQLite, never a 500.
func TestHostileBytesInNames(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.createChannel("acme", false)
			e.mustUpload("acme", spec("demo", "1.0", "0", "noarch", condatest.Conda))
			cases := []struct {
				name, method, path, auth string
				want                     int
			}{
				{"channel, invalid UTF-8", "GET", "/conda/ac%ffme/noarch/repodata.json", "", 404},
				{"channel, NUL", "GET", "/conda/ac%00me/noarch/repodata.json", "", 404},
				{"subchannel, invalid UTF-8", "GET", "/conda/acme/%c3%28/noarch/repodata.json", "", 404},
				{"label, invalid UTF-8", "GET", "/conda/acme/label/d%ffev/noarch/repodata.json", "", 404},
				{"label, NUL", "GET", "/conda/acme/label/d%00ev/noarch/repodata.json", "", 404},
				{"label channeldata, NUL", "GET", "/conda/acme/label/d%00ev/channeldata.json", "", 404},
				{"package file, invalid UTF-8", "GET", "/conda/acme/noarch/demo-1.0-%ff.conda", "", 404},
				{"package file, NUL", "GET", "/conda/acme/noarch/demo-1.0-0%00.conda", "", 404},
				{"shard, not hex", "GET", "/conda/acme/noarch/shards/%ff%00.msgpack.zst", "", 404},
				{"API channel, invalid UTF-8", "GET", "/api/v1/channels/%ff", admin, 404},
				{"API files, label NUL", "GET", "/api/v1/channels/acme/files?label=%00", admin, 400},
				{"API files, label invalid UTF-8", "GET", "/api/v1/channels/acme/files?label=%ff", admin, 400},
				{"API file, invalid UTF-8", "GET", "/api/v1/channels/acme/files/noarch/%ff.conda", admin, 404},
				{"API remove, NUL", "DELETE", "/api/v1/channels/acme/files/noarch/a%00-1-0.conda", admin, 404},
				{"API history, channel NUL", "GET", "/api/v1/channels/a%00/history", admin, 404},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := e.do(tc.method, tc.path, tc.auth, nil)
					if r.status != tc.want {
						t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
					}
				})
			}
			for _, user := range []string{"ad\xffmin", "ad\x00min", strings.Repeat("u", 5000)} {
				req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/user", nil)
				req.Header.Set("Authorization", "Basic "+encodeBase64(user+":"+adminPassword))
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 401 {
					t.Errorf("Basic username %q: %d, want 401", user[:min(len(user), 10)], res.StatusCode)
				}
			}
			body := []byte(`{"from_label":"main","to_labels":["x"],"to_channel":"pr\u0000od"}`)
			if r := e.do("POST", "/api/v1/channels/acme/copy", admin, body, "Content-Type", "application/json"); r.status != 404 {
				t.Errorf("copy to a channel named with NUL: %d %s, want 404", r.status, r.body)
			}
			body = []byte(`{"files":[{"subdir":"noarch","filename":"demo-1.0-0\u0000.conda"}],"to_labels":["x"]}`)
			if r := e.do("POST", "/api/v1/channels/acme/copy", admin, body, "Content-Type", "application/json"); r.status != 400 {
				t.Errorf("copy of a filename with NUL: %d %s, want 400", r.status, r.body)
			}
		})
	}
}

// A private channel must be indistinguishable from a missing one, down to the message.
func TestPrivateChannelLooksMissing(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("secret", true)
	e.user("bob", "bob-password-123")
	for _, auth := range []string{"", "bob:bob-password-123"} {
		for _, p := range []string{"/conda/%s/noarch/repodata.json", "/conda/%s/channeldata.json", "/conda/%s/noarch/demo-1.0-0.conda", "/api/v1/channels/%s", "/api/v1/channels/%s/files"} {
			private := e.do("GET", strings.Replace(p, "%s", "secret", 1), auth, nil)
			missing := e.do("GET", strings.Replace(p, "%s", "nosuch", 1), auth, nil)
			if private.status != 404 || missing.status != 404 {
				t.Fatalf("%s as %q: private %d, missing %d; want 404 for both", p, auth, private.status, missing.status)
			}
			scrub := func(b []byte, name string) string {
				var v struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if json.Unmarshal(b, &v) == nil {
					b = []byte(v.Error.Code + " " + v.Error.Message) // request ids differ
				}
				return strings.ReplaceAll(string(b), name, "NAME")
			}
			if a, b := scrub(private.body, "secret"), scrub(missing.body, "nosuch"); a != b {
				t.Errorf("%s as %q: private says %q, missing says %q", p, auth, a, b)
			}
		}
	}
}

func TestSubchannelOfPrivateChannelIsPrivate(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("secret", true)
	e.createChannel("secret/dev", false)
	e.user("bob", "bob-password-123")
	e.mustUpload("secret/dev", spec("demo", "1.0", "0", "noarch", condatest.Conda))
	for _, p := range []string{"/conda/secret/dev/noarch/repodata.json", "/conda/secret/dev/noarch/demo-1.0-0.conda", "/conda/secret/dev/channeldata.json", "/api/v1/channels/secret%2Fdev/files"} {
		for _, auth := range []string{"", "bob:bob-password-123"} {
			if r := e.do("GET", p, auth, nil); r.status != 404 {
				t.Errorf("GET %s as %q: %d, want 404", p, auth, r.status)
			}
		}
		r := e.do("GET", p, admin, nil)
		if r.status != 200 {
			t.Errorf("GET %s as admin: %d, want 200", p, r.status)
		}
		if cc := r.header.Get("Cache-Control"); strings.HasPrefix(p, "/conda/") && !strings.HasPrefix(cc, "private") {
			t.Errorf("GET %s: Cache-Control %q, want private", p, cc)
		}
	}
	var list []struct{ Name string }
	e.do("GET", "/api/v1/channels", "bob:bob-password-123", nil).json(t, &list)
	for _, c := range list {
		if strings.HasPrefix(c.Name, "secret") {
			t.Errorf("bob lists %s", c.Name)
		}
	}
}

func TestAnyoneListsTheChannelsTheyMaySee(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.createChannel("acme/dev", false)
	e.createChannel("secret", true)
	e.user("bob", "bob-password-123")
	names := func(auth string) []string {
		r := e.do("GET", "/api/v1/channels", auth, nil)
		if r.status != 200 {
			t.Fatalf("list as %q: %d %s", auth, r.status, r.body)
		}
		var list []struct{ Name string }
		r.json(t, &list)
		var out []string
		for _, c := range list {
			out = append(out, c.Name)
		}
		return out
	}
	// admin and bob are the users' own channels.
	if got := strings.Join(names(""), ","); got != "acme,acme/dev,admin,bob" {
		t.Errorf("anonymous lists %q", got)
	}
	if got := strings.Join(names("bob:bob-password-123"), ","); got != "acme,acme/dev,admin,bob" {
		t.Errorf("bob lists %q", got)
	}
	if got := strings.Join(names(admin), ","); got != "acme,acme/dev,admin,bob,secret" {
		t.Errorf("admin lists %q", got)
	}
}

// Go's router redirects unclean paths, echoing them in Location; with a token in the path
// that would hand the token on. Such paths are refused instead, and never logged.
func TestTokensInUncleanPaths(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, backends[0], func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	e.createChannel("acme", false)
	const secret = "wrfs-UNCLEANsecret42"
	paths := []string{
		"//t/" + secret + "/conda/acme/noarch/repodata.json",
		"/./t/" + secret + "/conda/acme/noarch/repodata.json",
		"/T/" + secret + "/conda/acme/noarch/repodata.json",
		"/t/" + secret + "/t/" + secret + "/conda/acme/noarch/repodata.json",
		"/conda/acme/../t/" + secret + "/x",
		"/t/" + secret + "/conda/acme//noarch/repodata.json",
		"/t/" + secret + "/conda/./acme/noarch/repodata.json",
		"/api/v1/t/" + secret + "/channels",
	}
	for _, p := range paths {
		// A raw request line: Go's client would rewrite "//…" into an absolute URL.
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: wharf\r\nConnection: close\r\n\r\n", p)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		conn.Close()
		if res.StatusCode/100 == 3 || res.StatusCode >= 500 {
			t.Errorf("GET %s: %d (Location %q); want a 4xx", p, res.StatusCode, res.Header.Get("Location"))
		}
		if strings.Contains(res.Header.Get("Location"), secret) {
			t.Errorf("GET %s: the token is in Location", p)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("a token reached the logs:\n%s", logs.String())
	}
}

// Anyone may ask for any label; made-up ones must not pile up in memory.
func TestEmptyLabelsAreNotCached(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.mustUpload("acme", spec("demo", "1.0", "0", "noarch", condatest.Conda), "dev")
	get := func(p string) {
		if r := e.do("GET", p, "", nil); r.status != 200 {
			t.Fatalf("GET %s: %d", p, r.status)
		}
	}
	before := e.store.subdirSnapshots.Load()
	for range 3 {
		get("/conda/acme/label/madeup/noarch/repodata.json.zst")
	}
	if n := e.store.subdirSnapshots.Load() - before; n != 3 {
		t.Errorf("three requests of an empty label took %d snapshots; want 3 (not cached)", n)
	}
	before = e.store.subdirSnapshots.Load()
	for range 3 {
		get("/conda/acme/label/dev/noarch/repodata.json.zst")
		get("/conda/acme/noarch/repodata.json.zst") // main is kept even when empty
	}
	if n := e.store.subdirSnapshots.Load() - before; n != 2 {
		t.Errorf("three requests each of dev and main took %d snapshots; want 2 (cached)", n)
	}
}

func TestReuploadWithNewLabelAddsIt(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	s := spec("demo", "1.0", "0", "noarch", condatest.Conda)
	data := e.mustUpload("acme", s, "dev")
	r := e.upload("acme", s.Filename(), data, "stable")
	if r.status != 200 {
		t.Fatalf("same bytes with a new label: %d %s", r.status, r.body)
	}
	var f struct{ Labels []string }
	r.json(t, &f)
	if strings.Join(f.Labels, ",") != "dev,stable" {
		t.Errorf("labels = %v, want dev,stable", f.Labels)
	}
	if got := e.repodata("/conda/acme/label/stable/noarch/repodata.json").filenames(); len(got) != 1 {
		t.Errorf("stable after re-upload = %v", got)
	}
}

// A client that read the shard index just before a change must still get the shards it names.
func TestShardsOfThePreviousRevisionStayServed(t *testing.T) {
	e := newEnv(t, backends[0])
	e.createChannel("acme", false)
	e.mustUpload("acme", spec("demo", "1.0", "0", "noarch", condatest.Conda))
	shardURL := func() string {
		r := e.do("GET", "/conda/acme/noarch/repodata_shards.msgpack.zst", "", nil)
		var idx struct {
			Shards map[string][]byte `msgpack:"shards"`
		}
		if err := msgpack.Unmarshal(unzstd(t, r.body), &idx); err != nil {
			t.Fatal(err)
		}
		return "/conda/acme/noarch/shards/" + hex.EncodeToString(idx.Shards["demo"]) + ".msgpack.zst"
	}
	old := shardURL()
	oldBody := e.do("GET", old, "", nil).body
	e.mustUpload("acme", spec("demo", "2.0", "0", "noarch", condatest.Conda))
	if cur := shardURL(); cur == old {
		t.Fatal("the demo shard did not change with a new version")
	}
	r := e.do("GET", old, "", nil)
	if r.status != 200 || !bytes.Equal(r.body, oldBody) {
		t.Errorf("previous revision's shard: %d; want 200 and the same bytes", r.status)
	}
}

func TestJSONBodies(t *testing.T) {
	e := newEnv(t, backends[0])
	post := func(body []byte) resp {
		return e.do("POST", "/api/v1/channels", admin, body, "Content-Type", "application/json")
	}
	for _, body := range []string{`{"name":"x"} trailing`, `{"name":"x"}{"name":"y"}`, `{"name":"x","extra":1}`, `{"name":`} {
		if r := post([]byte(body)); r.status != 400 {
			t.Errorf("POST %q: %d %s, want 400", body, r.status, r.body)
		}
	}
	big := append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 2<<20)...)
	if r := post(append(big, `"}`...)); r.status != 413 {
		t.Errorf("2 MiB body: %d, want 413", r.status)
	}
	if r := post([]byte("{\"name\":\"x\"}\n")); r.status != 201 {
		t.Errorf("a body with a trailing newline: %d %s, want 201", r.status, r.body)
	}
}

// Credentials are verified once and remembered; a wrong password is never let through by it.
func TestRememberedCredentials(t *testing.T) {
	e := newEnv(t, backends[0])
	e.user("bob", "bob-password-123")
	for i, c := range []struct {
		auth string
		want int
	}{
		{"bob:bob-password-123", 200},
		{"bob:bob-password-123", 200},
		{"bob:bob-password-1234", 401},
		{"bob:bob-password-12", 401},
		{"bob:bob-password-123", 200},
	} {
		if r := e.do("GET", "/api/v1/user", c.auth, nil); r.status != c.want {
			t.Errorf("request %d as %q: %d, want %d", i, c.auth, r.status, c.want)
		}
	}
}
