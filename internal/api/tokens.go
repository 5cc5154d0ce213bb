package api

import (
	"strings"
	"time"
)

// Allowance says in words what a token may do, the same in wharf auth --list and on the
// web's /tokens page: its scopes ("all its owner may" with none, or with all), then the
// channels it is limited to with the most it may do there: "conda:download, on acme (read)".
func (t TokenInfo) Allowance() string {
	what := strings.Join(t.Scopes, " ")
	if what == "" || what == "all" {
		what = "all its owner may"
	}
	if len(t.Resources) == 0 {
		return what
	}
	where := make([]string, len(t.Resources))
	for i, r := range t.Resources {
		where[i] = r.Channel + " (" + r.Level + ")"
	}
	return what + ", on " + strings.Join(where, ", ")
}

// IsExpired reports whether the token no longer works at now because it expired.
func (t TokenInfo) IsExpired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}
