package clientconfig

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pyRead reads an INI file with Python's configparser (as pip and twine do) and a .netrc
// with Python's netrc (as requests does for pip and conda), so that the edits are checked by
// the readers themselves. It skips when python3 is missing.
func pyRead(t *testing.T, kind string, data []byte) map[string]map[string]string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `
import configparser, json, netrc, sys
kind, path = sys.argv[1], sys.argv[2]
out = {}
if kind == "ini":
    p = configparser.RawConfigParser()
    p.read(path)
    for s in p.sections():
        out[s] = dict(p.items(s))
else:
    n = netrc.netrc(path)
    for host, (login, account, password) in n.hosts.items():
        out[host] = {"login": login or "", "password": password or ""}
print(json.dumps(out))
`
	b, err := exec.CommandContext(t.Context(), python, "-c", script, kind, f).CombinedOutput()
	if err != nil {
		t.Fatalf("python reading %q: %v\n%s", data, err, b)
	}
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

func TestPythonReadsTheEdits(t *testing.T) {
	url, _ := PipIndexURL("http://h:8080", "acme", tok)
	t.Run("pip.conf", func(t *testing.T) {
		for _, in := range []string{
			"",
			"# pip\n[global]\ntimeout = 60\nindex-url = https://pypi.org/simple\n    # note\n\n[install]\nno-binary = :none:\nfind-links =\n    /a\n    /b\n",
			"[global]\nindex_url: https://x/simple\ntrusted-host = x\n",
			"[install]\nuser = yes\n",
		} {
			before := pyRead(t, "ini", []byte(in))
			out, _, _ := EditPipConf([]byte(in), url)
			after := pyRead(t, "ini", out)
			want := map[string]map[string]string{}
			for s, kv := range before {
				want[s] = map[string]string{}
				for k, v := range kv {
					if s == "global" && normKey(k) == "index-url" {
						continue
					}
					want[s][k] = v
				}
			}
			if want["global"] == nil {
				want["global"] = map[string]string{}
			}
			for k := range after["global"] {
				if normKey(k) == "index-url" {
					want["global"][k] = url
				}
			}
			if diff := cmp.Diff(want, after); diff != "" || len(after["global"]) != len(want["global"]) {
				t.Errorf("configparser reads the edit of %q (-want +got):\n%s", in, diff)
			}
			// Remove takes our index-url out (the one it replaced is in the backup).
			for k := range want["global"] {
				if normKey(k) == "index-url" {
					delete(want["global"], k)
				}
			}
			if len(want["global"]) == 0 {
				delete(want, "global")
			}
			if got := pyRead(t, "ini", RemoveFromPipConf(out, "http://h:8080")); !cmp.Equal(got, want) {
				t.Errorf("after remove configparser reads %v, want %v", got, want)
			}
		}
	})
	t.Run(".pypirc", func(t *testing.T) {
		for _, in := range []string{
			"",
			"[distutils]\nindex-servers =\n  pypi\n  private\n\n[private]\nrepository = https://x/\nusername = me\n",
			"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = pypi-abc\n",
		} {
			out, _ := EditPypirc([]byte(in), "wharf", "http://h:8080/pypi/acme/", tok)
			after := pyRead(t, "ini", out)
			if got := after["wharf"]; !cmp.Equal(got, map[string]string{"repository": "http://h:8080/pypi/acme/", "username": "__token__", "password": tok}) {
				t.Errorf("[wharf] reads %v", got)
			}
			before := pyRead(t, "ini", []byte(in))
			for s, kv := range before {
				if s != "distutils" && !cmp.Equal(after[s], kv) {
					t.Errorf("[%s] reads %v, was %v", s, after[s], kv)
				}
			}
			back := pyRead(t, "ini", func() []byte { b, _ := RemoveFromPypirc(out, "wharf", "http://h:8080"); return b }())
			if diff := cmp.Diff(before, back); diff != "" {
				t.Errorf("after remove (-before +after):\n%s", diff)
			}
		}
	})
	t.Run(".netrc", func(t *testing.T) {
		for _, in := range []string{
			"",
			"machine a login x password y\n# note\nmachine b\n  login z\n  password w\n",
			"machine h login old password old\nmachine c login q password r\n",
			"machine a login x password y\ndefault login anonymous password me@\n",
		} {
			before := pyRead(t, "netrc", []byte(in))
			edited, err := EditNetrc([]byte(in), "h", TokenUser, tok)
			if err != nil {
				t.Fatal(err)
			}
			after := pyRead(t, "netrc", edited)
			before["h"] = map[string]string{"login": TokenUser, "password": tok}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("netrc reads the edit of %q (-want +got):\n%s", in, diff)
			}
		}
	})
}
