package config

import (
	"path/filepath"
	"testing"
	"time"
)

func TestDefaultsResolveIntoTheDataDirectory(t *testing.T) {
	c, err := Default().Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Database != filepath.Join("wharf-data", "wharf.db") || c.Storage != filepath.Join("wharf-data", "blobs") {
		t.Errorf("defaults = %+v", c)
	}
	if c.UsesPostgres() {
		t.Error("default store is PostgreSQL")
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"WHARF_LISTEN": ":9000", "WHARF_DATABASE": "postgres://x/y", "WHARF_EXTRA_SUBDIRS": "linux-fake,osx-fake", "WHARF_MAX_UPLOAD_BYTES": "1024"}
	c, err := Default().FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9000" || !c.UsesPostgres() || len(c.ExtraSubdirs) != 2 || c.MaxUploadBytes != 1024 {
		t.Errorf("from env = %+v", c)
	}
	for k, v := range map[string]string{"WHARF_MAX_UPLOAD_BYTES": "lots", "WHARF_EXTRA_SUBDIRS": "Linux_64", "WHARF_LOG_FORMAT": "xml"} {
		c, err := Default().FromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil {
			_, err = c.Resolve()
		}
		if err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

func TestTokenLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"365d": 365 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "2160h": 2160 * time.Hour} {
		c := Default()
		c.MaxTokenLifetime = in
		if got, err := c.TokenLifetime(); err != nil || got != want {
			t.Errorf("TokenLifetime(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "forever", "1y"} {
		c := Default()
		c.MaxTokenLifetime = bad
		if _, err := c.Resolve(); err == nil {
			t.Errorf("Resolve accepted a token lifetime %q", bad)
		}
	}
}

func TestSlowClientLimits(t *testing.T) {
	env := map[string]string{"WHARF_BODY_TIMEOUT": "5s", "WHARF_UPLOAD_IDLE_TIMEOUT": "2m", "WHARF_UPLOAD_MIN_RATE": "0", "WHARF_UPLOADS_PER_CLIENT": "3", "WHARF_STORE_TIMEOUT": "1m"}
	c, err := Default().FromEnv(func(k string) string { return env[k] })
	if err == nil {
		c, err = c.Resolve()
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.BodyTimeout != 5*time.Second || c.UploadIdleTimeout != 2*time.Minute || c.ServerUploadMinRate() != -1 || c.ServerUploadsPerClient() != 3 || c.StoreTimeout != time.Minute {
		t.Errorf("from env = %+v", c)
	}
	if d := Default(); d.ServerUploadMinRate() != 4096 || d.ServerUploadsPerClient() != 8 || d.StoreTimeout != 15*time.Second {
		t.Errorf("defaults: min rate %d, per client %d, store timeout %s", d.ServerUploadMinRate(), d.ServerUploadsPerClient(), d.StoreTimeout)
	}
	for k, v := range map[string]string{"WHARF_BODY_TIMEOUT": "soon", "WHARF_UPLOAD_IDLE_TIMEOUT": "0s", "WHARF_UPLOAD_MIN_RATE": "-5", "WHARF_UPLOADS_PER_CLIENT": "many",
		"WHARF_STORE_TIMEOUT": "0s"} {
		c, err := Default().FromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil {
			_, err = c.Resolve()
		}
		if err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}
