// Package credentials keeps what the wharf command remembers between runs: the servers it
// signed in to ("sites"), the default one, and per-channel credentials for conda and pip (as
// the conda-auth plugin keeps them).
//
// Settings go to config.json in the config directory ($XDG_CONFIG_HOME/wharf on Linux, see
// os.UserConfigDir), mode 0600 in a directory of mode 0700; it never holds a secret. Secrets
// (tokens, passwords) go to the operating system's keyring when one answers, otherwise to
// credentials.json beside it, mode 0600, which is refused when its mode is wider.
package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/clientconfig"
)

// The kinds of per-channel credentials.
const (
	KindToken = "token" // sent as a token: conda's /t/TOKEN/ or a token file, pip's __token__
	KindBasic = "basic" // HTTP Basic: a username and a password
)

// Files in the config directory.
const (
	ConfigFileName      = "config.json"
	CredentialsFileName = "credentials.json"
)

// EnvSecretStore, when "keyring" or "file", says where new secrets go instead of probing the
// keyring ("file" keeps a machine's secrets out of a keyring that answers).
const EnvSecretStore = "WHARF_CREDENTIAL_STORE"

// Site is a server the wharf command signed in to, under a name. Token is its secret, filled
// in by Store.Site and Store.DefaultSite and empty in Store.Sites; it never goes to config.json.
type Site struct {
	Name         string    `json:"name"`
	Server       string    `json:"server"` // base URL without credentials, e.g. https://wharf.example.com
	Username     string    `json:"username,omitempty"`
	TokenID      int64     `json:"token_id,omitempty"`
	TokenName    string    `json:"token_name,omitempty"`
	TokenExpires time.Time `json:"token_expires,omitzero"`
	// SecretStore is where the token is kept, InKeyring or InFile; empty when the site has
	// no token (logged out).
	SecretStore string `json:"secret_store,omitempty"`
	Token       string `json:"-"`
}

// LoggedIn says whether a token is kept for the site.
func (s Site) LoggedIn() bool { return s.SecretStore != "" }

// Channel is the credential kept for one channel URL (and the channels under it). Secret is
// the token (KindToken) or the password (KindBasic), filled in by Store.Channel only.
type Channel struct {
	URL         string `json:"url"`
	Kind        string `json:"kind"`
	Username    string `json:"username,omitempty"`
	SecretStore string `json:"secret_store"`
	Secret      string `json:"-"`
}

// NotFoundError says a site or channel is not in the store.
type NotFoundError struct {
	Kind string // "site", "default site", "site for server", "channel"
	Name string
}

func (e *NotFoundError) Error() string {
	switch e.Kind {
	case "default site":
		return "no default site: log in with wharf login --server URL, or choose one with wharf site use NAME"
	case "site":
		return fmt.Sprintf("no site %q: see wharf site list, or log in with wharf login --site %s --server URL", e.Name, e.Name)
	case "channel":
		return fmt.Sprintf("no credentials stored for %s: see wharf auth login --help", e.Name)
	}
	return fmt.Sprintf("no %s %q", e.Kind, e.Name)
}

// Options say where a Store keeps its files and secrets.
type Options struct {
	// Dir is the config directory; default DefaultDir().
	Dir string
	// SecretStore is InKeyring or InFile to choose where new secrets go; empty: the
	// environment's WHARF_CREDENTIAL_STORE, else the keyring when it answers, else the file.
	SecretStore string
	// Warn is where the store says that it fell back to the file (nil: nowhere).
	Warn io.Writer
}

// DefaultDir is the wharf config directory: os.UserConfigDir()/wharf.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory: %w (set XDG_CONFIG_HOME or HOME)", err)
	}
	return filepath.Join(d, "wharf"), nil
}

// Store is the wharf command's config directory. Its methods read config.json again before
// each change, so two commands run one after the other see each other's changes.
type Store struct {
	dir  string
	warn io.Writer
	kr   secrets
	file fileSecrets

	choice     string // Options.SecretStore or the environment's
	probeOnce  sync.Once
	backend    string // where new secrets go, once probed
	whyNotRing error  // why the keyring is not used

	cfg fileConfig
}

// fileConfig is config.json.
type fileConfig struct {
	Default  string                  `json:"default_site,omitempty"`
	Sites    map[string]siteEntry    `json:"sites"`
	Channels map[string]channelEntry `json:"channels"`
}

type siteEntry struct {
	Server       string    `json:"server"`
	Username     string    `json:"username,omitempty"`
	TokenID      int64     `json:"token_id,omitempty"`
	TokenName    string    `json:"token_name,omitempty"`
	TokenExpires time.Time `json:"token_expires,omitzero"`
	SecretStore  string    `json:"secret_store,omitempty"`
}

type channelEntry struct {
	Kind        string `json:"kind"`
	Username    string `json:"username,omitempty"`
	SecretStore string `json:"secret_store"`
}

// Open reads the store in opt.Dir (a missing directory is an empty store: nothing is made
// until something is saved). It does not touch the keyring.
func Open(opt Options) (*Store, error) {
	dir := opt.Dir
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	choice := opt.SecretStore
	if choice == "" {
		choice = os.Getenv(EnvSecretStore)
	}
	switch choice {
	case "", InKeyring, InFile:
	default:
		return nil, fmt.Errorf("%s=%q: want %s or %s", EnvSecretStore, choice, InKeyring, InFile)
	}
	s := &Store{dir: dir, warn: opt.Warn, kr: keyringSecrets{}, file: fileSecrets{path: filepath.Join(dir, CredentialsFileName)}, choice: choice}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the config directory.
func (s *Store) Dir() string { return s.dir }

// ConfigFile is the path of config.json.
func (s *Store) ConfigFile() string { return filepath.Join(s.dir, ConfigFileName) }

// CredentialsFile is the path of credentials.json, where secrets go when there is no keyring.
func (s *Store) CredentialsFile() string { return s.file.path }

// SecretStore says where new secrets go, InKeyring or InFile, and for InFile why the keyring
// is not used (nil when the file was asked for). The first call probes the keyring.
func (s *Store) SecretStore() (string, error) {
	s.probeOnce.Do(func() {
		switch s.choice {
		case InFile:
			s.backend = InFile
		case InKeyring:
			s.backend = InKeyring
		default:
			if err := probeKeyring(); err != nil {
				s.backend, s.whyNotRing = InFile, err
			} else {
				s.backend = InKeyring
			}
		}
	})
	return s.backend, s.whyNotRing
}

func (s *Store) reload() error {
	cfg := fileConfig{}
	b, err := os.ReadFile(s.ConfigFile())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w; fix it or remove it (it holds no secrets)", s.ConfigFile(), err)
		}
	}
	if cfg.Sites == nil {
		cfg.Sites = map[string]siteEntry{}
	}
	if cfg.Channels == nil {
		cfg.Channels = map[string]channelEntry{}
	}
	s.cfg = cfg
	return nil
}

// update applies change to config.json as it is on disk now, and writes it back.
func (s *Store) update(change func(*fileConfig) error) error {
	if err := s.reload(); err != nil {
		return err
	}
	if err := change(&s.cfg); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s.cfg, "", "  ")
	if err != nil {
		return err
	}
	return clientconfig.WriteAtomic(s.ConfigFile(), append(b, '\n'), 0o600)
}

func (s *Store) backendOf(where string) (secrets, error) {
	switch where {
	case InKeyring:
		return s.kr, nil
	case InFile:
		return s.file, nil
	}
	return nil, fmt.Errorf("unknown secret store %q in %s", where, s.ConfigFile())
}

// putSecret keeps secret under key where new secrets go, falling back to the file (and
// saying so) when the keyring refuses it. It returns where the secret went.
func (s *Store) putSecret(key, secret string) (string, error) {
	where, why := s.SecretStore()
	if where == InKeyring {
		err := s.kr.set(key, secret)
		if err == nil {
			return InKeyring, nil
		}
		if s.choice == InKeyring {
			return "", fmt.Errorf("the OS keyring refused the secret: %w", err)
		}
		why = err
	}
	if err := s.file.set(key, secret); err != nil {
		return "", err
	}
	if s.warn != nil {
		if why != nil {
			fmt.Fprintf(s.warn, "wharf: the OS keyring is not available (%v): the secret is kept in %s, mode 0600, readable by you alone\n", why, s.file.path)
		} else {
			fmt.Fprintf(s.warn, "wharf: the secret is kept in %s, mode 0600, readable by you alone\n", s.file.path)
		}
	}
	return InFile, nil
}

func (s *Store) getSecret(where, key string) (string, error) {
	b, err := s.backendOf(where)
	if err != nil {
		return "", err
	}
	secret, err := b.get(key)
	if err != nil {
		if errors.Is(err, errNoSecret) {
			return "", fmt.Errorf("its secret is missing from the %s", describe(where))
		}
		if where == InKeyring {
			return "", fmt.Errorf("its secret is in the OS keyring, which did not answer: %w", err)
		}
		return "", err
	}
	return secret, nil
}

// dropSecret removes a secret; a secret already gone is no error.
func (s *Store) dropSecret(where, key string) error {
	if where == "" {
		return nil
	}
	b, err := s.backendOf(where)
	if err != nil {
		return err
	}
	return b.delete(key)
}

func describe(where string) string {
	if where == InKeyring {
		return "OS keyring"
	}
	return "credentials file"
}

func siteKey(name string) string   { return "site:" + name }
func channelKey(url string) string { return "channel:" + url }

func (e siteEntry) site(name string) Site {
	return Site{Name: name, Server: e.Server, Username: e.Username, TokenID: e.TokenID, TokenName: e.TokenName, TokenExpires: e.TokenExpires, SecretStore: e.SecretStore}
}

// Sites lists the sites by name, without their tokens.
func (s *Store) Sites() []Site {
	out := []Site{}
	for name, e := range s.cfg.Sites {
		out = append(out, e.site(name))
	}
	slices.SortFunc(out, func(a, b Site) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Default is the name of the default site, "" when there is none.
func (s *Store) Default() string { return s.cfg.Default }

// Site returns the site of that name with its token (empty when logged out), or a
// *NotFoundError.
func (s *Store) Site(name string) (Site, error) {
	site, err := s.SiteInfo(name)
	if err != nil {
		return site, err
	}
	if site.SecretStore != "" {
		tok, err := s.getSecret(site.SecretStore, siteKey(name))
		if err != nil {
			var me *ModeError
			if errors.As(err, &me) {
				return site, fmt.Errorf("the token of site %s: %w", name, err)
			}
			return site, fmt.Errorf("the token of site %s: %w; log in again with wharf login --site %s", name, err, name)
		}
		site.Token = tok
	}
	return site, nil
}

// DefaultSite returns the default site with its token, or a *NotFoundError of Kind
// "default site" when none is set.
func (s *Store) DefaultSite() (Site, error) {
	if s.cfg.Default == "" {
		return Site{}, &NotFoundError{Kind: "default site"}
	}
	return s.Site(s.cfg.Default)
}

// SiteInfo returns the site of that name without reading its token, or a *NotFoundError.
func (s *Store) SiteInfo(name string) (Site, error) {
	e, ok := s.cfg.Sites[name]
	if !ok {
		return Site{}, &NotFoundError{Kind: "site", Name: name}
	}
	return e.site(name), nil
}

// FindSite returns the name of the site of a server URL; when several sites have that server,
// the default one wins, then the first by name.
func (s *Store) FindSite(server string) (string, bool) {
	key, err := ServerKey(server)
	if err != nil {
		return "", false
	}
	var names []string
	for name, e := range s.cfg.Sites {
		if k, err := ServerKey(e.Server); err == nil && k == key {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	if slices.Contains(names, s.cfg.Default) {
		return s.cfg.Default, true
	}
	slices.Sort(names)
	return names[0], true
}

// SiteByServer returns the site of a server URL (see FindSite) with its token, or a
// *NotFoundError.
func (s *Store) SiteByServer(server string) (Site, error) {
	key, err := ServerKey(server)
	if err != nil {
		return Site{}, err
	}
	name, ok := s.FindSite(key)
	if !ok {
		return Site{}, &NotFoundError{Kind: "site for server", Name: key}
	}
	return s.Site(name)
}

// SaveSite adds or replaces a site. A non-empty site.Token is kept as its secret (the old one
// is dropped); with an empty Token the token already kept stays. It returns the site as
// stored, its SecretStore set.
func (s *Store) SaveSite(site Site) (Site, error) {
	if err := checkName(site.Name); err != nil {
		return Site{}, err
	}
	key, err := ServerKey(site.Server)
	if err != nil {
		return Site{}, err
	}
	site.Server = key
	old, had := s.cfg.Sites[site.Name]
	if site.Token != "" {
		where, err := s.putSecret(siteKey(site.Name), site.Token)
		if err != nil {
			return Site{}, err
		}
		if had && old.SecretStore != "" && old.SecretStore != where {
			s.dropSecret(old.SecretStore, siteKey(site.Name)) // the old token, in the other store
		}
		site.SecretStore = where
	} else if had {
		site.SecretStore = old.SecretStore
	} else {
		site.SecretStore = ""
	}
	e := siteEntry{Server: site.Server, Username: site.Username, TokenID: site.TokenID, TokenName: site.TokenName, TokenExpires: site.TokenExpires, SecretStore: site.SecretStore}
	err = s.update(func(c *fileConfig) error {
		c.Sites[site.Name] = e
		return nil
	})
	return site, err
}

// SetDefault makes the named site the default.
func (s *Store) SetDefault(name string) error {
	return s.update(func(c *fileConfig) error {
		if _, ok := c.Sites[name]; !ok {
			return &NotFoundError{Kind: "site", Name: name}
		}
		c.Default = name
		return nil
	})
}

// ForgetToken drops a site's token and its secret, and keeps the site (its server and
// username), logged out. A credentials file others may read is left as it was (a
// *ModeError); a keyring that does not answer keeps the secret, and the site is logged out
// all the same (the error says so).
func (s *Store) ForgetToken(name string) error {
	info, err := s.SiteInfo(name)
	if err != nil {
		return err
	}
	return s.forget(info.SecretStore, siteKey(name), func(c *fileConfig) error {
		e, ok := c.Sites[name]
		if !ok {
			return &NotFoundError{Kind: "site", Name: name}
		}
		e.TokenID, e.TokenName, e.TokenExpires, e.SecretStore = 0, "", time.Time{}, ""
		c.Sites[name] = e
		return nil
	})
}

// RemoveSite forgets a site and its token; it is no longer the default. Errors as ForgetToken.
func (s *Store) RemoveSite(name string) error {
	info, err := s.SiteInfo(name)
	if err != nil {
		return err
	}
	return s.forget(info.SecretStore, siteKey(name), func(c *fileConfig) error {
		if _, ok := c.Sites[name]; !ok {
			return &NotFoundError{Kind: "site", Name: name}
		}
		delete(c.Sites, name)
		if c.Default == name {
			c.Default = ""
		}
		return nil
	})
}

// forget drops the secret kept in where under key, then applies change to config.json. A
// credentials file others may read stops it before anything changes (a *ModeError); a
// secret that could not be dropped otherwise is reported once the change is made.
func (s *Store) forget(where, key string, change func(*fileConfig) error) error {
	dropErr := s.dropSecret(where, key)
	var me *ModeError
	if errors.As(dropErr, &me) {
		return dropErr
	}
	if err := s.update(change); err != nil {
		return err
	}
	if dropErr != nil {
		return fmt.Errorf("forgotten, but its secret could not be removed from the %s: %w", describe(where), dropErr)
	}
	return nil
}

// Channels lists the channels with stored credentials, by URL, without their secrets.
func (s *Store) Channels() []Channel {
	out := []Channel{}
	for u, e := range s.cfg.Channels {
		out = append(out, Channel{URL: u, Kind: e.Kind, Username: e.Username, SecretStore: e.SecretStore})
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.URL, b.URL) })
	return out
}

// Channel returns the credential for a channel URL, with its secret: the one stored for that
// URL, else for the nearest URL above it (credentials for …/conda/acme serve
// …/conda/acme/label/dev), else a *NotFoundError.
func (s *Store) Channel(rawURL string) (Channel, error) {
	key, err := ChannelKey(rawURL)
	if err != nil {
		return Channel{}, err
	}
	best := ""
	for u := range s.cfg.Channels {
		if (u == key || strings.HasPrefix(key, u+"/")) && len(u) > len(best) {
			best = u
		}
	}
	if best == "" {
		return Channel{}, &NotFoundError{Kind: "channel", Name: key}
	}
	e := s.cfg.Channels[best]
	c := Channel{URL: best, Kind: e.Kind, Username: e.Username, SecretStore: e.SecretStore}
	if c.Secret, err = s.getSecret(e.SecretStore, channelKey(best)); err != nil {
		return c, fmt.Errorf("the credentials of %s: %w; store them again with wharf auth login %s", best, err, best)
	}
	return c, nil
}

// ChannelCredential returns the kind (KindToken or KindBasic), username and secret stored for
// a channel URL or the nearest URL above it; ok is false when there are none or the secret
// cannot be read (Channel says why).
func (s *Store) ChannelCredential(rawURL string) (kind, username, secret string, ok bool) {
	c, err := s.Channel(rawURL)
	if err != nil {
		return "", "", "", false
	}
	return c.Kind, c.Username, c.Secret, true
}

// SaveChannel stores the credential for c.URL (taken apart by ChannelKey), replacing any. It
// returns the entry as stored, its URL and SecretStore set.
func (s *Store) SaveChannel(c Channel) (Channel, error) {
	key, err := ChannelKey(c.URL)
	if err != nil {
		return Channel{}, err
	}
	switch c.Kind {
	case KindToken:
		c.Username = ""
	case KindBasic:
		if c.Username == "" {
			return Channel{}, errors.New("basic credentials need a username")
		}
	default:
		return Channel{}, fmt.Errorf("credential kind %q: want %s or %s", c.Kind, KindToken, KindBasic)
	}
	if c.Secret == "" {
		return Channel{}, errors.New("no secret to store")
	}
	c.URL = key
	old, had := s.cfg.Channels[key]
	where, err := s.putSecret(channelKey(key), c.Secret)
	if err != nil {
		return Channel{}, err
	}
	if had && old.SecretStore != where {
		s.dropSecret(old.SecretStore, channelKey(key))
	}
	c.SecretStore = where
	err = s.update(func(cfg *fileConfig) error {
		cfg.Channels[key] = channelEntry{Kind: c.Kind, Username: c.Username, SecretStore: where}
		return nil
	})
	return c, err
}

// RemoveChannel forgets the credential stored for exactly that channel URL, and returns it
// without its secret. Errors as ForgetToken.
func (s *Store) RemoveChannel(rawURL string) (Channel, error) {
	key, err := ChannelKey(rawURL)
	if err != nil {
		return Channel{}, err
	}
	e, ok := s.cfg.Channels[key]
	if !ok {
		return Channel{}, &NotFoundError{Kind: "channel", Name: key}
	}
	c := Channel{URL: key, Kind: e.Kind, Username: e.Username, SecretStore: e.SecretStore}
	return c, s.forget(c.SecretStore, channelKey(key), func(cfg *fileConfig) error {
		if _, ok := cfg.Channels[key]; !ok {
			return &NotFoundError{Kind: "channel", Name: key}
		}
		delete(cfg.Channels, key)
		return nil
	})
}

// checkName refuses site names that would be hard to type or to show.
func checkName(name string) error {
	if name == "" || len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == '/' || r == '\\' || r == 0x7f }) {
		return fmt.Errorf("site name %q: want a short name without spaces or slashes, e.g. work", name)
	}
	return nil
}

// ServerKey is a server URL as sites keep it: http or https, scheme and host in lower case,
// no credentials, no /t/TOKEN segment, no query, no trailing slash.
func ServerKey(raw string) (string, error) {
	return cleanURL(raw, "server")
}

// ChannelKey is a channel URL as credentials are keyed (conda-auth keys them by the channel's
// canonical name): ServerKey's rules, and a /t/TOKEN segment, wherever it is, taken out.
func ChannelKey(raw string) (string, error) {
	return cleanURL(raw, "channel")
}

func cleanURL(raw, what string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		example := "https://wharf.example.com"
		if what == "channel" {
			example += "/conda/acme"
		}
		return "", fmt.Errorf("%s URL %q: want one like %s", what, redact(raw), example)
	}
	u.Host = strings.ToLower(u.Host)
	u.User = nil
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	// Take out /t/TOKEN: first, or after conda or pypi.
	for i := 0; i+1 < len(segs) && i <= 1; i++ {
		if segs[i] == "t" && (i == 0 || segs[0] == "conda" || segs[0] == "pypi") {
			segs = append(segs[:i:i], segs[i+2:]...)
			break
		}
	}
	path := strings.Join(segs, "/")
	u.Path, u.RawPath = "", ""
	if path != "" {
		u.Path = "/" + path
	}
	return u.String(), nil
}

var pathToken = regexp.MustCompile(`/t/[^/?#]+`)

// redact hides the credentials and any /t/TOKEN of a URL that could not be parsed.
func redact(raw string) string {
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		if i := strings.Index(raw, "://"); i >= 0 && i < at {
			raw = raw[:i+3] + "…@" + raw[at+1:]
		} else {
			raw = "…@" + raw[at+1:]
		}
	}
	return pathToken.ReplaceAllString(raw, "/t/<redacted>")
}
