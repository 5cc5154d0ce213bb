// Package passwords is the policy for new passwords of NIST SP 800-63B (section 5.1.1.2):
// a minimum and a maximum length counted in characters, no composition rules, and a
// refusal of passwords that are common or contain the user's name. It applies when a
// password is chosen, never when one is checked at sign-in. Normalize is the form every
// password is hashed and checked in.
package passwords

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/wharfhq/wharf/internal/token"
)

// Normalize is the form of a password that is hashed and checked: Unicode NFKC (NIST SP
// 800-63B 5.1.1.2), so that one password typed on different keyboards or input methods is
// one password: full-width "１２３" is "123", the ligature "ﬁ" is "fi", a precomposed "é"
// and "e" with a combining accent are the same. Invalid UTF-8 passes through unchanged.
func Normalize(password string) string {
	return norm.NFKC.String(password)
}

const (
	// MinLength is the fewest characters a password may have.
	MinLength = 8
	// MaxLength is the most characters a password may have: far above the 64 that NIST
	// asks to accept, and at most 1024 bytes in UTF-8, well within what the hash takes.
	// Nothing is truncated.
	MaxLength = 256
)

// Rule names the part of the policy that a password breaks.
type Rule string

const (
	RuleTooShort         Rule = "too_short"
	RuleTooLong          Rule = "too_long"
	RuleCommon           Rule = "common"
	RuleContainsUsername Rule = "contains_username"
	// RuleLooksLikeToken: Wharf takes a password shaped like a token for a token, so the
	// account could not sign in with it.
	RuleLooksLikeToken Rule = "looks_like_token"
)

// Error is a refused password. Its message tells the user what to change.
type Error struct {
	Rule Rule
}

func (e *Error) Error() string {
	switch e.Rule {
	case RuleTooShort:
		return fmt.Sprintf("password is too short: use at least %d characters", MinLength)
	case RuleTooLong:
		return fmt.Sprintf("password is too long: use at most %d characters", MaxLength)
	case RuleCommon:
		return "password is on a list of commonly used passwords: choose one that is not"
	case RuleContainsUsername:
		return "password contains the user name: choose one that does not"
	case RuleLooksLikeToken:
		return "password starts like a token (wrfs- or wrfr-), which Wharf would take it for: choose another"
	}
	return "password refused: " + string(e.Rule)
}

// Check returns nil if password may be chosen by the user named username, or an *Error
// whose message tells the user what to change. The rules apply to the password as it is
// hashed (Normalize). Length is counted in characters (an invalid UTF-8 byte counts as one).
// The user name is looked for case-insensitively, and only when it has at least 3
// characters.
func Check(username, password string) error {
	password = Normalize(password)
	n := utf8.RuneCountInString(password)
	switch {
	case token.Looks(password):
		return &Error{Rule: RuleLooksLikeToken}
	case n < MinLength:
		return &Error{Rule: RuleTooShort}
	case n > MaxLength:
		return &Error{Rule: RuleTooLong}
	case Common(password):
		return &Error{Rule: RuleCommon}
	case utf8.RuneCountInString(username) >= 3 &&
		strings.Contains(strings.ToLower(password), strings.ToLower(username)):
		return &Error{Rule: RuleContainsUsername}
	}
	return nil
}

// commonTxt is the list of common passwords shipped with Wharf: lower-cased, unique,
// sorted byte-wise, one a line. It keeps only passwords of at least MinLength characters,
// since shorter ones are refused anyway. SOURCE beside it says where it comes from.
//
//go:embed common.txt
var commonTxt string

// commonList is commonTxt split into lines, built on first use.
var commonList = sync.OnceValue(func() []string {
	return strings.Split(strings.TrimSuffix(commonTxt, "\n"), "\n")
})

// Common reports whether password, compared case-insensitively, is on the shipped list of
// common passwords. The list holds only passwords of at least MinLength characters, so a
// shorter one is never reported common (Check refuses it as too short).
func Common(password string) bool {
	_, found := slices.BinarySearch(commonList(), strings.ToLower(password))
	return found
}
