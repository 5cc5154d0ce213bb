package access

import "testing"

func TestNearestScope(t *testing.T) {
	for in, want := range map[string]string{
		"conda:donwload":     "conda:download", // two letters swapped
		"conda-download":     "conda:download",
		"Conda:Download":     "conda:download",
		"artifact:dowload":   "artifact:download",
		"repo":               "repos",
		"pypi:uplaod":        "pypi:upload",
		"user.tokens:view":   "user.token:view",
		"conda:download":     "", // a scope: nothing to suggest
		"deploy":             "", // nothing close
		"xyz":                "",
		"channel:everything": "",
	} {
		if got := NearestScope(in); got != want {
			t.Errorf("NearestScope(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"", "ab", 2}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"abc", "abc", 0}, {"ca", "abc", 3}} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
	}
}
