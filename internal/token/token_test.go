package token

import (
	"regexp"
	"strings"
	"testing"
)

// conda finds tokens in URLs with this pattern (conda/gateways/connection/session.py et al.);
// every token must match it whole.
var condaToken = regexp.MustCompile(`/t/([a-zA-Z0-9-]*)`)

func TestNewAndParse(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range []struct {
		kind   byte
		length int
		total  int
	}{{KindScope, StrongLen, 54}, {KindResource, StrongLen, 54}, {KindScope, WeakLen, 33}, {KindResource, WeakLen, 33}} {
		for range 200 {
			tok, err := New(c.kind, c.length)
			if err != nil {
				t.Fatal(err)
			}
			if len(tok) != c.total || !strings.HasPrefix(tok, "wrf"+string(c.kind)+"-") {
				t.Fatalf("token %q: length %d, want %d", tok, len(tok), c.total)
			}
			if m := condaToken.FindStringSubmatch("/t/" + tok + "/conda/acme"); m == nil || m[1] != tok {
				t.Fatalf("conda's pattern cuts %q to %v", tok, m)
			}
			kind, err := Parse(tok)
			if err != nil || kind != c.kind {
				t.Fatalf("Parse(%q) = %c, %v", tok, kind, err)
			}
			if seen[tok] {
				t.Fatalf("token %q made twice", tok)
			}
			seen[tok] = true
			if !Looks(tok) {
				t.Fatalf("Looks(%q) = false", tok)
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := New(KindScope, StrongLen)
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":               "",
		"one character wrong": flip(20),
		"checksum wrong":      flip(len(good) - 1),
		"kind wrong":          "wrfx" + good[4:],
		"prefix wrong":        "abcs" + good[4:],
		"too short":           good[:len(good)-1],
		"too long":            good + "0",
		"underscore":          good[:10] + "_" + good[11:],
		"kind changed":        "wrfr" + good[4:], // the checksum covers the kind
		"dash inside":         good[:10] + "-" + good[11:],
	}
	for name, tok := range cases {
		if _, err := Parse(tok); err == nil {
			t.Errorf("%s: Parse(%q) accepted", name, tok)
		}
	}
	if Looks("hunter22") || Looks("wrf") || Looks("wrfs") {
		t.Error("Looks accepted a non-token")
	}
}

func TestHash(t *testing.T) {
	if h := Hash("x"); len(h) != 64 || h != Hash("x") || h == Hash("y") {
		t.Errorf("Hash = %q", h)
	}
}

func FuzzParse(f *testing.F) {
	good, _ := New(KindResource, WeakLen)
	f.Add(good)
	f.Add("wrfs-")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		kind, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever parses is a token conda keeps whole and whose kind is one of ours.
		if kind != KindScope && kind != KindResource {
			t.Fatalf("kind %q", kind)
		}
		if m := condaToken.FindStringSubmatch("/t/" + s + "/"); m == nil || m[1] != s {
			t.Fatalf("conda's pattern cuts %q", s)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	tok, _ := New(KindScope, StrongLen)
	for b.Loop() {
		if _, err := Parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}
