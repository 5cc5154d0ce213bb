package credentials

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zalando/go-keyring"
)

const (
	tok1 = "wrfs-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG1a2b3c"
	tok2 = "wrfs-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut9z8y7x"
)

func openFile(t *testing.T, dir string) (*Store, *bytes.Buffer) {
	t.Helper()
	var warn bytes.Buffer
	s, err := Open(Options{Dir: dir, SecretStore: InFile, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	return s, &warn
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFileFallbackKeepsSecretsInAFileOfMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wharf")
	s, warn := openFile(t, dir)
	if _, err := s.SaveSite(Site{Name: "work", Server: "https://alice:pw@Wharf.Example.com/", Username: "alice", TokenID: 7, TokenName: "wharf-laptop", Token: tok1}); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if m := mode(t, dir); m != 0o700 {
			t.Errorf("config dir mode = %04o, want 0700", m)
		}
		if m := mode(t, s.CredentialsFile()); m != 0o600 {
			t.Errorf("credentials file mode = %04o, want 0600", m)
		}
		if m := mode(t, s.ConfigFile()); m != 0o600 {
			t.Errorf("config file mode = %04o, want 0600", m)
		}
	}
	cfg, err := os.ReadFile(s.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), tok1) || strings.Contains(string(cfg), "pw") {
		t.Errorf("config.json holds a secret:\n%s", cfg)
	}
	if !strings.Contains(warn.String(), s.CredentialsFile()) || strings.Contains(warn.String(), tok1) {
		t.Errorf("warning = %q, want the file named and no secret", warn.String())
	}

	// A new Store (a later command) reads it back.
	s2, _ := openFile(t, dir)
	got, err := s2.Site("work")
	if err != nil {
		t.Fatal(err)
	}
	want := Site{Name: "work", Server: "https://wharf.example.com", Username: "alice", TokenID: 7, TokenName: "wharf-laptop", SecretStore: InFile, Token: tok1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Site (-want +got):\n%s", diff)
	}
}

func TestCredentialsFileReadableByOthersIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	s, _ := openFile(t, dir)
	if _, err := s.SaveSite(Site{Name: "work", Server: "https://wharf.example.com", Token: tok1}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.CredentialsFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Site("work")
	var me *ModeError
	if !errors.As(err, &me) {
		t.Fatalf("Site with a 0644 credentials file: %v, want a *ModeError", err)
	}
	if !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), tok1) {
		t.Errorf("error = %q, want the fix and no secret", err)
	}
	// Writing is refused too: the file is not rewritten behind the user's back.
	if _, err := s.SaveChannel(Channel{URL: "https://wharf.example.com/conda/acme", Kind: KindToken, Secret: tok2}); !errors.As(err, &me) {
		t.Errorf("SaveChannel with a 0644 credentials file: %v", err)
	}
	if _, _, _, ok := s.ChannelCredential("https://wharf.example.com/conda/acme"); ok {
		t.Error("ChannelCredential found a credential")
	}
}

func TestKeyringKeepsSecretsOutOfFiles(t *testing.T) {
	keyring.MockInit()
	t.Cleanup(func() { keyring.MockInitWithError(errors.New("no keyring in tests")) })
	t.Setenv(EnvSecretStore, "")
	dir := t.TempDir()
	var warn bytes.Buffer
	s, err := Open(Options{Dir: dir, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if where, why := s.SecretStore(); where != InKeyring || why != nil {
		t.Fatalf("SecretStore = %s, %v; want the keyring", where, why)
	}
	if _, err := s.SaveSite(Site{Name: "work", Server: "https://wharf.example.com", Username: "alice", Token: tok1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveChannel(Channel{URL: "https://wharf.example.com/conda/acme", Kind: KindBasic, Username: "bob", Secret: "pw-of-bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.CredentialsFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file: %v, want none", err)
	}
	if warn.Len() != 0 {
		t.Errorf("warned %q with a keyring", warn.String())
	}
	if got, _ := keyring.Get("wharf", "site:work"); got != tok1 {
		t.Errorf("keyring site:work = %q", got)
	}
	site, err := s.Site("work")
	if err != nil || site.Token != tok1 || site.SecretStore != InKeyring {
		t.Errorf("Site = %+v, %v", site, err)
	}
	kind, user, secret, ok := s.ChannelCredential("https://wharf.example.com/conda/acme/label/dev")
	if !ok || kind != KindBasic || user != "bob" || secret != "pw-of-bob" {
		t.Errorf("ChannelCredential = %q %q %q %v", kind, user, secret, ok)
	}
	if err := s.ForgetToken("work"); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get("wharf", "site:work"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("after ForgetToken the keyring still has the token: %v", err)
	}
}

func TestNoKeyringFallsBackToTheFileAndSaysSo(t *testing.T) {
	keyring.MockInitWithError(errors.New("no D-Bus session bus"))
	t.Setenv(EnvSecretStore, "")
	var warn bytes.Buffer
	s, err := Open(Options{Dir: t.TempDir(), Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if where, why := s.SecretStore(); where != InFile || why == nil {
		t.Fatalf("SecretStore = %s, %v; want the file and why", where, why)
	}
	site, err := s.SaveSite(Site{Name: "work", Server: "http://127.0.0.1:8080", Token: tok1})
	if err != nil || site.SecretStore != InFile {
		t.Fatalf("SaveSite = %+v, %v", site, err)
	}
	if w := warn.String(); !strings.Contains(w, "not available") || !strings.Contains(w, "no D-Bus") || !strings.Contains(w, s.CredentialsFile()) {
		t.Errorf("warning = %q", w)
	}
}

func TestSitesAndTheDefault(t *testing.T) {
	s, _ := openFile(t, t.TempDir())
	if _, err := s.DefaultSite(); !isNotFound(err) {
		t.Errorf("DefaultSite of an empty store: %v", err)
	}
	exp := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	for _, site := range []Site{
		{Name: "work", Server: "https://wharf.example.com", Username: "alice", TokenID: 1, TokenName: "wharf-a", TokenExpires: exp, Token: tok1},
		{Name: "local", Server: "http://127.0.0.1:8080/", Username: "admin", TokenID: 2, Token: tok2},
	} {
		if _, err := s.SaveSite(site); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDefault("nope"); !isNotFound(err) {
		t.Errorf("SetDefault of an unknown site: %v", err)
	}
	if err := s.SetDefault("local"); err != nil {
		t.Fatal(err)
	}
	s, _ = openFile(t, s.Dir())
	var names []string
	for _, site := range s.Sites() {
		names = append(names, site.Name)
		if site.Token != "" {
			t.Errorf("Sites shows the token of %s", site.Name)
		}
	}
	if diff := cmp.Diff([]string{"local", "work"}, names); diff != "" {
		t.Errorf("Sites (-want +got):\n%s", diff)
	}
	if d, err := s.DefaultSite(); err != nil || d.Name != "local" || d.Token != tok2 || d.Server != "http://127.0.0.1:8080" {
		t.Errorf("DefaultSite = %+v, %v", d, err)
	}
	if w, err := s.SiteByServer("HTTPS://wharf.example.com/"); err != nil || w.Name != "work" || w.Token != tok1 || !w.TokenExpires.Equal(exp) {
		t.Errorf("SiteByServer = %+v, %v", w, err)
	}
	if _, err := s.SiteByServer("https://other.example.com"); !isNotFound(err) {
		t.Errorf("SiteByServer of an unknown server: %v", err)
	}

	// Logging out keeps the site, without a token.
	if err := s.ForgetToken("work"); err != nil {
		t.Fatal(err)
	}
	if w, err := s.Site("work"); err != nil || w.LoggedIn() || w.Token != "" || w.TokenID != 0 || w.Server == "" {
		t.Errorf("after ForgetToken: %+v, %v", w, err)
	}
	if b, _ := os.ReadFile(s.CredentialsFile()); strings.Contains(string(b), tok1) {
		t.Error("the forgotten token is still in the credentials file")
	}
	// Saving a site again without a token keeps the one stored.
	if _, err := s.SaveSite(Site{Name: "local", Server: "http://127.0.0.1:8080", Username: "admin2"}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Site("local"); err != nil || l.Token != tok2 || l.Username != "admin2" {
		t.Errorf("after saving without a token: %+v, %v", l, err)
	}
	// Removing the default leaves none.
	if err := s.RemoveSite("local"); err != nil {
		t.Fatal(err)
	}
	if s.Default() != "" {
		t.Errorf("Default after removing it = %q", s.Default())
	}
	if _, err := s.Site("local"); !isNotFound(err) {
		t.Errorf("Site after RemoveSite: %v", err)
	}
	if b, _ := os.ReadFile(s.CredentialsFile()); strings.Contains(string(b), tok2) {
		t.Error("the removed site's token is still in the credentials file")
	}
}

func TestSiteNamesAndServersAreChecked(t *testing.T) {
	s, _ := openFile(t, t.TempDir())
	for _, site := range []Site{
		{Name: "", Server: "https://x.example.com"},
		{Name: "a b", Server: "https://x.example.com"},
		{Name: "a/b", Server: "https://x.example.com"},
		{Name: "ok", Server: "ftp://x.example.com"},
		{Name: "ok", Server: "x.example.com"},
	} {
		if _, err := s.SaveSite(site); err == nil {
			t.Errorf("SaveSite(%+v) succeeded", site)
		}
	}
	if _, err := os.Stat(s.ConfigFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused site wrote the config: %v", err)
	}
}

func TestChannelKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://wharf.example.com/conda/acme", "https://wharf.example.com/conda/acme"},
		{"https://wharf.example.com/conda/acme/", "https://wharf.example.com/conda/acme"},
		{"HTTPS://Wharf.Example.COM/conda/acme", "https://wharf.example.com/conda/acme"},
		{"https://bob:pw@wharf.example.com/conda/acme", "https://wharf.example.com/conda/acme"},
		{"https://wharf.example.com/t/" + tok1 + "/conda/acme", "https://wharf.example.com/conda/acme"},
		{"https://wharf.example.com/conda/t/" + tok1 + "/acme", "https://wharf.example.com/conda/acme"},
		{"https://wharf.example.com/pypi/acme/simple/?x=1#y", "https://wharf.example.com/pypi/acme/simple"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
	} {
		got, err := ChannelKey(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ChannelKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"acme", "file:///tmp/x", "https://", "https://bob:pw@/t/" + tok1} {
		_, err := ChannelKey(bad)
		if err == nil {
			t.Errorf("ChannelKey(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), tok1) {
			t.Errorf("ChannelKey(%q) error shows a secret: %v", bad, err)
		}
	}
}

func TestChannelCredentials(t *testing.T) {
	s, _ := openFile(t, t.TempDir())
	if _, err := s.SaveChannel(Channel{URL: "https://wharf.example.com/conda/acme/", Kind: KindToken, Username: "ignored", Secret: tok1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveChannel(Channel{URL: "https://wharf.example.com/conda/acme/dev", Kind: KindBasic, Username: "bob", Secret: "pw-of-bob"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Channel{
		{URL: "https://wharf.example.com/conda/x", Kind: "oauth", Secret: "s"},
		{URL: "https://wharf.example.com/conda/x", Kind: KindBasic, Secret: "s"},
		{URL: "https://wharf.example.com/conda/x", Kind: KindToken},
	} {
		if _, err := s.SaveChannel(c); err == nil {
			t.Errorf("SaveChannel(%+v) succeeded", c)
		}
	}
	s, _ = openFile(t, s.Dir())
	for _, tc := range []struct{ url, kind, user, secret string }{
		{"https://wharf.example.com/conda/acme", KindToken, "", tok1},
		{"https://wharf.example.com/conda/acme/label/main", KindToken, "", tok1},
		{"https://wharf.example.com/conda/acme/dev/label/x", KindBasic, "bob", "pw-of-bob"},
		{"https://wharf.example.com/conda/acme-other", "", "", ""},
		{"https://wharf.example.com/conda", "", "", ""},
	} {
		kind, user, secret, ok := s.ChannelCredential(tc.url)
		if ok != (tc.kind != "") || kind != tc.kind || user != tc.user || secret != tc.secret {
			t.Errorf("ChannelCredential(%s) = %q %q %q %v; want %q %q %q", tc.url, kind, user, secret, ok, tc.kind, tc.user, tc.secret)
		}
	}
	if got := len(s.Channels()); got != 2 {
		t.Errorf("Channels = %d entries", got)
	}
	if _, err := s.RemoveChannel("https://wharf.example.com/conda/acme/label/main"); !isNotFound(err) {
		t.Errorf("RemoveChannel of a URL with none stored: %v", err)
	}
	if c, err := s.RemoveChannel("https://wharf.example.com/conda/acme"); err != nil || c.Kind != KindToken {
		t.Errorf("RemoveChannel = %+v, %v", c, err)
	}
	if _, _, _, ok := s.ChannelCredential("https://wharf.example.com/conda/acme"); ok {
		t.Error("credential found after RemoveChannel")
	}
	if b, _ := os.ReadFile(s.CredentialsFile()); strings.Contains(string(b), tok1) {
		t.Error("the removed channel's token is still in the credentials file")
	}
}

func TestDefaultDirFollowsXDGConfigHome(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_CONFIG_HOME is read on Linux and BSDs")
	}
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	d, err := DefaultDir()
	if err != nil || d != filepath.Join(home, "wharf") {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	s, err := Open(Options{SecretStore: InFile})
	if err != nil || s.Dir() != d {
		t.Errorf("Open = %v, %v", s, err)
	}
}

func TestUnknownSecretStoreSettingIsAnError(t *testing.T) {
	t.Setenv(EnvSecretStore, "vault")
	if _, err := Open(Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), EnvSecretStore) {
		t.Errorf("Open with %s=vault: %v", EnvSecretStore, err)
	}
}

func isNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

func TestForgettingWithAnOpenCredentialsFileChangesNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	s, _ := openFile(t, t.TempDir())
	if _, err := s.SaveSite(Site{Name: "work", Server: "https://wharf.example.com", TokenID: 3, Token: tok1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveChannel(Channel{URL: "https://wharf.example.com/conda/acme", Kind: KindToken, Secret: tok2}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.CredentialsFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	var me *ModeError
	if err := s.ForgetToken("work"); !errors.As(err, &me) {
		t.Errorf("ForgetToken: %v", err)
	}
	if err := s.RemoveSite("work"); !errors.As(err, &me) {
		t.Errorf("RemoveSite: %v", err)
	}
	if _, err := s.RemoveChannel("https://wharf.example.com/conda/acme"); !errors.As(err, &me) {
		t.Errorf("RemoveChannel: %v", err)
	}
	s, _ = openFile(t, s.Dir())
	if w, err := s.SiteInfo("work"); err != nil || !w.LoggedIn() || w.TokenID != 3 {
		t.Errorf("after refusals: %+v, %v", w, err)
	}
	if len(s.Channels()) != 1 {
		t.Errorf("after refusals: channels %v", s.Channels())
	}
}
