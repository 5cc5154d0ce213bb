package clientconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCondaCustomChannelURL(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"http://h:8080", "http://h:8080/t/" + tok + "/conda"},
		{"https://h/wharf/", "https://h/wharf/t/" + tok + "/conda"},
	} {
		got := CondaCustomChannelURL(tc.server, tok)
		if got != tc.want {
			t.Errorf("CondaCustomChannelURL(%q) = %q, want %q", tc.server, got, tc.want)
		}
		if CondaURLToken(got) != tok || CondaLocation(got) != CondaChannelAlias(tc.server) {
			t.Errorf("%q: token %q, location %q", got, CondaURLToken(got), CondaLocation(got))
		}
	}
}

func TestEditCondarcCustomChannels(t *testing.T) {
	acme := CondaCustomChannel{"acme", "http://h/t/" + tok + "/conda"}
	for _, tc := range []struct {
		name, in, want string
		set            []CondaCustomChannel
		remove         []string
	}{
		{"no file", "", "custom_channels:\n  acme: http://h/t/" + tok + "/conda\n", []CondaCustomChannel{acme}, nil},
		{"added after the others, the rest kept", "# mine\ncustom_channels:\n    corp: https://corp.example/conda   # ours\nssl_verify: true\n",
			"# mine\ncustom_channels:\n    corp: https://corp.example/conda   # ours\n    acme: http://h/t/" + tok + "/conda\nssl_verify: true\n", []CondaCustomChannel{acme}, nil},
		{"replaced in place", "custom_channels:\n  acme: http://h/t/old/conda # c\n  b: x\n", "custom_channels:\n  acme: http://h/t/" + tok + "/conda # c\n  b: x\n", []CondaCustomChannel{acme}, nil},
		{"an empty value filled", "custom_channels:   # later\nx: 1\n", "custom_channels:   # later\n  acme: http://h/t/" + tok + "/conda\nx: 1\n", []CondaCustomChannel{acme}, nil},
		{"flow style", "custom_channels: {b: x} # c\n", "custom_channels: {b: x, acme: 'http://h/t/" + tok + "/conda'} # c\n", []CondaCustomChannel{acme}, nil},
		{"removed, the others kept", "custom_channels:\n  b: x\n  acme: y\n  c: z\n", "custom_channels:\n  b: x\n  c: z\n", nil, []string{"acme"}},
		{"the last one removed takes the key", "a: 1\ncustom_channels:\n  acme: y\nz: 2\n", "a: 1\nz: 2\n", nil, []string{"acme"}},
		{"absent: nothing", "a: 1\n", "a: 1\n", nil, []string{"acme"}},
		{"flow removed", "custom_channels: {acme: y, b: x}\n", "custom_channels: {b: x}\n", nil, []string{"acme"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditCondarcCustomChannels([]byte(tc.in), tc.set, tc.remove)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "flow style" { // yaml may quote the value; what it means is checked below
				cc, _ := CondarcCustomChannels(got)
				if len(cc) != 2 || cc[1] != acme || !strings.HasSuffix(string(got), " # c\n") {
					t.Errorf("got %q: %v", got, cc)
				}
				return
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("EditCondarcCustomChannels (-want +got):\n%s", diff)
			}
		})
	}
	for _, in := range []string{"custom_channels: [a]\n", "custom_channels:\n  acme: |\n    x\n", "custom_channels: {a: b,\n  c: d}\n", "{custom_channels: {}}\n"} {
		if out, err := EditCondarcCustomChannels([]byte(in), []CondaCustomChannel{acme}, nil); err == nil {
			t.Errorf("EditCondarcCustomChannels(%q) = %q; want an error", in, out)
		}
	}
}

// conda registers each token file under its URL and under this one (anaconda_client.py).
func TestReplaceFirstAPIWithConda(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.anaconda.org":           "https://conda.anaconda.org",
		"http://h/api/x":                     "http://h/conda/x",
		"http://h/api":                       "http://h/conda",
		"http://h/conda/":                    "http://h/conda/",
		"http://h/apis/api/":                 "http://h/apis/conda/",
		"https://api.example.com/api/conda/": "https://conda.example.com/api/conda/",
	} {
		if got := ReplaceFirstAPIWithConda(in); got != want {
			t.Errorf("ReplaceFirstAPIWithConda(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnquotePlusUndoesQuotePlus(t *testing.T) {
	for _, s := range []string{"http://127.0.0.1:8080/conda/", "https://h/a b/c+d", "https://ü.example/é", "%zz%4"} {
		if got := UnquotePlus(QuotePlus(s)); got != s {
			t.Errorf("UnquotePlus(QuotePlus(%q)) = %q", s, got)
		}
	}
	if got := UnquotePlus("a+b%2Fc%zz%4"); got != "a b/c%zz%4" {
		t.Errorf("UnquotePlus = %q", got)
	}
}

// Two token files overlap when one's URL (or its api→conda form) is a prefix of the other's:
// then both match some request, and conda takes whichever the directory lists first.
func TestCondaTokenFileOverlaps(t *testing.T) {
	ours := "http://h/conda/"
	var files []CondaTokenFileEntry
	for _, u := range []string{ours, "http://h/conda/acme/", "http://h", "http://h/api", "http://h/conda-other/", "https://h/conda/", "http://other/conda/"} {
		files = append(files, CondaTokenFileEntry{Name: CondaTokenFile(u), URL: u})
	}
	var got []string
	for _, f := range CondaTokenFileOverlaps(files, ours) {
		got = append(got, f.URL)
	}
	if diff := cmp.Diff([]string{"http://h/conda/acme/", "http://h", "http://h/api"}, got); diff != "" {
		t.Errorf("overlaps (-want +got):\n%s", diff)
	}
}

func TestDiffHidesTokensInURLs(t *testing.T) {
	d := Diff(Change{Old: []byte("a: 1\n"), New: []byte("a: 1\ncustom_channels:\n  acme: http://h/t/" + tok + "/conda\n"), Existed: true})
	if strings.Contains(d, tok) || !strings.Contains(d, "/t/<token>/conda") {
		t.Errorf("Diff shows the token:\n%s", d)
	}
}
