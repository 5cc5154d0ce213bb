package server

import (
	"testing"
)

func TestAcceptedEncoding(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"identity"}, ""},
		{[]string{"gzip"}, "gzip"},
		{[]string{"GZIP"}, "gzip"},
		{[]string{"x-gzip"}, "gzip"},
		{[]string{"gzip, deflate"}, "gzip"}, // requests (conda, pip)
		{[]string{"gzip, deflate, br, zstd"}, "zstd"},
		{[]string{"gzip", "zstd"}, "zstd"}, // two header lines
		{[]string{"zstd;q=0, gzip"}, "gzip"},
		{[]string{"gzip;q=0"}, ""},
		{[]string{"gzip; q=0.0"}, ""},
		{[]string{"gzip;q=0.001"}, "gzip"},
		{[]string{"gzip;Q=0.5"}, "gzip"},
		{[]string{"gzip;q=nonsense"}, ""},
		{[]string{"gzip;q=2"}, ""},
		{[]string{"gzip, gzip;q=0"}, ""}, // the stricter mention wins
		{[]string{"*"}, "gzip"},
		{[]string{"*;q=0"}, ""},
		{[]string{"*, gzip;q=0"}, ""},
		{[]string{"br"}, ""},
		{[]string{" , ;, zstd ;q=1 "}, "zstd"},
	} {
		if got := acceptedEncoding(tc.header); got != tc.want {
			t.Errorf("acceptedEncoding(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

// Accept-Encoding comes from any client: whatever it holds, the answer is one of the three
// and nothing panics.
func FuzzAcceptedEncoding(f *testing.F) {
	for _, s := range []string{"gzip, deflate", "zstd;q=0.5, gzip;q=1", "*;q=0", ";;q=,", "gzip;q=1e400"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		switch got := acceptedEncoding([]string{a, b}); got {
		case "", "gzip", "zstd":
		default:
			t.Fatalf("acceptedEncoding(%q, %q) = %q", a, b, got)
		}
	})
}
