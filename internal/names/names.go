// Package names validates the names users choose for channels (and, later, accounts), which
// appear in URLs next to Wharf's own routes.
package names

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/wharfhq/wharf/internal/conda"
	wharfmail "github.com/wharfhq/wharf/internal/mail"
)

// reserved are top-level names that would shadow a route or confuse a client.
var reserved = map[string]bool{
	"api": true, "conda": true, "pypi": true, "t": true, "login": true, "logout": true, "signup": true,
	"static": true, "admin": true, "label": true, "labels": true, "shards": true, "settings": true,
	"user": true, "users": true, "org": true, "orgs": true, "channels": true, "packages": true,
	"search": true, "health": true, "healthz": true, "metrics": true, "openapi.json": true, "favicon.ico": true,
	"account": true, "accounts": true, "invites": true, "www": true, "root": true, "wharf": true, "verify": true, "reset": true,
}

// Segment checks one segment of a channel name: lowercase letters, digits, '-', '_' and '.',
// starting with a letter or digit, at most 64 characters.
func Segment(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q must be 1 to 64 characters", s)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("%q may hold only lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit", s)
		}
	}
	if strings.Contains(s, "..") {
		return fmt.Errorf("%q may not contain \"..\"", s)
	}
	return nil
}

// Channel checks a channel name, "name" or "name/subchannel".
func Channel(name string) error {
	parts := strings.Split(name, "/")
	if len(parts) > 2 {
		return fmt.Errorf("channel name %q: at most one level of subchannel (parent/child)", name)
	}
	for i, p := range parts {
		if err := Segment(p); err != nil {
			return fmt.Errorf("channel name: %w", err)
		}
		if reserved[p] || conda.ValidSubdir(p) || (i > 0 && (p == "label" || p == "simple" || p == "files")) {
			return fmt.Errorf("channel name %q: %q is reserved", name, p)
		}
	}
	return nil
}

// Lookup checks a name asked for (in a URL, a request, a sign-in): a name that a channel,
// user or organization could have in some spelling that Key folds together, so upper-case
// ASCII letters pass. Names Lookup refuses are not found without asking the store.
func Lookup(name string) error {
	b := []byte(name)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return Channel(string(b))
}

// Account checks a user or organization name: lowercase letters, digits and '-', starting
// with a letter or digit, at most 39 characters, and not a name Wharf's routes use. An
// account's name is also its channel's, so it must be a valid channel name too.
func Account(name string) error {
	if name == "" || len(name) > 39 {
		return fmt.Errorf("name %q must be 1 to 39 characters", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && r == '-'
		if !ok {
			return fmt.Errorf("name %q may hold only lowercase letters, digits and '-', and must start with a letter or digit", name)
		}
	}
	if reserved[name] || conda.ValidSubdir(name) {
		return fmt.Errorf("name %q is reserved", name)
	}
	return nil
}

// Email checks an address as typed by a user: one plain address, no display name, at most
// 254 bytes.
func Email(addr string) error {
	if len(addr) > 254 {
		return fmt.Errorf("the email address is longer than 254 characters")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr || !strings.Contains(addr[strings.LastIndexByte(addr, '@')+1:], ".") && !strings.HasSuffix(addr, "@localhost") {
		return fmt.Errorf("%q is not an email address like name@example.com", addr)
	}
	if !wharfmail.Deliverable(addr) {
		return fmt.Errorf("%q cannot receive Wharf's mail: use a plain ASCII address (name@host.example, no quotes, no IP address, no accented letters)", addr)
	}
	return nil
}

// Key is the canonical form of a name, under which users, organizations and top-level
// channels share one namespace and the subchannels of one parent another: two names with
// the same Key are the same name. ASCII letters are lower-cased, each run of '-', '_' and
// '.' becomes one '-', and separators at either end of a segment are dropped, so "Foo_Bar",
// "foo.bar", "foo--bar" and "foo-bar-" are all "foo-bar". A subchannel's name is keyed
// segment by segment ("Acme_/Dev." is "acme/dev"). Only ASCII is folded: a non-ASCII letter
// is kept as it is, so that no Unicode case rule maps a name onto another (the Kelvin sign
// is not "k"); such names are refused anyway.
//
// The store keeps the Key of every channel's last segment in a unique index; its migration
// computes the same function in SQL (keep the two in step: see the store's tests).
func Key(name string) string {
	b := make([]byte, 0, len(name))
	sep := false // a separator is pending: written only if a name character follows
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case c == '/':
			sep = false // separators at a segment's end are dropped
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep && len(b) > 0 && b[len(b)-1] != '/' {
			b = append(b, '-')
		}
		sep = false
		b = append(b, c)
	}
	return string(b)
}
