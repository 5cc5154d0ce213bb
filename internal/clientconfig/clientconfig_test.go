package clientconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The expected values follow Python's documented rules for quote_plus(s) (safe=""):
// letters, digits and "_.-~" stay, a space is "+", every other UTF-8 byte is %XX upper case.
func TestQuotePlusIsPythons(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"http://127.0.0.1:8080/conda/", "http%3A%2F%2F127.0.0.1%3A8080%2Fconda%2F"},
		{"https://wharf.example.com/conda/", "https%3A%2F%2Fwharf.example.com%2Fconda%2F"},
		{"http://[::1]:8080/conda/", "http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Fconda%2F"},
		{"https://h/a b/c+d", "https%3A%2F%2Fh%2Fa+b%2Fc%2Bd"},
		{"https://u:p@h/x?y=1&z=~w#f", "https%3A%2F%2Fu%3Ap%40h%2Fx%3Fy%3D1%26z%3D~w%23f"},
		{"_.-~AZaz09", "_.-~AZaz09"},
		{"*!'();,$%", "%2A%21%27%28%29%3B%2C%24%25"},
		{"\t\n", "%09%0A"},
		{"https://ü.example/é", "https%3A%2F%2F%C3%BC.example%2F%C3%A9"},
	} {
		if got := QuotePlus(tc.in); got != tc.want {
			t.Errorf("QuotePlus(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := CondaTokenFile(CondaTokenURL("http://127.0.0.1:8080/")); got != "http%3A%2F%2F127.0.0.1%3A8080%2Fconda%2F.token" {
		t.Errorf("token file name %q", got)
	}
}

const tok = "wrfs-SECRET0123"

func TestEditCondarcKeepsTheRest(t *testing.T) {
	alias := "http://h:8080/conda"
	for _, tc := range []struct {
		name, in, want string
		channels       []string
	}{
		{"no file", "", "channel_alias: http://h:8080/conda\nchannels:\n  - acme\n  - defaults\n", []string{"acme"}},
		{"comments, order and blank lines stay", "# my settings\nssl_verify: true   # yes\n\nchannels:  # where from\n    -   conda-forge   # first\n    -   defaults\nauto_activate_base: false\n",
			"# my settings\nssl_verify: true   # yes\n\nchannels:  # where from\n    -   acme\n    -   team/dev\n    -   conda-forge   # first\n    -   defaults\nauto_activate_base: false\nchannel_alias: http://h:8080/conda\n",
			[]string{"acme", "team/dev"}},
		{"alias replaced in place, comment kept", "channel_alias: https://old.example/conda # corp\nchannels: [defaults, acme]\n",
			"channel_alias: http://h:8080/conda # corp\nchannels: [beta, defaults, acme]\n", []string{"acme", "beta"}},
		{"listed channels not added again", "channels:\n- acme\n", "channels:\n- acme\nchannel_alias: http://h:8080/conda\n", []string{"acme"}},
		{"empty values filled", "channel_alias:\nchannels:\nx: 1\n", "channel_alias: http://h:8080/conda\nchannels:\n  - acme\n  - defaults\nx: 1\n", []string{"acme"}},
		{"no final newline", "x: 1", "x: 1\nchannel_alias: http://h:8080/conda\nchannels:\n  - acme\n  - defaults\n", []string{"acme"}},
		{"CRLF", "x: 1\r\n", "x: 1\r\nchannel_alias: http://h:8080/conda\r\n", nil},
		{"indented sequence items", "channels:\n  - conda-forge\n", "channels:\n  - acme\n  - conda-forge\nchannel_alias: http://h:8080/conda\n", []string{"acme"}},
		{"trailing comment block stays last", "x: 1\n# end\n", "x: 1\n# end\nchannel_alias: http://h:8080/conda\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditCondarc([]byte(tc.in), alias, tc.channels)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("EditCondarc (-want +got):\n%s", diff)
			}
			back, err := RemoveFromCondarc(got, alias, tc.channels)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.name {
			case "alias replaced in place, comment kept", "empty values filled", "listed channels not added again", "no final newline":
				return // the old alias, empty keys, a channel named: not put back (the backup has them)
			}
			if diff := cmp.Diff(tc.in, string(back)); diff != "" {
				t.Errorf("RemoveFromCondarc does not undo it (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRemoveFromCondarc(t *testing.T) {
	alias := "http://h:8080/conda"
	in := "channel_alias: https://other/conda\nchannels:\n  - acme\n  - conda-forge\n"
	got, err := RemoveFromCondarc([]byte(in), alias, []string{"acme", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "channel_alias: https://other/conda\nchannels:\n  - conda-forge\n"; string(got) != want {
		t.Errorf("got %q, want %q: someone else's alias stays", got, want)
	}
	got, err = RemoveFromCondarc([]byte("channels: [acme, defaults] # mine\ny: 2\n"), alias, []string{"acme"})
	if err != nil || string(got) != "y: 2\n" {
		t.Errorf("a list left as [defaults] goes: %q, %v", got, err)
	}
}

func TestCondarcRefusesWhatItCannotEditExactly(t *testing.T) {
	for _, in := range []string{
		"{channels: [a]}\n",
		"channels: not-a-list\n",
		"- a\n- b\n",
		"channels: [a,\n  b]\n",
		"channel_alias: |\n  http://x\n",
		": bad yaml [\n",
	} {
		if out, err := EditCondarc([]byte(in), "http://h/conda", []string{"acme"}); err == nil {
			t.Errorf("EditCondarc(%q) = %q; want an error", in, out)
		}
	}
}

func TestPipConf(t *testing.T) {
	url, err := PipIndexURL("http://h:8080", "acme", tok)
	if err != nil || url != "http://__token__:"+tok+"@h:8080/pypi/acme/simple/" {
		t.Fatalf("PipIndexURL = %q, %v", url, err)
	}
	in := "# pip settings\n[global]\ntimeout = 60\nindex-url = https://pypi.org/simple\n    # continued?\n\n[install]\nno-binary = :none:\n"
	got, warnings, _ := EditPipConf([]byte(in), url)
	want := "# pip settings\n[global]\ntimeout = 60\nindex-url = " + url + "\n    # continued?\n\n[install]\nno-binary = :none:\n"
	if diff := cmp.Diff(want, string(got)); diff != "" || len(warnings) != 0 {
		t.Errorf("EditPipConf (-want +got):\n%s%v", diff, warnings)
	}
	if v, _ := PipIndex(got); v != url {
		t.Errorf("PipIndex = %q", v)
	}
	// Without the key or the section: added, the rest untouched.
	got, _, _ = EditPipConf([]byte("[install]\nindex_url = x\n"), url)
	if want := "[install]\nindex_url = x\n\n[global]\nindex-url = " + url + "\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, w, _ := EditPipConf([]byte("[install]\nindex_url = x\n"), url); len(w) != 1 {
		t.Errorf("an [install] index-url is not warned about: %v", w)
	}
	got, _, _ = EditPipConf([]byte("[global]\ntimeout: 5\n\n[list]\nformat = columns\n"), url)
	if want := "[global]\ntimeout: 5\nindex-url = " + url + "\n\n[list]\nformat = columns\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Remove: ours goes (with a section left empty), someone else's stays.
	for in, want := range map[string]string{
		"":                                    "",
		"[global]\nindex-url = " + url + "\n": "",
		"[global]\ntimeout = 1\nindex-url = http://h:8080/pypi/x/simple/\n": "[global]\ntimeout = 1\n",
		"[global]\nindex-url = https://pypi.org/simple\n":                   "[global]\nindex-url = https://pypi.org/simple\n",
		"[a]\nb = c\n\n[global]\nindex-url = " + url + "\n\n[z]\ny = 1\n":   "[a]\nb = c\n\n[z]\ny = 1\n",
	} {
		if got := RemoveFromPipConf([]byte(in), "http://h:8080"); string(got) != want {
			t.Errorf("RemoveFromPipConf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPypirc(t *testing.T) {
	repo := TwineRepositoryURL("http://h:8080", "acme")
	for _, tc := range []struct{ name, in, want string }{
		{"no file", "", "[distutils]\nindex-servers =\n    pypi\n    testpypi\n    wharf\n\n[wharf]\nrepository = " + repo + "\nusername = __token__\npassword = " + tok + "\n"},
		{"multi-line list", "# twine\n[distutils]\nindex-servers =\n  pypi\n  private\n\n[private]\nrepository = https://x/\nusername = me\n",
			"# twine\n[distutils]\nindex-servers =\n  pypi\n  private\n  wharf\n\n[private]\nrepository = https://x/\nusername = me\n\n[wharf]\nrepository = " + repo + "\nusername = __token__\npassword = " + tok + "\n"},
		{"one-line list", "[distutils]\nindex-servers = pypi\n", "[distutils]\nindex-servers = pypi wharf\n\n[wharf]\nrepository = " + repo + "\nusername = __token__\npassword = " + tok + "\n"},
		{"no list yet", "[pypi]\nusername = __token__\n", "[distutils]\nindex-servers =\n    pypi\n    testpypi\n    wharf\n\n[pypi]\nusername = __token__\n\n[wharf]\nrepository = " + repo + "\nusername = __token__\npassword = " + tok + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditPypirc([]byte(tc.in), "wharf", repo, tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("EditPypirc (-want +got):\n%s", diff)
			}
			if r, u, listed := PypircRepository(got, "wharf"); r != repo || u != TokenUser || !listed {
				t.Errorf("PypircRepository = %q %q %v", r, u, listed)
			}
			again, _ := EditPypirc(got, "wharf", repo, tok)
			if string(again) != string(got) {
				t.Errorf("a second run changed the file:\n%s", again)
			}
			back, ok := RemoveFromPypirc(got, "wharf", "http://h:8080")
			if diff := cmp.Diff(tc.in, string(back)); diff != "" || !ok {
				t.Errorf("RemoveFromPypirc does not undo it (-before +after):\n%s", diff)
			}
		})
	}
	other := "[distutils]\nindex-servers = wharf\n[wharf]\nrepository = https://elsewhere/\n"
	if got, ok := RemoveFromPypirc([]byte(other), "wharf", "http://h:8080"); ok || string(got) != other {
		t.Errorf("someone else's [wharf] was touched: %q", got)
	}
}

func TestNetrc(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no file", "", "machine h login __token__ password " + tok + "\n"},
		{"other hosts stay", "machine a login x password y\n# note\nmachine b\n  login z\n  password w\n",
			"machine a login x password y\n# note\nmachine b\n  login z\n  password w\nmachine h login __token__ password " + tok + "\n"},
		{"before default", "machine a login x password y\ndefault login anonymous password me@\n",
			"machine a login x password y\nmachine h login __token__ password " + tok + "\ndefault login anonymous password me@\n"},
		{"no final newline", "machine a login x password y", "machine a login x password y\nmachine h login __token__ password " + tok + "\n"},
		{"macro kept", "macdef init\ncd /pub\nmachine fake\n\nmachine a login x password y\n",
			"macdef init\ncd /pub\nmachine fake\n\nmachine a login x password y\nmachine h login __token__ password " + tok + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditNetrc([]byte(tc.in), "h", TokenUser, tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("EditNetrc (-want +got):\n%s", diff)
			}
			back := RemoveFromNetrc(got, "h", TokenUser)
			want := tc.in
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if diff := cmp.Diff(want, string(back)); diff != "" {
				t.Errorf("RemoveFromNetrc does not undo it (-before +after):\n%s", diff)
			}
		})
	}
	// An entry of the host is replaced where it is, over several lines.
	in := "machine a login x password y\nmachine h\n\tlogin old\n\tpassword old # hi\nmachine c login q password r\n"
	got, err := EditNetrc([]byte(in), "h", TokenUser, tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := "machine a login x password y\nmachine h login __token__ password " + tok + " # hi\nmachine c login q password r\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := EditNetrc([]byte("machine a password \"open"), "h", TokenUser, tok); err == nil {
		t.Error("an entry added after an open quote, where no reader finds it")
	}
	// Removal only takes the token's entry.
	if got := RemoveFromNetrc([]byte(in), "h", TokenUser); string(got) != in {
		t.Errorf("someone's own login was removed: %q", got)
	}
}

// A backup keeps a file's settings but none of its tokens: it outlives the logout that takes
// them out of the file (issue 12, item 4).
func TestBackupKeepsNoToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".condarc")
	tok, written := "wrfr-"+strings.Repeat("a1B", 14)+"xyz", "secret-not-wharf-shaped"
	old := "channel_alias: https://h/conda # mine\ncustom_channels:\n  acme: https://h/t/" + tok + "/conda\n  other: https://h/t/" + written + "/conda\n"
	b, err := Apply(Change{Path: path, Old: []byte(old), Existed: true, New: []byte("x\n"), Mode: 0o600, Backup: true, Secret: written}, time.Now())
	if err != nil || b == "" {
		t.Fatalf("backup %q, %v", b, err)
	}
	got, _ := os.ReadFile(b)
	want := "channel_alias: https://h/conda # mine\ncustom_channels:\n  acme: https://h/t/" + RemovedToken + "/conda\n  other: https://h/t/" + RemovedToken + "/conda\n"
	if string(got) != want {
		t.Errorf("backup holds\n%s\nwant\n%s", got, want)
	}
}

func TestApplyWritesAtomicallyWithBackupAndMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "pip.conf")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := Change{Path: path, New: []byte("a\n"), Mode: 0o600, Backup: true}
	if b, err := Apply(c, now); err != nil || b != "" {
		t.Fatalf("Apply of a new file: %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("new directory: %v, %v; want 0700", st.Mode(), err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v, %v; want 0600", st.Mode(), err)
	}
	old, mode, existed, err := ReadFile(path)
	if err != nil || !existed || mode != 0o600 {
		t.Fatal(old, mode, existed, err)
	}
	c = Change{Path: path, Old: old, Existed: true, New: []byte("b\n"), Mode: 0o644, Backup: true}
	b, err := Apply(c, now)
	if err != nil || b != path+".bak-20260102-030405" {
		t.Fatalf("backup %q, %v", b, err)
	}
	if got, _ := os.ReadFile(b); string(got) != "a\n" {
		t.Errorf("backup holds %q", got)
	}
	if st, _ := os.Stat(b); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode())
	}
	if b2, err := Apply(Change{Path: path, Old: []byte("b\n"), Existed: true, Delete: true, Backup: true}, now); err != nil || b2 != b+"-1" {
		t.Errorf("second backup in the same second: %q, %v", b2, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("deleted file still there: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	// A symbolic link is followed: the file it points at is edited, the link stays.
	target := filepath.Join(dir, "real.conf")
	os.WriteFile(target, []byte("x\n"), 0o644)
	link := filepath.Join(dir, "link.conf")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if _, err := Apply(Change{Path: link, Old: []byte("x\n"), Existed: true, New: []byte("y\n"), Mode: 0o644}, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "y\n" {
		t.Errorf("target holds %q", got)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
}

func TestRemovedIfEmpty(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      Change
		delete bool
		keys   []string
	}{
		{"white space left: deleted", Change{Existed: true, Old: []byte("a = 1\n"), New: []byte(" \n\n")}, true, []string{"a removed"}},
		{"something left: kept", Change{Existed: true, Old: []byte("a = 1\nb = 2\n"), New: []byte("b = 2\n")}, false, []string{"a removed"}},
		{"nothing removed: no key", Change{Existed: true, Old: []byte("b = 2\n"), New: []byte("b = 2\n"), Keys: []string{"kept"}}, false, []string{"kept"}},
		{"no file: none made", Change{}, true, nil},
	} {
		c := tc.c
		c.RemovedIfEmpty("a removed")
		if c.Delete != tc.delete || !cmp.Equal(c.Keys, tc.keys) {
			t.Errorf("%s: Delete %v, Keys %q; want %v, %q", tc.name, c.Delete, c.Keys, tc.delete, tc.keys)
		}
		if !c.Existed && c.Action() != "unchanged" {
			t.Errorf("%s: Action %s; want unchanged", tc.name, c.Action())
		}
	}
}

func TestDiffHidesTheSecret(t *testing.T) {
	d := Diff(Change{Old: []byte("a\nb\n"), New: []byte("a\nb\npassword = " + tok + "\n"), Existed: true, Secret: tok})
	if strings.Contains(d, tok) || !strings.Contains(d, "+ password = <token>") || !strings.Contains(d, "  b") {
		t.Errorf("diff:\n%s", d)
	}
}

func TestPaths(t *testing.T) {
	e := Env{Home: "/home/u", GOOS: "linux"}
	if got := e.CondaTokenDir(); got != "/home/u/.config/binstar" {
		t.Errorf("CondaTokenDir = %q", got)
	}
	if got := e.PipConf(); got != "/home/u/.config/pip/pip.conf" {
		t.Errorf("PipConf = %q", got)
	}
	e.XDGConfigHome, e.BinstarConfigDir, e.Netrc = "/x", "/b", "/n"
	if e.CondaTokenDir() != "/b/data" || e.PipConf() != "/x/pip/pip.conf" || e.NetrcPath() != "/n" || e.Condarc() != "/home/u/.condarc" || e.Pypirc() != "/home/u/.pypirc" {
		t.Errorf("paths with the variables set: %q %q %q", e.CondaTokenDir(), e.PipConf(), e.NetrcPath())
	}
	e.BinstarConfigDir = ""
	if e.CondaTokenDir() != "/x/binstar" {
		t.Errorf("CondaTokenDir with XDG_CONFIG_HOME = %q (platformdirs honours it)", e.CondaTokenDir())
	}
}

// A diff shows no secret, whichever way a file holds it and whether it is the one being
// written: the token of a token file --remove deletes, the __token__ password of a pip.conf
// URL, a .pypirc password, and the passwords of other .netrc entries shown as context.
func TestDiffHidesEverySecret(t *testing.T) {
	const other = "wrfr-0therT0kenABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"
	for _, c := range []Change{
		{Old: []byte(other), Existed: true, Delete: true},
		{Old: []byte("[global]\nindex-url = https://__token__:" + other + "@h/pypi/acme/simple/\n"), Existed: true, New: []byte("[global]\n")},
		{Old: []byte("[distutils]\nindex-servers =\n    wharf\n\n[wharf]\nrepository = https://h/pypi/acme/\nusername = __token__\npassword = " + other + "\n"), Existed: true, Delete: true},
		{Old: []byte("machine github.com login me password hunter2-" + other + "\nmachine h login __token__ password " + other + "\n"), Existed: true,
			New: []byte("machine github.com login me password hunter2-" + other + "\nmachine h login __token__ password " + tok + "\n"), Secret: tok},
		{Old: []byte("machine h\n  login bob\n  password " + other + "\n"), Existed: true, New: []byte("machine h\n  login bob\n")},
	} {
		d := Diff(c)
		if strings.Contains(d, other) || strings.Contains(d, tok) || strings.Contains(d, "hunter2") || d == "" {
			t.Errorf("diff of\n%s\nshows a secret:\n%s", c.Old, d)
		}
	}
}
