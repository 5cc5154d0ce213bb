package blob

import "fmt"

// Key returns the storage key of the blob with the given sha256, as lower-case hex:
// sha256/ab/cd/abcd…. The two fan-out levels keep any one directory (or listing prefix) small.
// It panics on anything but 64 lower-case hex digits: keys are built from digests the server
// computed or stored itself, so a bad one is a bug, and a key built from it must not exist.
// Check untrusted input with ValidSHA256 first.
func Key(sha256hex string) string {
	if !ValidSHA256(sha256hex) {
		panic(fmt.Sprintf("blob.Key: %q is not a lower-case hex sha256", sha256hex))
	}
	return "sha256/" + sha256hex[0:2] + "/" + sha256hex[2:4] + "/" + sha256hex
}

// ValidSHA256 reports whether s is a sha256 digest as 64 lower-case hex digits, the only form
// Key accepts (one spelling per digest, so one key per content).
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
