package pypi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/pypi"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.0":               "1.0",
		"1.0.0":             "1.0.0",
		"v1.0":              "1.0",
		"V1.0":              "1.0",
		" 1.0\n":            "1.0",
		"01.002":            "1.2",
		"1.0-beta":          "1.0b0",
		"1.0.BETA.2":        "1.0b2",
		"1.0a":              "1.0a0",
		"1.0c1":             "1.0rc1",
		"1.0pre1":           "1.0rc1",
		"1.0_a_1":           "1.0a1",
		"1.0-1":             "1.0.post1",
		"1.0.post":          "1.0.post0",
		"1.0rev3":           "1.0.post3",
		"1.0.dev":           "1.0.dev0",
		"1.0-dev-2":         "1.0.dev2",
		"1!2.0":             "1!2.0",
		"0!1.0":             "1.0",
		"1.0rc1.post2.dev3": "1.0rc1.post2.dev3",
		"1.0+Ubuntu-1":      "1.0+ubuntu.1",
		"1.0+abc_def.7":     "1.0+abc.def.7",
		// A local segment of digits is a number (PEP 440's integer normalization); one of
		// letters and digits stays as it is.
		"1.0+local.00": "1.0+local.0", "1.0+007": "1.0+7", "1.0+0.a00": "1.0+0.a00", "1.0+foo0100": "1.0+foo0100",
		"2024.10.1": "2024.10.1",
	} {
		got, err := pypi.ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2010i", "1.0.", ".1", "1..0", "1.0+", "1.0+a..b", "1.0+a+b", "a1.0", "1.0 1", "1.0-", "٣",
		"99999999999999999999", "1.0 beta", strings.Repeat("1.", 100) + "1", "1.*", "latest"} {
		if got, err := pypi.ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %q; want an error", in, got)
		}
	}
}

// TestCompareVersions checks the PEP 440 order with the examples of the specification.
func TestCompareVersions(t *testing.T) {
	ordered := []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
		"1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5",
		"1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1!0.1",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := pypi.CompareVersions(a, b); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	for _, eq := range [][2]string{{"1.0", "1.0.0"}, {"1.0", "v1.0"}, {"1.0a", "1.0a0"}, {"1.0+a-1", "1.0+A.1"}, {"1.0.post0", "1.0-0"}} {
		if got := pypi.CompareVersions(eq[0], eq[1]); got != 0 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 0", eq[0], eq[1], got)
		}
	}
	// Invalid strings sort first, among themselves byte-wise.
	vs := []string{"2.0", "zzz", "1.0", "2010i", "1.0rc1"}
	slices.SortFunc(vs, pypi.CompareVersions)
	if want := []string{"2010i", "zzz", "1.0rc1", "1.0", "2.0"}; !slices.Equal(vs, want) {
		t.Errorf("sorted %q, want %q", vs, want)
	}
}
