// Package config holds Wharf's typed server configuration: defaults, environment variables
// (WHARF_*), and flags, in that order of precedence (flags win).
package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/api"
)

// Config is everything `wharf serve` needs.
type Config struct {
	Listen         string // address to listen on
	DataDir        string // SQLite file, blobs and temporary uploads live here by default
	Database       string // "" = <data>/wharf.db (SQLite); postgres://… for PostgreSQL
	Storage        string // "" = <data>/blobs; s3://bucket?endpoint=… for S3
	MaxUploadBytes int64  // largest package file accepted
	LogFormat      string // "text" or "json"
	// ExtraSubdirs are platform subdirs accepted besides conda's known ones (noarch,
	// linux-64, …), for in-house platforms.
	ExtraSubdirs []string

	// PublicURL is the address users reach the server at, for links in mails; default
	// http://<listen>.
	PublicURL string
	// Signup is who may create an account: closed (default; admins create them), invite or open.
	Signup string
	// Mail: SMTP when SMTPAddr is set, else mails are written to <data>/outbox.
	MailFrom     string
	SMTPAddr     string
	SMTPUser     string
	SMTPPassword string // from WHARF_SMTP_PASSWORD only: a flag would show it in ps
	SMTPTLS      string // starttls (default), tls or none (loopback only)

	// MaxTokenLifetime is the longest a token may be made or extended to live ("365d").
	MaxTokenLifetime string

	// Slow clients. BodyTimeout is how long a request body other than an upload (JSON, a
	// form) may take to arrive. An upload may go quiet for at most UploadIdleTimeout, and
	// once that long has passed it must average UploadMinRate bytes a second since it began
	// (0: no minimum). UploadsPerClient bounds one client address's uploads in progress (0:
	// no bound).
	BodyTimeout       time.Duration
	UploadIdleTimeout time.Duration
	UploadMinRate     int64
	UploadsPerClient  int

	// StoreTimeout is how long a store call made for a request may wait for the database
	// before the request is answered 503.
	StoreTimeout time.Duration
}

// Default returns the configuration `wharf serve` uses with no flags.
func Default() Config {
	return Config{
		Listen:           "127.0.0.1:8080",
		DataDir:          "wharf-data",
		MaxUploadBytes:   2 << 30,
		LogFormat:        "text",
		Signup:           "closed",
		MaxTokenLifetime: "365d",
		// See docs/configuration.md for why these numbers.
		BodyTimeout:       30 * time.Second,
		UploadIdleTimeout: time.Minute,
		UploadMinRate:     4096,
		UploadsPerClient:  8,
		StoreTimeout:      15 * time.Second,
	}
}

// FromEnv overlays WHARF_LISTEN, WHARF_DATA, WHARF_DATABASE, WHARF_STORAGE,
// WHARF_MAX_UPLOAD_BYTES, WHARF_LOG_FORMAT and WHARF_EXTRA_SUBDIRS (comma-separated) on c.
func (c Config) FromEnv(getenv func(string) string) (Config, error) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.Listen, "WHARF_LISTEN")
	set(&c.DataDir, "WHARF_DATA")
	set(&c.Database, "WHARF_DATABASE")
	set(&c.Storage, "WHARF_STORAGE")
	set(&c.LogFormat, "WHARF_LOG_FORMAT")
	set(&c.PublicURL, "WHARF_PUBLIC_URL")
	set(&c.Signup, "WHARF_SIGNUP")
	set(&c.MailFrom, "WHARF_MAIL_FROM")
	set(&c.SMTPAddr, "WHARF_SMTP_ADDR")
	set(&c.SMTPUser, "WHARF_SMTP_USER")
	set(&c.SMTPPassword, "WHARF_SMTP_PASSWORD")
	set(&c.SMTPTLS, "WHARF_SMTP_TLS")
	set(&c.MaxTokenLifetime, "WHARF_MAX_TOKEN_LIFETIME")
	if v := getenv("WHARF_EXTRA_SUBDIRS"); v != "" {
		c.ExtraSubdirs = strings.Split(v, ",")
	}
	if v := getenv("WHARF_MAX_UPLOAD_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("WHARF_MAX_UPLOAD_BYTES=%q: want a positive number of bytes", v)
		}
		c.MaxUploadBytes = n
	}
	for key, dst := range map[string]*time.Duration{"WHARF_BODY_TIMEOUT": &c.BodyTimeout, "WHARF_UPLOAD_IDLE_TIMEOUT": &c.UploadIdleTimeout, "WHARF_STORE_TIMEOUT": &c.StoreTimeout} {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s=%q: want a duration such as 30s or 2m", key, v)
			}
			*dst = d
		}
	}
	if v := getenv("WHARF_UPLOAD_MIN_RATE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("WHARF_UPLOAD_MIN_RATE=%q: want bytes a second (0: no minimum)", v)
		}
		c.UploadMinRate = n
	}
	if v := getenv("WHARF_UPLOADS_PER_CLIENT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("WHARF_UPLOADS_PER_CLIENT=%q: want a number of uploads (0: no bound)", v)
		}
		c.UploadsPerClient = n
	}
	return c, nil
}

// Resolve fills the derived defaults and checks the result.
func (c Config) Resolve() (Config, error) {
	if c.DataDir == "" {
		return c, fmt.Errorf("the data directory may not be empty")
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "wharf.db")
	}
	if c.Storage == "" {
		c.Storage = filepath.Join(c.DataDir, "blobs")
	}
	if c.MaxUploadBytes <= 0 {
		return c, fmt.Errorf("the maximum upload size must be positive")
	}
	for _, sd := range c.ExtraSubdirs {
		if !subdirPattern(sd) {
			return c, fmt.Errorf("extra subdir %q: want <platform>-<arch>, lowercase letters and digits", sd)
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return c, fmt.Errorf("log format %q: want text or json", c.LogFormat)
	}
	switch c.Signup {
	case "closed", "invite", "open":
	default:
		return c, fmt.Errorf("sign-up mode %q: want closed, invite or open", c.Signup)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return c, fmt.Errorf("public URL %q: want http(s)://host[:port][/path], without credentials", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if _, err := c.TokenLifetime(); err != nil {
		return c, err
	}
	if c.BodyTimeout <= 0 {
		return c, fmt.Errorf("body timeout %s: want a positive duration", c.BodyTimeout)
	}
	if c.UploadIdleTimeout <= 0 {
		return c, fmt.Errorf("upload idle timeout %s: want a positive duration", c.UploadIdleTimeout)
	}
	if c.StoreTimeout <= 0 {
		return c, fmt.Errorf("store timeout %s: want a positive duration", c.StoreTimeout)
	}
	if c.UploadMinRate < 0 {
		return c, fmt.Errorf("upload minimum rate %d: want bytes a second, or 0 for no minimum", c.UploadMinRate)
	}
	if c.UploadsPerClient < 0 {
		return c, fmt.Errorf("uploads per client %d: want a number, or 0 for no bound", c.UploadsPerClient)
	}
	return c, nil
}

// orNone is n, or -1 (what the server takes for "none") for 0, which is "none" on the command
// line.
func orNone[T int | int64](n T) T {
	if n == 0 {
		return -1
	}
	return n
}

// ServerUploadMinRate is UploadMinRate as server.Options takes it (negative: no minimum).
func (c Config) ServerUploadMinRate() int64 { return orNone(c.UploadMinRate) }

// ServerUploadsPerClient is UploadsPerClient as server.Options takes it (negative: no bound).
func (c Config) ServerUploadsPerClient() int { return orNone(c.UploadsPerClient) }

// TokenLifetime is MaxTokenLifetime as a duration: "90d", "2160h".
func (c Config) TokenLifetime() (time.Duration, error) {
	s := c.MaxTokenLifetime
	if d, ok := api.ParseLifetime(s); ok {
		return d, nil
	}
	return 0, fmt.Errorf("maximum token lifetime %q: give days (365d) or a duration (2160h)", s)
}

// OutboxDir is where mail goes when no SMTP server is configured.
func (c Config) OutboxDir() string { return filepath.Join(c.DataDir, "outbox") }

// subdirPattern is conda's generic subdir form, ^[a-z0-9]+-[a-z0-9]+$.
func subdirPattern(s string) bool {
	a, b, ok := strings.Cut(s, "-")
	word := func(w string) bool {
		if w == "" {
			return false
		}
		for _, r := range w {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				return false
			}
		}
		return true
	}
	return ok && word(a) && word(b)
}

// TempDir is where uploads are spooled before they are checked and stored.
func (c Config) TempDir() string { return filepath.Join(c.DataDir, "tmp") }

// UsesPostgres reports whether the metadata store is PostgreSQL.
func (c Config) UsesPostgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// Getenv is os.Getenv, for FromEnv.
var Getenv = os.Getenv
