package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
	"github.com/wharfhq/wharf/internal/store"
)

// heldBody is a request body that sends its first half in small pieces, then waits for the
// test to let it send the rest: the upload is in flight, mid-body, while the test changes
// who may do what.
type heldBody struct {
	data     []byte
	off      int
	resume   chan struct{}
	resumed  bool
	chunkLen int
}

func newHeldBody(data []byte) *heldBody {
	return &heldBody{data: data, resume: make(chan struct{}), chunkLen: 16 << 10}
}

func (t *heldBody) Read(p []byte) (int, error) {
	half := len(t.data) / 2
	if t.off >= half && !t.resumed {
		<-t.resume
		t.resumed = true
	}
	if t.off >= len(t.data) {
		return 0, io.EOF
	}
	end := min(t.off+len(p), t.off+t.chunkLen, len(t.data))
	if !t.resumed {
		end = min(end, half)
	}
	n := copy(p, t.data[t.off:end])
	t.off += n
	return n, nil
}

// slowUpload sends body to path with header, holding back its second half until mid has
// run: mid runs once the server has authorized the upload and spooled some of it (a file in
// its spool directory with bytes in it). It returns the answer.
func (e *env) slowUpload(method, path string, body []byte, mid func(), header ...string) resp {
	e.t.Helper()
	tr := newHeldBody(body)
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, tr)
	if err != nil {
		e.t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	type answer struct {
		r   resp
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := e.srv.Client().Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- answer{resp{res.StatusCode, res.Header, b}, err}
	}()
	// The server spools what it has read of an authorized upload: wait for bytes there.
	deadline := time.Now().Add(30 * time.Second)
	for !spooling(e.t, e.tempDir) {
		select {
		case a := <-done:
			e.t.Fatalf("%s %s answered before the body was sent: %d %s (%v)", method, path, a.r.status, a.r.body, a.err)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s %s: nothing spooled after 30 s", method, path)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mid()
	close(tr.resume)
	a := <-done
	if a.err != nil {
		e.t.Fatalf("%s %s: %v", method, path, a.err)
	}
	return a.r
}

// spooling reports whether dir holds an upload with bytes in it.
func spooling(t testing.TB, dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if fi, err := en.Info(); err == nil && fi.Size() > 0 {
			return true
		}
	}
	return false
}

// random is n bytes that do not compress: the package is as large on the wire as it says.
func random(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// twineBody is twine's multipart upload of a distribution, with its content type.
func twineBody(data []byte, filename, name, version string) ([]byte, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	sum := sha256.Sum256(data)
	for k, v := range map[string]string{":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
		"name": name, "version": version, "sha256_digest": hex.EncodeToString(sum[:])} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("content", filename)
	fw.Write(data)
	mw.Close()
	return body.Bytes(), mw.FormDataContentType()
}

// Issue 12, item 10b (security.md §6 row 34): the credential and its owner's rights are
// asked again when an upload is published, in the transaction that publishes it. A token
// revoked or reissued, an account disabled, a write grant removed while the bytes are on
// their way: the upload is refused and nothing is left (no file, package, label, event or
// revision; the spooled file removed; the blob not written). Through the REST API and
// twine's POST, with tokens and with passwords, on SQLite and on PostgreSQL.
func TestUploadRefusedAtCommit(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testUploadRefusedAtCommit(t, b) })
	}
}

// commitEnv is acme (public, the org's channel), where bob may write through the group devs.
func commitEnv(t *testing.T, b backend) *env {
	e := newEnv(t, b)
	e.users(alice, bob)
	e.mustDo("POST", "/api/v1/orgs", alice, map[string]string{"name": "acme"}, 201)
	e.mustDo("POST", "/api/v1/orgs/acme/groups", alice, map[string]string{"name": "devs"}, 201)
	e.restoreBob()
	return e
}

// restoreBob makes bob an enabled member of devs, which may write to acme.
func (e *env) restoreBob() {
	e.t.Helper()
	e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": false}, 200)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/grants", alice, map[string]string{"channel": "acme", "level": "write"}, 200)
}

// upload is one upload the tests send: where, how, and what it would publish.
type upload struct {
	method, path     string
	header           []string
	body, data       []byte // the request body, and the file's bytes in it
	subdir, filename string
	pkg              string
}

// bigUpload is a conda package (REST API) or a wheel (twine) of about 1 MiB, unlike any
// other, sent with the credential header gives.
func bigUpload(t *testing.T, twine bool, header ...string) upload {
	data := random(t, 1<<20)
	name := "big-" + hex.EncodeToString(data[:4]) // a package of its own, to tell whether it is left
	if twine {
		s := pypitest.Spec{Name: name, Version: "1.0", Files: map[string][]byte{"big/data.bin": data}}
		b := pypitest.Build(t, s)
		body, ctype := twineBody(b, s.Filename(), s.Name, s.Version)
		return upload{"POST", "/pypi/acme/", append(header, "Content-Type", ctype), body, b, "pypi", s.Filename(), name}
	}
	s := condatest.Spec{Name: name, Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic", Files: map[string][]byte{"share/big.bin": data}}
	b := condatest.Build(t, s)
	return upload{"PUT", "/api/v1/channels/acme/files/" + s.Filename(), header, b, b, "noarch", s.Filename(), name}
}

// channelState is what a publication moves: the revision, the history, the labels.
func (e *env) channelState(name string) string {
	e.t.Helper()
	ch, err := e.store.ChannelByName(e.t.Context(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	evs, _ := e.store.Events(e.t.Context(), ch.ID, 1000)
	labels, _ := e.store.Labels(e.t.Context(), ch.ID)
	return mustJSON(map[string]any{"revision": ch.Revision, "events": len(evs), "labels": labels})
}

// nothingLeft checks that a refused upload left no trace in acme, but its blob when
// blobKept (then unreferenced).
func (e *env) nothingLeft(what string, u upload, before string, blobKept bool) {
	t, ctx := e.t, e.t.Context()
	t.Helper()
	ch, _ := e.store.ChannelByName(ctx, "acme")
	if _, err := e.store.File(ctx, ch.ID, store.FileRef{Subdir: u.subdir, Filename: u.filename}, ""); !store.IsNotFound(err) {
		t.Errorf("%s: the file is stored (%v)", what, err)
	}
	if _, err := e.store.PackagePrivacy(ctx, ch.ID, u.pkg); !store.IsNotFound(err) {
		t.Errorf("%s: its package is stored (%v)", what, err)
	}
	if after := e.channelState("acme"); after != before {
		t.Errorf("%s: the channel moved: %s, before %s", what, after, before)
	}
	waitEmpty(t.(*testing.T), e.tempDir)
	sum := sha256.Sum256(u.data)
	sha := hex.EncodeToString(sum[:])
	_, err := e.blobs.Stat(ctx, blob.Key(sha))
	switch {
	case blobKept && err != nil:
		t.Errorf("%s: the blob was written before the refusal, yet is not there: %v", what, err)
	case blobKept:
		if in, _ := e.store.BlobInUse(ctx, sha); in {
			t.Errorf("%s: the blob is referenced", what)
		}
	case !errors.Is(err, blob.ErrNotFound):
		t.Errorf("%s: the blob was written (%v)", what, err)
	}
}

func testUploadRefusedAtCommit(t *testing.T, b backend) {
	e := commitEnv(t, b)
	newToken := func(name string) string {
		return e.newToken(bob, map[string]any{"name": name, "scopes": []string{"repos"}})
	}
	tokenHeader := func(tok string) []string { return []string{"Authorization", "token " + tok} }
	twineToken := func(tok string) []string { return []string{"Authorization", "Basic " + encodeBase64("__token__:"+tok)} }
	password := []string{"Authorization", "Basic " + encodeBase64(bob)}

	// The harness itself: trickled uploads nothing happens to are published.
	for _, twine := range []bool{false, true} {
		u := bigUpload(t, twine, tokenHeader(newToken("control-"+map[bool]string{false: "api", true: "twine"}[twine]))...)
		if r := e.slowUpload(u.method, u.path, u.body, func() {}, u.header...); r.status != 201 {
			t.Fatalf("trickled upload (twine %v), nothing changed: %d %s", twine, r.status, r.body)
		}
		waitEmpty(t, e.tempDir)
	}

	for _, c := range []struct {
		what   string
		twine  bool
		header func() []string
		change func()
		want   int
	}{
		{"token revoked, REST API", false, func() []string { return tokenHeader(newToken("revoked")) },
			func() { e.mustDo("DELETE", "/api/v1/tokens/revoked", bob, nil, 204) }, 401},
		{"token reissued, REST API", false, func() []string { return tokenHeader(newToken("reissued")) },
			func() { e.mustDo("PATCH", "/api/v1/tokens/reissued", bob, map[string]any{"reissue": true}, 200) }, 401},
		{"token revoked, twine", true, func() []string { return twineToken(newToken("twine-revoked")) },
			func() { e.mustDo("DELETE", "/api/v1/tokens/twine-revoked", bob, nil, 204) }, 401},
		{"token's owner disabled, twine", true, func() []string { return twineToken(newToken("owner-disabled")) },
			func() { e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": true}, 200) }, 401},
		{"token's owner out of the group, REST API", false, func() []string { return tokenHeader(newToken("left")) },
			func() { e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/members/bob", alice, nil, 204) }, 403},
		{"account disabled, password, REST API", false, func() []string { return password },
			func() { e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": true}, 200) }, 401},
		{"write grant removed, password, REST API", false, func() []string { return password },
			func() { e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/grants?channel=acme", alice, nil, 204) }, 403},
		{"write grant removed, password, twine", true, func() []string { return password },
			func() { e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/grants?channel=acme", alice, nil, 204) }, 403},
		{"account disabled, password, twine", true, func() []string { return password },
			func() { e.mustDo("PATCH", "/api/v1/users/bob", admin, map[string]bool{"disabled": true}, 200) }, 401},
		{"organization token's maker no longer an owner, REST API", false, func() []string {
			e.mustDo("PUT", "/api/v1/orgs/acme/members/bob", alice, map[string]string{"role": "owner"}, 200)
			return tokenHeader(e.newToken(bob, map[string]any{"name": "org-deploy", "org": "acme", "scopes": []string{"conda"}}))
		}, func() {
			e.mustDo("PUT", "/api/v1/orgs/acme/members/bob", alice, map[string]string{"role": "member"}, 200)
		}, 401},
	} {
		u := bigUpload(t, c.twine, c.header()...)
		var before string
		r := e.slowUpload(u.method, u.path, u.body, func() {
			c.change()
			before = e.channelState("acme") // the change itself may write the channel's history
		}, u.header...)
		if r.status != c.want || len(r.body) == 0 {
			t.Errorf("%s: %d %s, want %d", c.what, r.status, r.body, c.want)
		}
		e.nothingLeft(c.what, u, before, false)
		e.restoreBob()
	}

	// A password changed while the upload is on its way: the credential the upload came with
	// no longer signs in, so it publishes nothing.
	carol := "carol:carol-uploads-a-lot"
	e.users(carol)
	e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/carol", alice, nil, 204)
	pw := bigUpload(t, false, "Authorization", "Basic "+encodeBase64(carol))
	var before string
	r := e.slowUpload(pw.method, pw.path, pw.body, func() {
		e.mustDo("PUT", "/api/v1/user/password", carol, map[string]string{"old_password": "carol-uploads-a-lot", "new_password": "a brand new passphrase 9"}, 204)
		before = e.channelState("acme")
	}, pw.header...)
	if r.status != 401 || !strings.Contains(string(r.body), "password changed") {
		t.Errorf("password changed mid-upload: %d %s, want 401", r.status, r.body)
	}
	e.nothingLeft("password changed mid-upload", pw, before, false)

	// A revocation in the moment between the blob and the publication: the transaction that
	// publishes refuses; the blob stays, unreferenced (content-addressed: a later upload of
	// the same bytes uses it, and nothing names it).
	tok := newToken("late")
	u := bigUpload(t, false, tokenHeader(tok)...)
	before = e.channelState("acme")
	late := func() {
		bobUser, _ := e.store.UserByName(context.Background(), "bob")
		lt, err := e.store.TokenOf(context.Background(), bobUser.ID, 0, "late")
		if err != nil {
			t.Error(err)
			return
		}
		if err := e.store.DeleteToken(context.Background(), lt.ID); err != nil {
			t.Error(err)
		}
	}
	e.store.beforeAddFile.Store(&late)
	r = e.do(u.method, u.path, "", u.body, u.header...)
	e.store.beforeAddFile.Store(nil)
	if r.status != 401 || !strings.Contains(string(r.body), "revoked") {
		t.Errorf("revoked between the blob and the commit: %d %s, want 401", r.status, r.body)
	}
	e.nothingLeft("revoked between the blob and the commit", u, before, true)
}

// An upload with a password whose stored hash is replaced by another hash of the same
// password (the NFKC upgrade, issue 12 item 10) is published: the password still signs in,
// so nothing it came with changed. The request that upgrades the hash keeps its upload; so
// does one whose hash another request upgraded meanwhile (parallel uploads of `wharf upload`
// all signing in with the hash from before, one of them storing the new one); a password
// that no longer signs in is still refused.
func TestUploadKeptThroughPasswordRehash(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := commitEnv(t, b)
			ctx := t.Context()
			const typed = "ｄｏｒａ ｕｐｌｏａｄｓ ４２" // full width: NFKC changes it
			u, err := e.store.CreateUser(ctx, store.NewUser{Name: "dora", Email: "dora@example.com", EmailVerified: true, PasswordHash: hashAsTyped(typed)})
			if err != nil {
				t.Fatal(err)
			}
			e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/dora", alice, nil, 204)
			basic := []string{"Authorization", "Basic " + encodeBase64("dora:"+typed)}

			// The upload that signs in with the hash from before, and replaces it.
			for _, twine := range []bool{false, true} {
				up := bigUpload(t, twine, basic...)
				if r := e.do(up.method, up.path, "", up.body, up.header...); r.status != 201 {
					t.Errorf("upload whose sign-in upgrades the hash (twine %v): %d %s, want 201", twine, r.status, r.body)
				}
				if got, _ := e.store.UserByID(ctx, u.ID); got.PasswordHash == "" || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
					t.Fatalf("dora's hash after the sign-in: %q", got.PasswordHash)
				}
				// Back to a hash from before, for the next round (the server's caches are
				// emptied by a change through its API: dora's group membership).
				legacy := hashAsTyped(typed)
				if _, err := e.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &legacy}); err != nil {
					t.Fatal(err)
				}
				e.mustDo("DELETE", "/api/v1/orgs/acme/groups/devs/members/dora", alice, nil, 204)
				e.mustDo("PUT", "/api/v1/orgs/acme/groups/devs/members/dora", alice, nil, 204)
			}

			// Another request stores its own hash of the same password while this upload is
			// on its way.
			for _, twine := range []bool{false, true} {
				up := bigUpload(t, twine, basic...)
				r := e.slowUpload(up.method, up.path, up.body, func() {
					cur, err := e.store.UserByID(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					other, err := access.HashPassword(typed)
					if err != nil {
						t.Fatal(err)
					}
					if ok, err := e.store.RehashPassword(ctx, u.ID, cur.PasswordHash, other); err != nil || !ok {
						t.Fatalf("rehash: %v %v", ok, err)
					}
				}, up.header...)
				if r.status != 201 {
					t.Errorf("upload whose hash another request upgraded meanwhile (twine %v): %d %s, want 201", twine, r.status, r.body)
				}
			}

			// A password changed meanwhile: the one the upload came with no longer signs in.
			up := bigUpload(t, false, basic...)
			var before string
			r := e.slowUpload(up.method, up.path, up.body, func() {
				e.mustDo("PUT", "/api/v1/user/password", "dora:"+typed, map[string]string{"old_password": typed, "new_password": "a brand new passphrase 9"}, 204)
				before = e.channelState("acme")
			}, up.header...)
			if r.status != 401 || !strings.Contains(string(r.body), "password changed") {
				t.Errorf("password changed mid-upload: %d %s, want 401", r.status, r.body)
			}
			e.nothingLeft("password changed mid-upload", up, before, false)
		})
	}
}
