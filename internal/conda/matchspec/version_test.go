package matchspec_test

import (
	"testing"

	"github.com/wharfhq/wharf/internal/conda/matchspec"
)

func TestCompareVersionsChain(t *testing.T) {
	// Strictly increasing under conda's VersionOrder.
	chain := []string{
		"0.4.1.rc", "0.4.1", "0.5a1", "0.5b3", "0.5C1", "0.5", "0.5.1", "0.9.6", "0.960923", "1.0",
		"1.1dev1", "1.1_", "1.1a1", "1.1.0dev1", "1.1.a1", "1.1.0rc1", "1.1.0", "1.1.0post1",
		"1.1post1", "1.2.0+abc", "1.2.0", "1.2.0+1", "1.2.0+2", "1.2.0+2.1", "1.9", "1.10", "1.99999999999999999999",
		"1.100000000000000000000", "1996.07.12", "1!0.4.1", "1!3.1.1.6", "2!0.4.1",
	}
	for i := range chain {
		for j := range chain {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := matchspec.CompareVersions(chain[i], chain[j]); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", chain[i], chain[j], got, want)
			}
		}
	}
}

func TestCompareVersionsEqual(t *testing.T) {
	for _, p := range [][2]string{
		{"1.1", "1.1.0"}, {"1.1.0", "1.1.0.0"}, {"0.4.1.rc", "0.4.1.RC"}, {"1.1.dev1", "1.1.0dev1"},
		{"1.1.post1", "1.1.0post1"}, {"1.0-1", "1.0_1"}, {"01.2", "1.2"}, {" 1.2 ", "1.2"}, {"0!1.0", "1.0"},
		{"1.0+abc", "1.0+ABC"}, {"1.1.a1", "1.1.0a1"}, {"1.0+1_2", "1.0+1.2"},
	} {
		if got := matchspec.CompareVersions(p[0], p[1]); got != 0 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 0", p[0], p[1], got)
		}
	}
}

func TestCompareVersionsInvalid(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "0", -1}, {"1..0", "0", -1}, {"0", "a!1", 1}, {"1+2+3", "1+2", -1}, {"$", "$", 0}, {"a b", "a c", -1},
		{"1.0_1-2", "0", -1}, // dashes are only accepted when there is no underscore
	} {
		if got := matchspec.CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
