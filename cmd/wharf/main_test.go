package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/conda/condatest"
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
	cmd.Env = append(os.Environ(), env...)
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

func startServer(t *testing.T, data, addr string) *server {
	t.Helper()
	cmd := exec.Command(wharfBin, "serve", "--data", data, "--listen", addr)
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
