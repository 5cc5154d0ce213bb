package pypi_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/pypi"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"friendly-bard":     "friendly-bard",
		"Friendly-Bard":     "friendly-bard",
		"FRIENDLY-BARD":     "friendly-bard",
		"friendly.bard":     "friendly-bard",
		"friendly_bard":     "friendly-bard",
		"friendly--bard":    "friendly-bard",
		"FrIeNdLy-._.-bArD": "friendly-bard",
		"a":                 "a",
		"Upper":             "upper",
		"has.script":        "has-script",
		"-_.":               "-",
	} {
		if got := pypi.NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidName(t *testing.T) {
	valid := []string{"a", "Z", "0", "ab", "a-b", "a_b", "a.b", "A.b_C-9", "a--b", "a._-b", strings.Repeat("a", 200)}
	invalid := []string{"", "-a", "a-", ".a", "a.", "_a", "a_", "a b", "a/b", "a+b", "ä", "ſ", "\u212a", "a\x00", strings.Repeat("a", 201), "-"}
	for _, n := range valid {
		if !pypi.ValidName(n) {
			t.Errorf("ValidName(%q) = false", n)
		}
	}
	for _, n := range invalid {
		if pypi.ValidName(n) {
			t.Errorf("ValidName(%q) = true", n)
		}
	}
}
