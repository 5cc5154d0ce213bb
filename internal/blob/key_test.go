package blob_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/blob"
)

func TestKeyFansOutByTheFirstFourHexDigits(t *testing.T) {
	h := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got, want := blob.Key(h), "sha256/01/23/"+h; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

func TestKeyRejectsAnythingButLowerCaseHexSHA256(t *testing.T) {
	good := strings.Repeat("a", 64)
	for _, s := range []string{"", good[:63], good + "a", strings.ToUpper(good), "g" + good[1:], "../" + good[3:], "a/" + good[2:]} {
		if blob.ValidSHA256(s) {
			t.Errorf("ValidSHA256(%q) = true", s)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Key(%q) did not panic", s)
				}
			}()
			blob.Key(s)
		}()
	}
	if !blob.ValidSHA256(good) {
		t.Errorf("ValidSHA256(%q) = false", good)
	}
}
