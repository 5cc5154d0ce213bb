package api

import (
	"testing"
	"time"
)

func TestTokenAllowance(t *testing.T) {
	acme, labs := TokenResource{Channel: "acme", Level: "read"}, TokenResource{Channel: "acme-labs", Level: "write"}
	for _, tc := range []struct {
		scopes    []string
		resources []TokenResource
		want      string
	}{
		{nil, nil, "all its owner may"},
		{[]string{"all"}, nil, "all its owner may"},
		{[]string{"repos", "api"}, nil, "repos api"},
		{nil, []TokenResource{acme, labs}, "all its owner may, on acme (read), acme-labs (write)"},
		{[]string{"conda:download"}, []TokenResource{acme}, "conda:download, on acme (read)"},
	} {
		if got := (TokenInfo{Scopes: tc.scopes, Resources: tc.resources}).Allowance(); got != tc.want {
			t.Errorf("Allowance(%v, %v) = %q, want %q", tc.scopes, tc.resources, got, tc.want)
		}
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for exp, want := range map[time.Time]bool{now.Add(-time.Second): true, now: true, now.Add(time.Second): false, {}: false} {
		if got := (TokenInfo{ExpiresAt: exp}).IsExpired(now); got != want {
			t.Errorf("IsExpired(expires %v) = %v", exp, got)
		}
	}
}
