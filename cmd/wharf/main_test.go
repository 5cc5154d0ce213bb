package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/pypi/pypitest"
)

var wharfBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wharf-bin-")
	if err != nil {
		panic(err)
	}
	wharfBin = filepath.Join(dir, "wharf")
	out, err := exec.Command("go", "build", "-o", wharfBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// wharf runs the binary and returns its standard output; it fails the test on a non-zero exit
// unless wantFail.
func wharf(t *testing.T, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), wharfBin, args...)
	// The credentials of whoever runs the tests are not the test's: only env gives them.
	cmd.Env = append(os.Environ(), "WHARF_SERVER=", "WHARF_USERNAME=", "WHARF_PASSWORD=", "WHARF_TOKEN=", "WHARF_SITE=", "WHARF_CREDENTIAL_STORE=")
	// Nor are the sites and tokens wharf login stored for them: an empty home, unless env
	// gives one.
	home := t.TempDir()
	cmd.Env = append(cmd.Env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("wharf %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func mustWharf(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	out, err := wharf(t, env, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is a running `wharf serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startServer(t *testing.T, data, addr string, extra ...string) *server {
	t.Helper()
	cmd := exec.Command(wharfBin, append([]string{"serve", "--data", data, "--listen", addr}, extra...)...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(s.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func repodataFiles(t *testing.T, url string) map[string]bool {
	t.Helper()
	status, body := get(t, url)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	var rd struct {
		Packages      map[string]any `json:"packages"`
		PackagesConda map[string]any `json:"packages.conda"`
	}
	if err := json.Unmarshal(body, &rd); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for fn := range rd.Packages {
		out[fn] = true
	}
	for fn := range rd.PackagesConda {
		out[fn] = true
	}
	return out
}

func TestCLIEndToEnd(t *testing.T) {
	data := t.TempDir()
	addr := freePort(t)
	s := startServer(t, data, addr)

	// An admin with a password from stdin, and a user with a generated one (printed once).
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--admin", "--password-stdin", "--data", data)
	var gen map[string]any
	if err := json.Unmarshal([]byte(mustWharf(t, nil, "", "admin", "create-user", "bob", "--email", "bob@example.com", "--json", "--data", data)), &gen); err != nil {
		t.Fatal(err)
	}
	if pw, _ := gen["password"].(string); len(pw) < 16 {
		t.Errorf("generated password = %q", gen["password"])
	}
	if _, err := wharf(t, nil, "", "admin", "create-user", "alice", "--email", "a@b.c", "--data", data); err == nil {
		t.Error("a second alice was created")
	}

	env := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	mustWharf(t, env, "", "channel", "create", "acme")
	mustWharf(t, env, "", "channel", "create", "acme/dev", "--private")

	dir := t.TempDir()
	a := condatest.WriteFile(t, dir, condatest.Spec{Name: "alpha", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"})
	b := condatest.WriteFile(t, dir, condatest.Spec{Name: "beta", Version: "2.0", Build: "h1_0", Subdir: "linux-64", Format: condatest.TarBz2})
	var up []map[string]any
	if err := json.Unmarshal([]byte(mustWharf(t, env, "", "upload", a, b, "-c", "acme", "-l", "main", "-l", "dev", "--json")), &up); err != nil {
		t.Fatal(err)
	}
	if len(up) != 2 || up[1]["subdir"] != "linux-64" {
		t.Errorf("upload --json = %v", up)
	}
	if out := mustWharf(t, env, "", "upload", a, "-c", "acme"); !strings.Contains(out, "already there") {
		t.Errorf("re-upload said %q", out)
	}
	if files := repodataFiles(t, s.url+"/conda/acme/label/dev/linux-64/repodata.json"); !files["beta-2.0-h1_0.tar.bz2"] {
		t.Errorf("dev/linux-64 = %v", files)
	}

	// Without credentials the upload is refused, with a message that says what to do.
	if _, err := wharf(t, []string{"WHARF_SERVER=" + s.url}, "", "upload", a, "-c", "acme"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("anonymous upload: %v", err)
	}

	// Labels, copy and move.
	mustWharf(t, env, "", "copy", "acme", "noarch/alpha-1.0-0.conda", "--to-label", "staging")
	mustWharf(t, env, "", "move", "acme", "--from-label", "dev", "--to-label", "qa")
	var labels []map[string]any
	if err := json.Unmarshal([]byte(mustWharf(t, env, "", "label", "list", "acme", "--json")), &labels); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, l := range labels {
		got[l["label"].(string)] = l["files"].(float64)
	}
	if want := map[string]float64{"main": 2, "qa": 2, "staging": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	mustWharf(t, env, "", "copy", "acme", "linux-64/beta-2.0-h1_0.tar.bz2", "--to-channel", "acme/dev")
	if status, _ := get(t, s.url+"/conda/acme/dev/linux-64/repodata.json"); status != 404 {
		t.Errorf("private subchannel, anonymous: %d", status)
	}

	// Every listing has --json output that parses.
	for _, args := range [][]string{{"channel", "list"}, {"channel", "show", "acme"}, {"channel", "history", "acme"}, {"file", "list", "acme"}, {"file", "list", "acme", "-l", "qa"}} {
		out := mustWharf(t, env, "", append(args, "--json")...)
		if !json.Valid([]byte(out)) {
			t.Errorf("wharf %v --json printed %q", args, out)
		}
	}

	mustWharf(t, env, "", "file", "remove", "acme", "linux-64/beta-2.0-h1_0.tar.bz2")
	if files := repodataFiles(t, s.url+"/conda/acme/linux-64/repodata.json"); len(files) != 0 {
		t.Errorf("after remove: %v", files)
	}
	if _, err := wharf(t, env, "", "file", "remove", "acme", "beta.tar.bz2"); err == nil {
		t.Error("remove with a malformed file name succeeded")
	}
	hist := mustWharf(t, env, "", "channel", "history", "acme")
	for _, want := range []string{"file.upload", "file.copy", "file.move", "file.remove", "alice"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %s:\n%s", want, hist)
		}
	}
}

// simplePage is the PEP 691 JSON of a Simple API project page, as far as the tests read it.
type simplePage struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
	Files    []struct {
		Filename string            `json:"filename"`
		URL      string            `json:"url"`
		Hashes   map[string]string `json:"hashes"`
		Yanked   any               `json:"yanked"` // false, or the reason
	} `json:"files"`
}

// getSimple reads a Simple API page as JSON; the status is returned with the page.
func getSimple(t *testing.T, url string) (int, simplePage) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p simplePage
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return res.StatusCode, p
}

// TestCLIPythonPackages uploads a wheel and an sdist with wharf upload (next to a conda
// package), finds them on the channel's Simple API page, yanks and unyanks the release and
// one file, and removes a file.
func TestCLIPythonPackages(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--admin", "--password-stdin", "--data", data)
	env := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	if out := mustWharf(t, env, "", "channel", "create", "acme"); !strings.Contains(out, "pip:   "+s.url+"/pypi/acme/simple/") || !strings.Contains(out, "twine: "+s.url+"/pypi/acme/") {
		t.Errorf("channel create does not say where pip and twine find the channel:\n%s", out)
	}

	dir := t.TempDir()
	whl := pypitest.Spec{Name: "demo-lib", Version: "1.0", MetadataVersion: "2.1"}
	sdist := pypitest.Spec{Kind: pypitest.TarGz, Name: "demo-lib", Version: "1.0", MetadataVersion: "2.1"}
	wheel := pypitest.WriteFile(t, dir, whl)
	conda := condatest.WriteFile(t, dir, condatest.Spec{Name: "alpha", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"})
	var up []struct{ Kind, Subdir, Filename, Package, Version string }
	if err := json.Unmarshal([]byte(mustWharf(t, env, "", "upload", wheel, pypitest.WriteFile(t, dir, sdist), conda, "-c", "acme", "--json")), &up); err != nil {
		t.Fatal(err)
	}
	if len(up) != 3 || up[0].Kind != "pypi" || up[0].Subdir != "pypi" || up[0].Package != "demo-lib" || up[0].Version != "1.0" || up[2].Kind != "conda" {
		t.Errorf("upload --json = %+v", up)
	}
	if out := mustWharf(t, env, "", "upload", wheel, "-c", "acme"); !strings.Contains(out, "already there") || !strings.Contains(out, "acme/pypi/"+whl.Filename()) {
		t.Errorf("re-upload of the wheel said %q", out)
	}
	other := pypitest.WriteFile(t, t.TempDir(), pypitest.Spec{Name: "demo-lib", Version: "1.0", MetadataVersion: "2.1", Fields: []string{"Summary: other bytes"}})
	if _, err := wharf(t, env, "", "upload", other, "-c", "acme"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("other bytes under the wheel's name: %v; want a 409", err)
	}
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("x"), 0o644)
	if _, err := wharf(t, env, "", "upload", notes, "-c", "acme"); err == nil || !strings.Contains(err.Error(), ".whl") {
		t.Errorf("upload of a text file: %v; want a refusal naming what is taken", err)
	}

	page := s.url + "/pypi/acme/simple/demo-lib/"
	yanked := func() map[string]any {
		t.Helper()
		status, p := getSimple(t, page)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", page, status)
		}
		got := map[string]any{}
		for _, f := range p.Files {
			got[f.Filename] = f.Yanked
		}
		return got
	}
	w, sd := whl.Filename(), sdist.Filename()
	if got := yanked(); fmt.Sprint(got) != fmt.Sprint(map[string]any{w: false, sd: false}) {
		t.Fatalf("the page lists %v; want the wheel and the sdist, not yanked", got)
	}

	// Yank the release (the project in another spelling), then unyank it.
	var rel struct {
		Project, Version string
		Yanked           bool
		Files            int
	}
	if err := json.Unmarshal([]byte(mustWharf(t, env, "", "yank", "acme", "Demo_Lib", "1.0", "--reason", "broken build", "--json")), &rel); err != nil {
		t.Fatal(err)
	}
	if rel.Project != "demo-lib" || rel.Version != "1.0" || !rel.Yanked || rel.Files != 2 {
		t.Errorf("yank --json = %+v", rel)
	}
	if got := yanked(); got[w] != "broken build" || got[sd] != "broken build" {
		t.Errorf("after yank: %v", got)
	}
	if out := mustWharf(t, env, "", "unyank", "acme", "demo-lib", "1.0"); !strings.Contains(out, "unyanked demo-lib 1.0 in acme (2 files)") {
		t.Errorf("unyank said %q", out)
	}
	if got := yanked(); got[w] != false || got[sd] != false {
		t.Errorf("after unyank: %v", got)
	}

	// One file, named as wharf file list shows it or by its filename.
	mustWharf(t, env, "", "yank", "acme", "--file", "pypi/"+sd, "--reason", "use the wheel")
	if got := yanked(); got[w] != false || got[sd] != "use the wheel" {
		t.Errorf("after yank --file: %v", got)
	}
	mustWharf(t, env, "", "unyank", "acme", "--file", sd)
	if got := yanked(); got[sd] != false {
		t.Errorf("after unyank --file: %v", got)
	}
	if _, err := wharf(t, env, "", "yank", "acme", "demo-lib", "9.9"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("yank of a release that is not there: %v", err)
	}
	if _, err := wharf(t, env, "", "yank", "acme", "--file", "noarch/alpha-1.0-0.conda"); err == nil || !strings.Contains(err.Error(), "only Python distributions") {
		t.Errorf("yank of a conda package: %v", err)
	}

	// Removed: off the page at once; the project goes with its last file.
	mustWharf(t, env, "", "file", "remove", "acme", "pypi/"+sd)
	if got := yanked(); len(got) != 1 || got[w] != false {
		t.Errorf("after file remove: %v", got)
	}
	mustWharf(t, env, "", "file", "remove", "acme", "pypi/"+w)
	if status, _ := getSimple(t, page); status != http.StatusNotFound {
		t.Errorf("the page of a project without files: %d, want 404", status)
	}
	hist := mustWharf(t, env, "", "channel", "history", "acme")
	for _, want := range []string{"release.yank", "release.unyank", "file.remove"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %s:\n%s", want, hist)
		}
	}
}

// TestKillMidUpload kills the server with SIGKILL while an upload is half sent, restarts it,
// and checks that the previous state is served and nothing half-written is visible.
func TestKillMidUpload(t *testing.T) {
	data := t.TempDir()
	addr := freePort(t)
	s := startServer(t, data, addr)
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "a@example.com", "--admin", "--password-stdin", "--data", data)
	env := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	mustWharf(t, env, "", "channel", "create", "acme")
	dir := t.TempDir()
	first := condatest.Spec{Name: "first", Subdir: "noarch", Noarch: "generic"}
	mustWharf(t, env, "", "upload", condatest.WriteFile(t, dir, first), "-c", "acme")

	payload := make([]byte, 8<<20)
	rand.Read(payload)
	big := condatest.Spec{Name: "big", Subdir: "noarch", Noarch: "generic", Files: map[string][]byte{"share/big.bin": payload}}
	bigBytes := condatest.Build(t, big)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v1/channels/acme/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: %d\r\n\r\n",
		big.Filename(), base64.StdEncoding.EncodeToString([]byte("alice:secret-password-1")), len(bigBytes))
	if _, err := conn.Write(bigBytes[:len(bigBytes)/2]); err != nil {
		t.Fatal(err)
	}
	// Wait until the server is spooling the body, then kill it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if left, _ := os.ReadDir(filepath.Join(data, "tmp")); len(left) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached the spool directory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()

	s = startServer(t, data, addr)
	files := repodataFiles(t, s.url+"/conda/acme/noarch/repodata.json")
	if !files[first.Filename()] || files[big.Filename()] || len(files) != 1 {
		t.Errorf("after restart, repodata = %v; want only %s", files, first.Filename())
	}
	if status, _ := get(t, s.url+"/conda/acme/noarch/"+big.Filename()); status != 404 {
		t.Errorf("half-uploaded file: %d, want 404", status)
	}
	if left, _ := os.ReadDir(filepath.Join(data, "tmp")); len(left) != 0 {
		t.Errorf("spooled upload survived the restart: %v", left)
	}
	bigPath := filepath.Join(dir, big.Filename())
	if err := os.WriteFile(bigPath, bigBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	mustWharf(t, env, "", "upload", bigPath, "-c", "acme")
	status, body := get(t, s.url+"/conda/acme/noarch/"+big.Filename())
	if status != 200 || !bytes.Equal(body, bigBytes) {
		t.Errorf("full upload after restart: %d, %d bytes", status, len(body))
	}
}

// mailedToken returns the token of the newest link to path (/account/verify, /account/reset)
// mailed to addr, read from the server's outbox.
func mailedToken(t *testing.T, data, addr, path string) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(path) + `\?token=([A-Za-z0-9_-]+)`)
	var tok string
	msgs := waitMail(t, data, func(m mail.Message) bool {
		if f := link.FindStringSubmatch(m.Text); m.To == addr && f != nil {
			tok = f[1]
			return true
		}
		return false
	})
	if tok == "" {
		t.Fatalf("no mail to %s with a link to %s in the outbox: %v", addr, path, msgs)
	}
	return tok
}

// waitMail reads the server's outbox until a mail, the newest first, satisfies found (the
// server sends account mail after it answers), for up to 30 seconds (a loaded disk is slow
// to fsync); it returns the outbox.
func waitMail(t *testing.T, data string, found func(mail.Message) bool) []mail.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs, err := mail.ReadOutbox(filepath.Join(data, "outbox"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if found(msgs[i]) {
				return msgs
			}
		}
		if time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCLIAccountsOrgsAndPrivacy(t *testing.T) {
	data := t.TempDir()
	addr := freePort(t)
	s := startServer(t, data, addr, "--signup", "open")
	srv := []string{"WHARF_SERVER=" + s.url}

	// Sign up; the account is unusable until the mailed link is followed.
	const carolPW = "tidal marble orchard 77"
	out := mustWharf(t, srv, carolPW+"\n", "signup", "carol", "--email", "carol@example.com", "--password-stdin")
	if !strings.Contains(out, "wharf account verify") {
		t.Errorf("signup said %q; want the next step", out)
	}
	carol := append(srv, "WHARF_USERNAME=carol", "WHARF_PASSWORD="+carolPW)
	// The account is made after the answer, with its mail: once that is out, it is there.
	token := mailedToken(t, data, "carol@example.com", "/account/verify")
	if _, err := wharf(t, carol, "", "whoami"); err == nil || !strings.Contains(err.Error(), "confirm your email") {
		t.Errorf("whoami before confirming: %v", err)
	}
	if _, err := wharf(t, srv, "", "signup", "dora", "--email", "dora@example.com"); err == nil || !strings.Contains(err.Error(), "--password-stdin") {
		t.Errorf("signup without a password: %v; want to be told how to give one", err)
	}
	// The credentials in the environment are not sent: an unconfirmed account's are refused.
	if out := mustWharf(t, nil, "", "admin", "outbox", "--data", data, "--to", "carol@example.com"); !strings.Contains(out, "/account/verify?token="+token+"\n") {
		t.Errorf("admin outbox does not show the link whole:\n%s", out)
	}
	mustWharf(t, carol, "", "account", "verify", token)
	if out := mustWharf(t, carol, "", "whoami"); !strings.Contains(out, "carol <carol@example.com>") {
		t.Errorf("whoami = %q", out)
	}

	// An organization with a group that may read its channel, which then goes private.
	mustWharf(t, nil, "quiet river lantern 55\n", "admin", "create-user", "bob", "--email", "bob@example.com", "--password-stdin", "--data", data)
	bob := append(srv, "WHARF_USERNAME=bob", "WHARF_PASSWORD=quiet river lantern 55")
	mustWharf(t, carol, "", "org", "create", "acme")
	mustWharf(t, carol, "", "group", "create", "acme", "devs")
	mustWharf(t, carol, "", "group", "add", "acme", "devs", "bob")
	mustWharf(t, carol, "", "group", "grant", "acme", "devs", "acme", "read")
	if out := mustWharf(t, carol, "", "channel", "set-private", "acme"); strings.TrimSpace(out) != "acme is private" {
		t.Errorf("set-private said %q", out)
	}
	var org struct {
		Name    string
		Members []struct{ Name, Role string }
		Groups  []struct {
			Name    string
			Members []string
			Grants  []struct{ Channel, Package, Level string }
		}
	}
	if err := json.Unmarshal([]byte(mustWharf(t, carol, "", "org", "show", "acme", "--json")), &org); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(org), "{acme [{bob member} {carol owner}] [{devs [bob] [{acme  read}]}]}"; got != want {
		t.Errorf("org show --json = %s, want %s", got, want)
	}
	if status, _ := get(t, s.url+"/conda/acme/noarch/repodata.json"); status != 404 {
		t.Errorf("private channel, anonymous: %d, want 404", status)
	}
	if out := mustWharf(t, bob, "", "channel", "show", "acme"); !strings.Contains(out, "acme (private") {
		t.Errorf("bob, with a read grant, sees %q", out)
	}
	// A package named in another spelling: said as kept (lowercase: the conda package
	// yankee_lib, the Python project yankee-lib), and revoked in any case.
	if out := mustWharf(t, carol, "", "group", "grant", "acme", "devs", "acme:Yankee_Lib", "read"); strings.TrimSpace(out) != "group devs of acme: read on acme:yankee_lib" {
		t.Errorf("group grant of a package said %q", out)
	}
	mustWharf(t, carol, "", "group", "revoke", "acme", "devs", "acme:YANKEE_LIB")

	// A member who is not an owner may not manage the organization's groups.
	if _, err := wharf(t, bob, "", "group", "create", "acme", "ops"); err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "as bob") {
		t.Errorf("group create by a non-owner: %v; want a 403 that says who asked", err)
	}
	if _, err := wharf(t, bob, "", "channel", "set-public", "acme"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("set-public by a reader: %v", err)
	}

	// Password reset through the mailed link, then a change.
	mustWharf(t, srv, "", "password", "reset", "--email", "carol@example.com")
	link := s.url + "/account/reset?token=" + mailedToken(t, data, "carol@example.com", "/account/reset")
	mustWharf(t, srv, "plum velvet kettle 42\n", "password", "reset-confirm", link, "--password-stdin")
	carol = append(srv, "WHARF_USERNAME=carol", "WHARF_PASSWORD=plum velvet kettle 42")
	mustWharf(t, carol, "plum velvet kettle 43\n", "password", "change", "--password-stdin")
	carol = append(srv, "WHARF_USERNAME=carol", "WHARF_PASSWORD=plum velvet kettle 43")
	mustWharf(t, carol, "", "whoami")

	// Administrators manage accounts over the API.
	mustWharf(t, nil, "admin pass phrase 9\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--admin", "--password-stdin", "--data", data)
	alice := append(srv, "WHARF_USERNAME=alice", "WHARF_PASSWORD=admin pass phrase 9")
	var created struct {
		User     struct{ Name string }
		Password string
	}
	if err := json.Unmarshal([]byte(mustWharf(t, alice, "", "user", "create", "erin", "--email", "erin@example.com", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.User.Name != "erin" || len(created.Password) < 16 {
		t.Errorf("user create --json = %+v", created)
	}
	if out := mustWharf(t, alice, "", "user", "disable", "erin"); strings.TrimSpace(out) != "erin is disabled" {
		t.Errorf("user disable said %q", out)
	}
	if _, err := wharf(t, append(srv, "WHARF_USERNAME=erin", "WHARF_PASSWORD="+created.Password), "", "whoami"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("whoami of a disabled account: %v", err)
	}
	if _, err := wharf(t, carol, "", "user", "list"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("user list by a non-admin: %v", err)
	}
	mustWharf(t, alice, "", "invite", "frank@example.com")
	invited := false
	if msgs := waitMail(t, data, func(m mail.Message) bool { invited = m.To == "frank@example.com"; return invited }); !invited {
		t.Errorf("no invitation in the outbox: %v", msgs)
	}

	// Every command's --json output parses.
	for _, args := range [][]string{{"whoami"}, {"org", "history", "acme"}, {"group", "list", "acme"}, {"group", "revoke", "acme", "devs", "acme"}, {"user", "list"}} {
		who := carol
		if args[0] == "user" {
			who = alice
		}
		if out := mustWharf(t, who, "", append(args, "--json")...); !json.Valid([]byte(out)) {
			t.Errorf("wharf %v --json printed %q", args, out)
		}
	}
}

// getAuth GETs url with the Authorization header auth (none when empty).
func getAuth(t *testing.T, url, auth string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestCLITokens creates, uses, lists, reissues and removes an access token with wharf auth,
// and uses it the ways conda, pip and scripts send it.
func TestCLITokens(t *testing.T) {
	data := t.TempDir()
	addr := freePort(t)
	s := startServer(t, data, addr)
	if status, _ := get(t, s.url+"/api/v1/scopes"); status == http.StatusNotFound {
		t.Skip("waiting for the token API")
	}

	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	alice := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	mustWharf(t, alice, "", "channel", "create", "acme", "--private")
	dir := t.TempDir()
	pkg := condatest.Spec{Name: "alpha", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"}
	mustWharf(t, alice, "", "upload", condatest.WriteFile(t, dir, pkg), "-c", "acme")
	repodata := "/conda/acme/noarch/repodata.json"
	if status, _ := get(t, s.url+repodata); status != http.StatusNotFound {
		t.Fatalf("private channel, anonymous: %d, want 404", status)
	}

	var scopes []struct{ Scope string }
	if err := json.Unmarshal([]byte(mustWharf(t, []string{"WHARF_SERVER=" + s.url}, "", "auth", "--list-scopes", "--json")), &scopes); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(scopes), "{conda:download}") {
		t.Errorf("auth --list-scopes lacks conda:download: %v", scopes)
	}

	// The secret goes to --out, readable by its owner only, and nowhere else.
	file := filepath.Join(dir, "ci.token")
	if out := mustWharf(t, alice, "", "auth", "--create", "--name", "ci", "--scopes", "conda:download", "--resource", "acme:read", "--out", file); out != "" {
		t.Errorf("auth --create --out printed %q on stdout", out)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("--out file: %v, %v; want mode 0600", st, err)
	}
	b, _ := os.ReadFile(file)
	secret := strings.TrimSpace(string(b))
	if !strings.HasPrefix(secret, "wrf") {
		t.Fatalf("--out file holds %q, not a token", secret)
	}
	secrets := []string{secret}

	// The token works in every way the clients send it.
	canRead := func(what, path, auth string) {
		t.Helper()
		status, body := getAuth(t, s.url+path, auth)
		if status != http.StatusOK || !bytes.Contains(body, []byte(pkg.Filename())) {
			t.Errorf("%s: %d %.200s; want the private repodata", what, status, body)
		}
	}
	refused := func(what, path, auth string) {
		t.Helper()
		if status, body := getAuth(t, s.url+path, auth); status != http.StatusUnauthorized {
			t.Errorf("%s: %d %.200s; want 401", what, status, body)
		}
	}
	basic := func(user, pw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw)) }
	// Every refusal spends the sign-in budget of this address (ten failures lock tokens out
	// for a while), so refusals are checked the three ways clients send a token, and success
	// also with conda's second /t/ place.
	everyWay := func(check func(what, path, auth string), tok string) {
		t.Helper()
		check("/t/<token>/conda/… (conda's channel_alias)", "/t/"+tok+repodata, "")
		check("Authorization: token", repodata, "token "+tok)
		check("Basic __token__:<token> (pip, twine)", repodata, basic("__token__", tok))
	}
	everyWay(canRead, secret)
	canRead("/conda/t/<token>/… (channel_alias with a path)", "/conda/t/"+secret+strings.TrimPrefix(repodata, "/conda"), "")

	// wharf commands take it from WHARF_TOKEN, ahead of a password; a download-only token
	// may not upload.
	withToken := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=wrong", "WHARF_TOKEN=" + secret}
	var info struct {
		Name, Owner, Kind string
		Scopes            []string
		Resources         []struct{ Channel, Level string }
	}
	if err := json.Unmarshal([]byte(mustWharf(t, withToken, "", "auth", "--info", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "ci" || info.Owner != "alice" || fmt.Sprint(info.Scopes) != "[conda:download]" || fmt.Sprint(info.Resources) != "[{acme read}]" {
		t.Errorf("auth --info = %+v", info)
	}
	other := condatest.WriteFile(t, dir, condatest.Spec{Name: "beta", Version: "1.0", Build: "0", Subdir: "noarch", Noarch: "generic"})
	if _, err := wharf(t, withToken, "", "upload", other, "-c", "acme"); err == nil {
		t.Error("a conda:download token uploaded a package")
	} else if strings.Contains(err.Error(), secret) {
		t.Errorf("the refusal shows the token: %v", err)
	}

	// The list shows the token, never its secret.
	out := mustWharf(t, alice, "", "auth", "--list", "--json")
	var list []struct{ Name, Kind string }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "ci" {
		t.Errorf("auth --list --json = %s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(mustWharf(t, alice, "", "auth", "--list"), secret) {
		t.Error("auth --list shows the secret")
	}

	// Reissue: the new secret on stdout, the old one dead at once.
	reissued := strings.TrimSpace(mustWharf(t, alice, "", "auth", "--edit", "ci", "--reissue"))
	if !strings.HasPrefix(reissued, "wrf") || reissued == secret {
		t.Fatalf("auth --edit --reissue printed %q; want a new token", reissued)
	}
	secrets = append(secrets, reissued)
	everyWay(refused, secret)
	everyWay(canRead, reissued)

	// Removed: refused at once, and the command says so without showing it.
	mustWharf(t, alice, "", "auth", "--remove", "ci")
	everyWay(refused, reissued)
	_, err = wharf(t, append(withToken[:3:3], "WHARF_TOKEN="+reissued), "", "auth", "--info")
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), reissued) {
		t.Errorf("auth --info with a removed token: %v; want a 401 that does not show the token", err)
	}

	// No secret in the server's log.
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
	logs := s.logs.String()
	if !strings.Contains(logs, "/t/<redacted>/") {
		t.Errorf("the log shows no redacted /t/ request; was it written?\n%s", logs)
	}
	for _, sec := range secrets {
		if strings.Contains(logs, sec) || strings.Contains(logs, sec[5:25]) {
			t.Errorf("the server log shows a token secret:\n%s", logs)
		}
	}
}

// TestCLILogin logs in once and then uses the stored site with no credentials on the command
// line: whoami, channel list, per-channel credentials, and logout, which revokes the token.
func TestCLILogin(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("config directory and file modes differ on Windows")
	}
	data := t.TempDir()
	addr := freePort(t)
	s := startServer(t, data, addr)
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)

	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	cfgDir := filepath.Join(home, ".config", "wharf")
	if runtime.GOOS == "linux" {
		// No D-Bus secret service here, as on most servers: the file fallback.
		env = append(env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(home, "no-bus"))
	} else {
		env = append(env, "WHARF_CREDENTIAL_STORE=file") // keep the tests out of the user's keychain
		if runtime.GOOS == "darwin" {
			cfgDir = filepath.Join(home, "Library", "Application Support", "wharf")
		}
	}
	// run returns standard output and standard error.
	run := func(stdin string, args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), wharfBin, args...)
		cmd.Env = append(os.Environ(), "WHARF_SERVER=", "WHARF_USERNAME=", "WHARF_PASSWORD=", "WHARF_TOKEN=", "WHARF_SITE=", "WHARF_CREDENTIAL_STORE=")
		cmd.Env = append(cmd.Env, env...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	mustJSON := func(v any, stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := run(stdin, args...)
		if err != nil {
			t.Fatalf("wharf %s: %v: %s", strings.Join(args, " "), err, errOut)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("wharf %s: %v in %q", strings.Join(args, " "), err, out)
		}
		return errOut
	}
	// secretOf reads a site's token out of the credentials file.
	credFile := filepath.Join(cfgDir, "credentials.json")
	secretOf := func(site string) string {
		t.Helper()
		st, err := os.Stat(credFile)
		if err != nil {
			t.Fatalf("credentials file: %v", err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("credentials file mode = %04o, want 0600", st.Mode().Perm())
		}
		b, _ := os.ReadFile(credFile)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m["site:"+site]
	}

	// Without --password-stdin or WHARF_PASSWORD, login says what to do.
	if _, errOut, err := run("", "login", "--server", s.url, "--username", "alice"); err == nil || !strings.Contains(errOut, "--password-stdin") {
		t.Errorf("login without a password: %v %s", err, errOut)
	}

	type loginAnswer struct {
		Site struct {
			Name     string `json:"name"`
			Server   string `json:"server"`
			Default  bool   `json:"default"`
			LoggedIn bool   `json:"logged_in"`
		} `json:"site"`
		Token struct {
			ID     int64    `json:"id"`
			Name   string   `json:"name"`
			Scopes []string `json:"scopes"`
		} `json:"token"`
		SecretStore string `json:"secret_store"`
		Replaced    *struct {
			ID      int64 `json:"id"`
			Revoked bool  `json:"revoked"`
		} `json:"replaced"`
	}
	var first loginAnswer
	errOut := mustJSON(&first, "secret-password-1\n", "login", "--server", s.url, "--username", "alice", "--password-stdin", "--json")
	site := first.Site.Name
	if site != addr || first.Site.Server != s.url || !first.Site.Default || !first.Site.LoggedIn || first.SecretStore != "file" {
		t.Errorf("login --json = %+v", first)
	}
	if !strings.HasPrefix(first.Token.Name, "wharf-") || fmt.Sprint(first.Token.Scopes) != "[repos api]" {
		t.Errorf("login made token %+v; want wharf-<host> with scopes repos api", first.Token)
	}
	if !strings.Contains(errOut, "credentials.json") {
		t.Errorf("login did not say that the secret went to the file: %q", errOut)
	}
	secret := secretOf(site)
	if !strings.HasPrefix(secret, "wrfs-") {
		t.Fatalf("credentials file holds %q for site %s", secret, site)
	}
	cfg, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(cfgDir, "config.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode = %04o, want 0600", st.Mode().Perm())
	}
	if strings.Contains(string(cfg), secret) || strings.Contains(string(cfg), "secret-password-1") {
		t.Errorf("config.json holds a secret:\n%s", cfg)
	}

	// Remote commands now need nothing on the command line.
	var who struct {
		Name         string `json:"name"`
		Server       string `json:"server"`
		Site         string `json:"site"`
		SignedInWith string `json:"signed_in_with"`
		Token        *struct {
			Name string `json:"name"`
		} `json:"token"`
	}
	mustJSON(&who, "", "whoami", "--json")
	if who.Name != "alice" || who.Server != s.url || who.Site != site || who.SignedInWith != "site" || who.Token == nil || who.Token.Name != first.Token.Name {
		t.Errorf("whoami --json = %+v", who)
	}
	if out, _, err := run("", "whoami"); err != nil || !strings.Contains(out, first.Token.Name) || strings.Contains(out, secret) {
		t.Errorf("whoami = %q, %v", out, err)
	}
	var chans []map[string]any
	mustJSON(&chans, "", "channel", "list", "--json")
	if len(chans) == 0 {
		t.Error("channel list --json: no channels (alice's own is one)")
	}
	var sites []struct {
		Name     string `json:"name"`
		Default  bool   `json:"default"`
		LoggedIn bool   `json:"logged_in"`
	}
	out, _, _ := run("", "site", "list", "--json")
	mustJSON(&sites, "", "site", "list", "--json")
	if len(sites) != 1 || sites[0].Name != site || !sites[0].Default || !sites[0].LoggedIn || strings.Contains(out, secret) {
		t.Errorf("site list --json = %s", out)
	}
	// Explicit credentials still win over the stored ones.
	if _, errOut, err := run("", "whoami", "--server", s.url, "-u", "nobody-here"); err == nil {
		t.Errorf("whoami -u without WHARF_PASSWORD used the stored token: %s", errOut)
	}

	// Logging in again makes a new token (the name is taken: a suffix) and revokes the old one.
	var second loginAnswer
	mustJSON(&second, "secret-password-1\n", "login", "--password-stdin", "--json") // the default site's server and user
	if second.Token.Name != first.Token.Name+"-2" || second.Replaced == nil || second.Replaced.ID != first.Token.ID || !second.Replaced.Revoked {
		t.Errorf("second login = %+v", second)
	}

	// Per-channel credentials, as conda-auth keeps them.
	chURL := s.url + "/conda/alice"
	var ch struct {
		Channel, Kind, Username, SecretStore string
	}
	mustJSON(&ch, secret+"\n", "auth", "login", chURL+"/", "--token", "--json")
	if ch.Channel != chURL || ch.Kind != "token" {
		t.Errorf("auth login --json = %+v", ch)
	}
	mustJSON(&ch, "secret-password-1\n", "auth", "login", s.url+"/pypi/alice", "--basic", "-u", "alice", "--password-stdin", "--json")
	if ch.Kind != "basic" || ch.Username != "alice" {
		t.Errorf("auth login --basic --json = %+v", ch)
	}
	if b, _ := os.ReadFile(filepath.Join(cfgDir, "config.json")); strings.Contains(string(b), "secret-password-1") || strings.Contains(string(b), secret) {
		t.Errorf("config.json holds a secret:\n%s", b)
	}
	var removed map[string]any
	mustJSON(&removed, "", "auth", "logout", chURL, "--json")
	if removed["channel"] != chURL || removed["removed"] != true {
		t.Errorf("auth logout --json = %v", removed)
	}
	if _, errOut, err := run("", "auth", "logout", chURL); err == nil || !strings.Contains(errOut, "no credentials") {
		t.Errorf("second auth logout: %v %s", err, errOut)
	}
	// wharf auth keeps its flags.
	var scopes []map[string]any
	mustJSON(&scopes, "", "auth", "--list-scopes", "--json")

	// Logout revokes the token on the server and forgets it.
	latest := secretOf(site)
	var bye struct {
		Site      string `json:"site"`
		Revoked   bool   `json:"revoked"`
		Forgotten bool   `json:"forgotten"`
	}
	mustJSON(&bye, "", "logout", "--json")
	if bye.Site != site || !bye.Revoked || !bye.Forgotten {
		t.Errorf("logout --json = %+v", bye)
	}
	if got := secretOf(site); got != "" {
		t.Errorf("after logout the credentials file still holds the token")
	}
	for _, tok := range []string{secret, latest} {
		if status, body := getAuth(t, s.url+"/api/v1/user", "token "+tok); status != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/user with a logged-out token: %d %s; want 401", status, body)
		}
	}
	mustJSON(&bye, "", "logout", "--json") // logged out already: nothing to do
	var gone map[string]any
	mustJSON(&gone, "", "site", "remove", site, "--json")
	if gone["removed"] != site {
		t.Errorf("site remove --json = %v", gone)
	}
}

// pythonEnv is the environment of a real pip or twine run by a setup test: the test's home
// and config directories, and no pip settings or keyring of whoever runs the tests.
func pythonEnv(home, xdg string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "TWINE_") || k == "HOME" || k == "XDG_CONFIG_HOME" || k == "NETRC" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+xdg, "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1",
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
}

// TestCLISetupClients: wharf setup conda, pip and twine write what the clients read; pip then
// installs from a private channel, and twine uploads to it, with no credentials on their
// command lines; --dry-run writes nothing; --remove puts the files back as they were.
func TestCLISetupClients(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, freePort(t))
	if status, _ := get(t, s.url+"/api/v1/scopes"); status == http.StatusNotFound {
		t.Skip("waiting for the token API")
	}
	mustWharf(t, nil, "secret-password-1\n", "admin", "create-user", "alice", "--email", "alice@example.com", "--password-stdin", "--data", data)
	alice := []string{"WHARF_SERVER=" + s.url, "WHARF_USERNAME=alice", "WHARF_PASSWORD=secret-password-1"}
	mustWharf(t, alice, "", "channel", "create", "acme", "--private")
	dir := t.TempDir()
	spec := pypitest.Spec{Name: "demo-lib", Version: "1.0", MetadataVersion: "2.1", Files: map[string][]byte{"demo_lib/__init__.py": []byte("VALUE = 42\n")}}
	mustWharf(t, alice, "", "upload", pypitest.WriteFile(t, dir, spec), "-c", "acme")
	tokFile := filepath.Join(dir, "laptop.token")
	mustWharf(t, alice, "", "auth", "--create", "--name", "laptop", "--scopes", "repos", "--resource", "acme:write", "--out", tokFile)
	b, _ := os.ReadFile(tokFile)
	secret := strings.TrimSpace(string(b))

	home := t.TempDir()
	xdg := filepath.Join(home, "xdg") // not ~/.config: the clients' own rules must be followed
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + xdg, "BINSTAR_CONFIG_DIR=", "NETRC=", "PIP_INDEX_URL=", "PIP_CONFIG_FILE="}
	setup := func(args ...string) string {
		t.Helper()
		out := mustWharf(t, env, "", append(append([]string{"setup"}, args...), "--server", s.url, "--token", tokFile)...)
		if strings.Contains(out, secret) {
			t.Errorf("wharf setup %v printed the token:\n%s", args, out)
		}
		return out
	}
	files := func() map[string]string {
		t.Helper()
		got := map[string]string{}
		filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				got[strings.TrimPrefix(p, home+"/")] = string(b)
			}
			return err
		})
		return got
	}
	mode := func(p string) os.FileMode {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	condarc := filepath.Join(home, ".condarc")
	original := "# my conda\nchannels:\n  - conda-forge # community\n\nssl_verify: true\n"
	if err := os.WriteFile(condarc, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}

	// --dry-run shows the change and writes nothing.
	for _, c := range [][]string{{"conda", "acme"}, {"pip", "acme"}, {"pip", "acme", "--netrc"}, {"twine", "acme"}} {
		out := setup(append(c, "--dry-run")...)
		if !strings.Contains(out, "would ") {
			t.Errorf("setup %v --dry-run said:\n%s", c, out)
		}
		if got := files(); len(got) != 1 || got[".condarc"] != original {
			t.Fatalf("setup %v --dry-run wrote files: %v", c, got)
		}
		// --json says what would be written: every file, none written, no secret.
		var plan struct {
			Client string
			DryRun bool `json:"dry_run"`
			Files  []struct{ Path, Action string }
		}
		if err := json.Unmarshal([]byte(setup(append(c, "--dry-run", "--json")...)), &plan); err != nil {
			t.Errorf("setup %v --dry-run --json: %v", c, err)
		} else if plan.Client != c[0] || !plan.DryRun || len(plan.Files) == 0 || plan.Files[0].Action != "create" && plan.Files[0].Action != "update" {
			t.Errorf("setup %v --dry-run --json = %+v", c, plan)
		}
	}

	// conda: the token file conda reads for SERVER/conda/ (named by quote_plus of that URL:
	// ":" is %3A, "/" is %2F), raw, 0600 in a 0700 directory; channel_alias and the channel
	// in .condarc, the rest of it untouched, the original kept.
	var res struct {
		Client   string
		Files    []struct{ Path, Action, Mode, Backup string }
		Warnings []string
	}
	out := setup("conda", "acme", "--json")
	if strings.Contains(out, secret) {
		t.Fatal("setup conda --json shows the token")
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(xdg, "binstar", strings.NewReplacer(":", "%3A", "/", "%2F").Replace(s.url+"/conda/")+".token")
	if len(res.Files) != 2 || res.Files[0].Path != tokenFile || res.Files[0].Action != "create" || res.Files[0].Mode != "0600" ||
		res.Files[1].Path != condarc || res.Files[1].Action != "update" || res.Files[1].Backup == "" {
		t.Errorf("setup conda --json = %s", out)
	}
	if got, err := os.ReadFile(tokenFile); err != nil || string(got) != secret {
		t.Errorf("token file %s: %q, %v; want the token, as is", tokenFile, got, err)
	}
	if m := mode(tokenFile); m != 0o600 {
		t.Errorf("token file mode %v", m)
	}
	if m := mode(filepath.Dir(tokenFile)); m != 0o700 {
		t.Errorf("token directory mode %v", m)
	}
	want := "# my conda\nchannels:\n  - acme\n  - conda-forge # community\n\nssl_verify: true\nchannel_alias: " + s.url + "/conda\n"
	if got, _ := os.ReadFile(condarc); string(got) != want {
		t.Errorf(".condarc =\n%s\nwant\n%s", got, want)
	}
	if got, _ := os.ReadFile(res.Files[1].Backup); string(got) != original {
		t.Errorf("backup %s holds %q", res.Files[1].Backup, got)
	}
	os.Remove(res.Files[1].Backup)
	// With that alias and token, conda asks for SERVER/conda/t/TOKEN/acme/…: the private channel.
	if status, body := get(t, s.url+"/conda/t/"+secret+"/acme/noarch/repodata.json"); status != http.StatusOK {
		t.Errorf("the URL conda builds from the token file: %d %.200s", status, body)
	}
	if again := setup("conda", "acme"); !strings.Contains(again, "unchanged") {
		t.Errorf("a second setup conda said:\n%s", again)
	}

	// pip and twine, for real.
	python, err := exec.LookPath("python3")
	if err == nil && exec.Command(python, "-m", "pip", "--version").Run() != nil {
		err = errors.New("python3 -m pip does not run")
	}
	havePip := err == nil
	if !havePip {
		if os.Getenv("WHARF_REQUIRE_PYCLIENTS") == "1" {
			t.Fatalf("the Python clients are required (WHARF_REQUIRE_PYCLIENTS=1): %v", err)
		}
		t.Logf("not running pip (%v); install python3-pip to", err)
	}
	pipInstall := func(what string) {
		t.Helper()
		if !havePip {
			return
		}
		target := t.TempDir()
		cmd := exec.CommandContext(t.Context(), python, "-m", "pip", "install", "--no-deps", "--target", target, "demo-lib")
		cmd.Env = pythonEnv(home, xdg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pip install after %s: %v\n%s", what, err, out)
		}
		if strings.Contains(string(out), secret) {
			t.Errorf("pip printed the token:\n%s", out)
		}
		if b, err := os.ReadFile(filepath.Join(target, "demo_lib", "__init__.py")); err != nil || string(b) != "VALUE = 42\n" {
			t.Errorf("pip install after %s: %q, %v", what, b, err)
		}
	}
	pipConf := filepath.Join(xdg, "pip", "pip.conf")
	setup("pip", "acme")
	host := strings.TrimPrefix(s.url, "http://")
	if got, _ := os.ReadFile(pipConf); string(got) != "[global]\nindex-url = http://__token__:"+secret+"@"+host+"/pypi/acme/simple/\n" {
		t.Errorf("pip.conf = %q", got)
	}
	if m := mode(pipConf); m != 0o600 {
		t.Errorf("pip.conf with a token in it: mode %v", m)
	}
	pipInstall("setup pip")

	netrc := filepath.Join(home, ".netrc")
	setup("pip", "acme", "--netrc")
	if got, _ := os.ReadFile(pipConf); string(got) != "[global]\nindex-url = "+s.url+"/pypi/acme/simple/\n" {
		t.Errorf("pip.conf with --netrc = %q", got)
	}
	hostname, _, _ := strings.Cut(host, ":")
	if got, _ := os.ReadFile(netrc); string(got) != "machine "+hostname+" login __token__ password "+secret+"\n" {
		t.Errorf(".netrc = %q", got)
	}
	if m := mode(netrc); m != 0o600 {
		t.Errorf(".netrc mode %v", m)
	}
	pipInstall("setup pip --netrc")

	pypirc := filepath.Join(home, ".pypirc")
	setup("twine", "acme")
	if got, _ := os.ReadFile(pypirc); !strings.Contains(string(got), "[wharf]\nrepository = "+s.url+"/pypi/acme/\nusername = __token__\npassword = "+secret+"\n") {
		t.Errorf(".pypirc =\n%s", got)
	}
	if m := mode(pypirc); m != 0o600 {
		t.Errorf(".pypirc mode %v", m)
	}
	if twine, err := exec.LookPath("twine"); err == nil {
		next := pypitest.WriteFile(t, dir, pypitest.Spec{Name: "demo-lib", Version: "2.0", MetadataVersion: "2.1"})
		cmd := exec.CommandContext(t.Context(), twine, "upload", "--non-interactive", "--disable-progress-bar", "--repository", "wharf", next)
		cmd.Env = pythonEnv(home, xdg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("twine upload --repository wharf: %v\n%s", err, out)
		} else if status, body := getAuth(t, s.url+"/pypi/acme/simple/demo-lib/", "token "+secret); status != http.StatusOK || !strings.Contains(string(body), "demo_lib-2.0") {
			t.Errorf("after twine upload: %d %.300s", status, body)
		}
	} else if os.Getenv("WHARF_REQUIRE_PYCLIENTS") == "1" {
		t.Fatal("twine is required (WHARF_REQUIRE_PYCLIENTS=1)")
	}

	// --remove puts everything back: the token file gone, .condarc as it was, the files setup
	// created removed (their backups stay).
	setup("conda", "acme", "--remove")
	setup("pip", "--remove", "--netrc")
	setup("twine", "--remove")
	for _, p := range []string{tokenFile, pipConf, netrc, pypirc} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("after --remove %s is still there (%v)", p, err)
		}
	}
	if got, _ := os.ReadFile(condarc); string(got) != original {
		t.Errorf("after --remove .condarc = %q, want %q", got, original)
	}

	// Without a server (and before wharf login), setup says what it needs.
	if _, err := wharf(t, env, "", "setup", "conda", "acme"); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("setup without a server: %v", err)
	}

	// Logged in with wharf login, setup needs no flags: the stored site's server and token.
	loginEnv := append(slices.Clone(env), "WHARF_CREDENTIAL_STORE=file")
	mustWharf(t, loginEnv, "secret-password-1\n", "login", "--server", s.url, "--username", "alice", "--password-stdin")
	if out := mustWharf(t, loginEnv, "", "setup", "conda", "acme"); !strings.Contains(out, tokenFile) {
		t.Errorf("setup conda with the stored site said:\n%s", out)
	}
	if b, err := os.ReadFile(tokenFile); err != nil || !strings.HasPrefix(string(b), "wrfs-") || string(b) == secret {
		t.Errorf("token file after setup with the stored site: %v; want the site's token", err)
	} else if status, _ := get(t, s.url+"/conda/t/"+string(b)+"/acme/noarch/repodata.json"); status != http.StatusOK {
		t.Errorf("the site's token in the URL conda builds: %d", status)
	}
	mustWharf(t, loginEnv, "", "setup", "conda", "acme", "--remove")
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("setup conda --remove with the stored site left the token file (%v)", err)
	}

}
