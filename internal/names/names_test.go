package names

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
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

func TestKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"acme", "acme"},
		{"acme-", "acme"}, {"acme.", "acme"}, {"acme_", "acme"}, {"acme__..", "acme"},
		{"foo-bar", "foo-bar"}, {"foo_bar", "foo-bar"}, {"foo.bar", "foo-bar"}, {"foo-_.bar", "foo-bar"},
		{"Foo_Bar", "foo-bar"}, {"ACME", "acme"},
		{"foobar", "foobar"}, // no separator is not a separator: a different name
		{"acme_/Dev.", "acme/dev"}, {"acme/_dev", "acme/dev"}, {"acme/dev", "acme/dev"},
		{"", ""}, {"-", ""}, {"_a", "a"},
		{"\u212acme", "\u212acme"}, // the Kelvin sign is not folded to "k"
		{"caf\u00c9", "caf\u00c9"},
	} {
		if got := Key(tc.in); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

var keyRuns = regexp.MustCompile(`[-_.]+`)

// keyReference is Key written another way: per segment, ASCII lower-casing, each run of
// separators made one '-', separators trimmed at both ends.
func keyReference(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		s = strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, s)
		segs[i] = strings.Trim(keyRuns.ReplaceAllString(s, "-"), "-")
	}
	return strings.Join(segs, "/")
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"acme", "acme-", "Foo_Bar", "foo..bar", "a/b_", "_", "-a-/-b-", "\u212a", "\xff_A", "api", "acme/label"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) {
			// strings.Map in the reference would replace invalid bytes; Key keeps them.
			if k := Key(name); Key(k) != k {
				t.Fatalf("Key not idempotent on %q: %q then %q", name, k, Key(k))
			}
			return
		}
		k := Key(name)
		if want := keyReference(name); k != want {
			t.Fatalf("Key(%q) = %q, reference %q", name, k, want)
		}
		if Key(k) != k {
			t.Fatalf("Key not idempotent on %q: %q then %q", name, k, Key(k))
		}
		if strings.ContainsAny(k, "_.ABCDEFGHIJKLMNOPQRSTUVWXYZ") || strings.Contains(k, "--") {
			t.Fatalf("Key(%q) = %q holds a separator other than a single '-', or an upper-case letter", name, k)
		}
		for _, seg := range strings.Split(k, "/") {
			if strings.HasPrefix(seg, "-") || strings.HasSuffix(seg, "-") {
				t.Fatalf("Key(%q) = %q has a segment with a separator at an end", name, k)
			}
		}
		// The spellings Key folds together have one key.
		upper := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, name)
		for _, v := range []string{upper, strings.NewReplacer("-", "_", "_", ".", ".", "-").Replace(name), name + "_", strings.ReplaceAll(name, "-", "-.")} {
			if Key(v) != k {
				t.Fatalf("Key(%q) = %q but Key(%q) = %q", name, k, v, Key(v))
			}
		}
		// Non-ASCII bytes pass untouched: nothing outside ASCII is folded onto a name.
		if nonASCII(k) != nonASCII(name) {
			t.Fatalf("Key(%q) = %q changed non-ASCII characters", name, k)
		}
		// A valid name's key is made of what names may hold.
		if Channel(name) == nil && Segment(strings.ReplaceAll(k, "/", "x")) != nil && k != "" {
			t.Fatalf("Key(%q) = %q is no longer made of name characters", name, k)
		}
	})
}

func nonASCII(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
