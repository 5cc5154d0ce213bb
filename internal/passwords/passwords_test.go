package passwords

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		username string
		password string
		want     Rule // "" means accepted
	}{
		{"a random passphrase is accepted", "alice", "correct horse battery staple vortex", ""},
		{"a random string is accepted", "alice", "q7Vn-2kLp_xW", ""},
		{"no composition rules: all lower-case letters", "alice", "plinthmarmaladequiver", ""},
		{"exactly 8 characters is accepted", "alice", "zq8vw3kt", ""},
		{"7 characters is too short", "alice", "zq8vw3k", RuleTooShort},
		{"empty is too short", "alice", "", RuleTooShort},
		{"64 characters are accepted", "alice", strings.Repeat("wharf-42", 8), ""},
		{"MaxLength characters are accepted", "alice", strings.Repeat("x7k", MaxLength/3) + strings.Repeat("q", MaxLength%3), ""},
		{"MaxLength+1 characters is too long", "alice", strings.Repeat("x", MaxLength+1), RuleTooLong},
		{"multi-byte passwords are accepted", "alice", "pässwörtér-ñ-Ünïcødé", ""},
		{"8 multi-byte characters are enough", "alice", "日本語のパスワ語", ""},
		{"length is counted in characters, not bytes", "alice", "日本語パスワー", RuleTooShort}, // 7 characters, 21 bytes
		{"MaxLength 4-byte characters are accepted", "alice", strings.Repeat("🐳", MaxLength), ""},
		{"password1 is common", "alice", "password1", RuleCommon},
		{"12345678 is common", "alice", "12345678", RuleCommon},
		{"iloveyou is common", "alice", "iloveyou", RuleCommon},
		{"common is compared case-insensitively", "alice", "PassWord1", RuleCommon},
		{"the username is refused", "wharfmaster", "my-wharfmaster-pw", RuleContainsUsername},
		{"the username is found case-insensitively", "Alice", "xxALICExx-2931", RuleContainsUsername},
		{"a 2-character username is not looked for", "al", "pal-of-mine-7731", ""},
		{"a 3-character username is looked for", "bob", "kabobs-are-tasty", RuleContainsUsername},
		{"an empty username is not looked for", "", "kabobs-are-tasty", ""},
		{"a multi-byte username is found", "Ülle", "xx-üllE-9182", RuleContainsUsername},
		// wharf admin create-user checks here too: a token-shaped password could never sign in.
		{"a token-shaped password is refused", "alice", "wrfs-notreallyatokenbutlookslikeone", RuleLooksLikeToken},
		{"a resource-token shape too", "alice", "wrfr-anotherlookalike", RuleLooksLikeToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.username, tt.password)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check(%q, %q) = %v; want nil", tt.username, tt.password, err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Rule != tt.want {
				t.Fatalf("Check(%q, %q) = %v; want rule %q", tt.username, tt.password, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "password ") {
				t.Errorf("message %q does not say what is wrong with the password", err)
			}
		})
	}
}

func TestErrorMessagesTellWhatToChange(t *testing.T) {
	for rule, want := range map[Rule]string{
		RuleTooShort:         "at least 8 characters",
		RuleTooLong:          "at most 256 characters",
		RuleCommon:           "commonly used",
		RuleContainsUsername: "user name",
	} {
		if msg := (&Error{Rule: rule}).Error(); !strings.Contains(msg, want) {
			t.Errorf("%s: message %q lacks %q", rule, msg, want)
		}
	}
}

func TestCommon(t *testing.T) {
	for _, p := range []string{"password", "password1", "12345678", "iloveyou", "qwertyuiop", "ILoveYou", "00000000"} {
		if !Common(p) {
			t.Errorf("Common(%q) = false; want true", p)
		}
	}
	for _, p := range []string{"", "correct horse battery staple vortex", "zq8vw3kt", "password1\n", "password1 "} {
		if Common(p) {
			t.Errorf("Common(%q) = true; want false", p)
		}
	}
}

func TestCommonList(t *testing.T) {
	const floor = 15_000
	if !strings.HasSuffix(commonTxt, "\n") {
		t.Error("common.txt does not end in a newline")
	}
	list := commonList()
	if len(list) < floor {
		t.Errorf("common.txt has %d entries; want at least %d", len(list), floor)
	}
	for i, p := range list {
		switch {
		case p != strings.ToLower(p):
			t.Errorf("line %d: %q is not lower-case", i+1, p)
		case utf8.RuneCountInString(p) < MinLength:
			t.Errorf("line %d: %q is shorter than MinLength; Check refuses it anyway", i+1, p)
		case !utf8.ValidString(p) || strings.TrimSpace(p) != p:
			t.Errorf("line %d: %q is not valid UTF-8 or has surrounding space", i+1, p)
		case i > 0 && list[i-1] >= p:
			t.Errorf("line %d: %q after %q: not sorted or not unique", i+1, p, list[i-1])
		}
	}
}

func BenchmarkCommon(b *testing.B) {
	commonList()
	for b.Loop() {
		Common("correct horse battery staple")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"ｐａｓｓ１２３":  "pass123",  // full-width
		"\ufb01le": "file",     // ligature
		"e\u0301":  "\u00e9",   // combining accent composed
		"Ⅻ":        "XII",      // Roman numeral
		"plain":    "plain",    // ASCII stays
		"\xff\xfe": "\xff\xfe", // invalid UTF-8 passes through
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	// The policy judges the form that is hashed: full-width "password1" is common.
	var pe *Error
	if err := Check("alice", "ｐａｓｓｗｏｒｄ１"); !errors.As(err, &pe) || pe.Rule != RuleCommon {
		t.Errorf("full-width password1: %v, want common", err)
	}
	if err := Check("alice", "ｘｘＡＬＩＣＥｘｘ-2931"); !errors.As(err, &pe) || pe.Rule != RuleContainsUsername {
		t.Errorf("full-width user name in the password: %v", err)
	}
}
