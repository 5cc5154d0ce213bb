package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestTokenArgTakesATokenOrTheMailedLink(t *testing.T) {
	for in, want := range map[string]string{
		"NhBRjlbq-_x": "NhBRjlbq-_x",
		"https://wharf.example.com/account/verify?token=NhBRjlbq-_x": "NhBRjlbq-_x",
		"http://127.0.0.1:8080/account/reset?token=abc&x=1":          "abc",
	} {
		if got := tokenArg(in); got != want {
			t.Errorf("tokenArg(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseGrantTarget(t *testing.T) {
	cases := []struct{ in, channel, pkg string }{
		{"acme", "acme", ""},
		{"acme:demo", "acme", "demo"},
		{"acme/dev:demo", "acme/dev", "demo"},
		{"acme:", "", ""},
		{":demo", "", ""},
	}
	for _, c := range cases {
		ch, pkg, err := parseGrantTarget(c.in)
		if bad := c.channel == ""; bad != (err != nil) || ch != c.channel || pkg != c.pkg {
			t.Errorf("parseGrantTarget(%q) = %q, %q, %v", c.in, ch, pkg, err)
		}
	}
}

func TestReadPasswordIsOneLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"tidal marble orchard\n", "tidal marble orchard"},
		{"tidal marble orchard\r\nrest\n", "tidal marble orchard"},
		{"no newline at the end", "no newline at the end"},
		{"", ""},
		{"\n", ""},
		{strings.Repeat("x", 5000) + "\n", ""},
	}
	for _, c := range cases {
		cmd := &cobra.Command{}
		cmd.SetIn(strings.NewReader(c.in))
		got, err := readPassword(cmd)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("readPassword(%.20q) = %.20q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
