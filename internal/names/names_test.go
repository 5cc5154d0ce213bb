package names

import (
	"strings"
	"testing"
)

func TestAccount(t *testing.T) {
	for _, ok := range []string{"alice", "a", "bob-2", "0day", strings.Repeat("a", 39)} {
		if err := Account(ok); err != nil {
			t.Errorf("Account(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Alice", "-bob", "bob_2", "bob.2", "a/b", "api", "conda", "pypi", "t", "login", "static", "admin", "linux-64", "noarch", strings.Repeat("a", 40), "al\u00efce", "al ice"} {
		if err := Account(bad); err == nil {
			t.Errorf("Account(%q) accepted", bad)
		}
	}
}

func TestEmail(t *testing.T) {
	for _, ok := range []string{"a@example.com", "first.last+tag@sub.example.org", "root@localhost"} {
		if err := Email(ok); err != nil {
			t.Errorf("Email(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "a@", "@b.com", "A <a@example.com>", "a@example.com\r\nBcc: x@y.z", "a@example", strings.Repeat("a", 250) + "@example.com", "a@example.com, b@example.com"} {
		if err := Email(bad); err == nil {
			t.Errorf("Email(%q) accepted", bad)
		}
	}
	// Addresses net/mail takes but the mailer cannot send to: refused at sign-up, not left to
	// a confirmation mail that never goes.
	for _, undeliverable := range []string{"josé@example.com", "a@bücher.de", "a@[127.0.0.1]", strings.Repeat("a", 71) + "@example.com", "a@b_c.example.com"} {
		if err := Email(undeliverable); err == nil || !strings.Contains(err.Error(), "cannot receive Wharf's mail") {
			t.Errorf("Email(%q) = %v; want it refused as undeliverable", undeliverable, err)
		}
	}
}

func TestChannel(t *testing.T) {
	for _, ok := range []string{"acme", "acme/dev", "a.b_c-d"} {
		if err := Channel(ok); err != nil {
			t.Errorf("Channel(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Acme", "a/b/c", "acme/label", "api", "acme/", "/acme", "a..b", "\xff"} {
		if err := Channel(bad); err == nil {
			t.Errorf("Channel(%q) accepted", bad)
		}
	}
}
