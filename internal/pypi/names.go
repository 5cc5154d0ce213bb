package pypi

import "strings"

// MaxNameLen caps project names (Warehouse's limit is lower; 200 bytes leaves room for old names).
const MaxNameLen = 200

// NormalizeName is PEP 503 normalization: ASCII letters lowercased and every run of '-', '_'
// and '.' replaced by one '-'. "Foo__Bar.baz" and "foo-bar-baz" are the same project. Other
// bytes pass through unchanged; only names that pass ValidName are meaningful.
func NormalizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		sep = false
		b.WriteByte(c)
	}
	return b.String()
}

// ValidName reports whether name is a valid project name (PyPA name-normalization.rst):
// ^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$ ignoring case, at most MaxNameLen bytes.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return false
	}
	for i := 1; i < len(name)-1; i++ {
		if c := name[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
