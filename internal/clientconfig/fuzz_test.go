package clientconfig

import (
	"slices"
	"testing"
)

// FuzzEditCondarc: whatever the file, the editor does not panic, and an edit it makes means
// what was asked (EditCondarc checks the rest itself, re-reading the result).
func FuzzEditCondarc(f *testing.F) {
	for _, s := range []string{"", "channels:\n  - a\n", "channel_alias: x # c\nchannels: [a, b]\n", "a: 1\nchannels:\n", "{x: 1}", "- a\n", "channels: |\n  x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := EditCondarc([]byte(in), "http://h/conda", []string{"acme", "defaults"})
		if err != nil {
			return
		}
		alias, channels, err := CondarcValues(out)
		if err != nil || alias != "http://h/conda" || !slices.Contains(channels, "acme") {
			t.Fatalf("EditCondarc(%q) = %q: alias %q, channels %v, %v", in, out, alias, channels, err)
		}
		if _, err := RemoveFromCondarc(out, "http://h/conda", []string{"acme"}); err != nil {
			t.Fatalf("RemoveFromCondarc(%q): %v", out, err)
		}
	})
}

// FuzzINIAndNetrc: the INI and .netrc editors do not panic.
func FuzzINIAndNetrc(f *testing.F) {
	for _, s := range []string{"", "[global]\nindex-url = x\n", "[distutils]\nindex-servers =\n  a\n\n[a]\nx: y\n", "machine h login a password b\n", "macdef m\nx\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// An edit is refused, or reads back as asked (the editors check it themselves).
		if out, _, err := EditPipConf([]byte(in), "http://h/pypi/a/simple/"); err == nil {
			if v, ok := PipIndex(out); !ok || v != "http://h/pypi/a/simple/" {
				t.Fatalf("EditPipConf(%q) = %q: reads %q", in, out, v)
			}
			RemoveFromPipConf(out, "http://h")
		}
		if p, err := EditPypirc([]byte(in), "wharf", "http://h/pypi/a/", tok); err == nil {
			RemoveFromPypirc(p, "wharf", "http://h")
		}
		if n, err := EditNetrc([]byte(in), "h", TokenUser, tok); err == nil {
			RemoveFromNetrc(n, "h", TokenUser)
		}
	})
}

// FuzzEditCondarcCustomChannels: whatever the file, the editor does not panic, and an edit it
// makes reads back as asked.
func FuzzEditCondarcCustomChannels(f *testing.F) {
	for _, s := range []string{"", "custom_channels:\n  a: b\n", "custom_channels: {a: b} # c\n", "custom_channels:\nx: 1\n", "custom_channels: [a]\n", "{x: 1}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		acme := CondaCustomChannel{"acme", "http://h/t/" + tok + "/conda"}
		out, err := EditCondarcCustomChannels([]byte(in), []CondaCustomChannel{acme}, nil)
		if err != nil {
			return
		}
		cc, err := CondarcCustomChannels(out)
		if err != nil || !slices.Contains(cc, acme) {
			t.Fatalf("EditCondarcCustomChannels(%q) = %q: %v, %v", in, out, cc, err)
		}
		back, err := EditCondarcCustomChannels(out, nil, []string{"acme"})
		if err != nil {
			t.Fatalf("removing acme from %q: %v", out, err)
		}
		if cc, _ := CondarcCustomChannels(back); slices.ContainsFunc(cc, func(c CondaCustomChannel) bool { return c.Name == "acme" }) {
			t.Fatalf("acme still in %q", back)
		}
	})
}
