package matchspec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// VersionSpec is a parsed conda version spec, as conda's VersionSpec reads it: leaves joined
// by ',' (and) and '|' (or, binding looser), with parentheses. A leaf is "*", an exact version
// ("1.2", "==1.2": equal under the version order, so "1.2.0" too), a prefix ("1.2.*", "1.2*",
// "=1.2"), a comparison (">=1.2", "<2", "!=1.3", "!=1.3.*"), a compatible release ("~=1.2"), a
// glob inside the version ("1.*.3", matched against the version string as written), or a
// regular expression ("^1\.[0-9]+$").
type VersionSpec struct {
	root vnode
	cost int
}

// MaxSpecLen bounds the specs parsed. Real dependency specs are far shorter.
const MaxSpecLen = 4096

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid spec")

func invalid(spec, why string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, spec, why)
}

// ParseVersionSpec parses a version spec.
func ParseVersionSpec(spec string) (*VersionSpec, error) {
	if len(spec) > MaxSpecLen {
		return nil, invalid(spec[:64]+"...", "too long")
	}
	n, err := parseVersionExpr(spec)
	if err != nil {
		return nil, err
	}
	return &VersionSpec{root: n, cost: nodeCost(n)}, nil
}

// Cost is what one Match may cost, in version comparisons: one per leaf, more for a regular
// expression or glob (regexpCost).
func (s *VersionSpec) Cost() int { return s.cost }

func nodeCost(n vnode) int {
	var kids []vnode
	switch n := n.(type) {
	case allNode:
		kids = n
	case oneNode:
		kids = n
	case regexNode:
		return regexpCost(n.re)
	default:
		return 1
	}
	c := 0
	for _, k := range kids {
		c += nodeCost(k)
	}
	return c
}

// regexpCost is the cost of one match of re in version comparisons. Go's regexp runs in time
// linear in the pattern's size times the subject's: against a 64-byte version, up to about
// 0.6 µs per byte of pattern, where a comparison takes some 50 ns.
func regexpCost(re *regexp.Regexp) int {
	if re == nil {
		return 0
	}
	return 1 + 16*len(re.String())
}

// Match reports whether the version v (as written in a record) satisfies the spec. A version
// the order cannot parse satisfies only regular expressions, globs and "*".
func (s *VersionSpec) Match(v string) bool {
	pv, err := ParseVersion(v)
	return s.root.match(v, pv, err == nil)
}

// MatchParsed is Match with the version already parsed (ok false if it did not parse).
func (s *VersionSpec) MatchParsed(raw string, v Version, ok bool) bool {
	return s.root.match(raw, v, ok)
}

type vnode interface {
	match(raw string, v Version, ok bool) bool
}

type anyNode struct{}

func (anyNode) match(string, Version, bool) bool { return true }

type allNode []vnode

func (a allNode) match(raw string, v Version, ok bool) bool {
	for _, n := range a {
		if !n.match(raw, v, ok) {
			return false
		}
	}
	return true
}

type oneNode []vnode

func (o oneNode) match(raw string, v Version, ok bool) bool {
	for _, n := range o {
		if n.match(raw, v, ok) {
			return true
		}
	}
	return false
}

type regexNode struct{ re *regexp.Regexp }

func (r regexNode) match(raw string, _ Version, _ bool) bool { return r.re.MatchString(raw) }

// exactNode compares the version string as written (conda's spec for versions with an '@').
type exactNode string

func (e exactNode) match(raw string, _ Version, _ bool) bool { return string(e) == raw }

type op uint8

const (
	opEq op = iota
	opNe
	opLe
	opGe
	opLt
	opGt
	opStartsWith
	opNotStartsWith
	opCompatible
)

type opNode struct {
	op     op
	vo     Version
	prefix Version // for ~=: vo without its last component
}

func (o opNode) match(_ string, v Version, ok bool) bool {
	if !ok {
		return false // conda would fail on the record; nothing matches it
	}
	c := v.Compare(o.vo)
	switch o.op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLe:
		return c <= 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opGt:
		return c > 0
	case opStartsWith:
		return v.StartsWith(o.vo)
	case opNotStartsWith:
		return !v.StartsWith(o.vo)
	case opCompatible:
		return c >= 0 && v.StartsWith(o.prefix)
	}
	return false
}

// parseVersionExpr is conda's treeify and get_matcher: a spec with any of ()|,^$ is an
// expression; otherwise, or for each leaf, one matcher.
func parseVersionExpr(spec string) (vnode, error) {
	if !strings.ContainsAny(spec, "()|,^$") {
		return parseLeaf(spec)
	}
	tokens := tokenize("(" + spec + ")")
	type item struct {
		leaf string
		op   byte // '|' or ',' for a joined expression
		kids []item
	}
	var output []item
	var stack []byte
	apply := func(stop string) error {
		for len(stack) > 0 && !strings.ContainsRune(stop, rune(stack[len(stack)-1])) {
			if len(output) < 2 {
				return invalid(spec, "cannot join single expression")
			}
			c := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			r, left := output[len(output)-1], output[len(output)-2]
			output = output[:len(output)-2]
			// Expressions of the same operator fuse: (a|b)|c is a|b|c. The left one's kids
			// grow in place (nothing else holds them), so that a long a|b|c|… is joined in
			// linear time, not by copying every leaf joined so far at each step.
			kids := []item{left}
			if left.op == c {
				kids = left.kids
			}
			if r.op == c {
				kids = append(kids, r.kids...)
			} else {
				kids = append(kids, r)
			}
			output = append(output, item{op: c, kids: kids})
		}
		return nil
	}
	for _, tok := range tokens {
		switch t := strings.TrimFunc(tok, unicode.IsSpace); t {
		case "|":
			if err := apply("("); err != nil {
				return nil, err
			}
			stack = append(stack, '|')
		case ",":
			if err := apply("|("); err != nil {
				return nil, err
			}
			stack = append(stack, ',')
		case "(":
			stack = append(stack, '(')
		case ")":
			if err := apply("("); err != nil {
				return nil, err
			}
			if len(stack) == 0 || stack[len(stack)-1] != '(' {
				return nil, invalid(spec, "expression must start with '('")
			}
			stack = stack[:len(stack)-1]
		default:
			output = append(output, item{leaf: t})
		}
	}
	if len(stack) > 0 {
		return nil, invalid(spec, "unbalanced parentheses")
	}
	if len(output) == 0 {
		return nil, invalid(spec, "no version")
	}
	var build func(it item) (vnode, error)
	build = func(it item) (vnode, error) {
		if it.op == 0 {
			return parseLeaf(it.leaf)
		}
		nodes := make([]vnode, 0, len(it.kids))
		for _, k := range it.kids {
			n, err := build(k)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
		}
		if it.op == '|' {
			return oneNode(nodes), nil
		}
		return allNode(nodes), nil
	}
	return build(output[0])
}

// tokenize splits as conda's VSPEC_TOKENS does: a regular expression "^...$" (with the
// spaces before it), one of ()|, (with the spaces before it), or a run of anything else.
func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '^' {
			if k := strings.IndexByte(s[j:], '$'); k >= 0 {
				out = append(out, s[i:j+k+1])
				i = j + k + 1
				continue
			}
		}
		if j < len(s) && strings.IndexByte("()|,", s[j]) >= 0 {
			out = append(out, s[i:j+1])
			i = j + 1
			continue
		}
		k := i
		for k < len(s) && strings.IndexByte("()|,", s[k]) < 0 {
			k++
		}
		out = append(out, s[i:k])
		i = k
	}
	return out
}

// compileMatch compiles a pattern to be matched as Python's re.match does: anchored at the
// start only.
func compileMatch(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`\A(?:` + pattern + `)`)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// operators are conda's OPERATOR_MAP.
var operators = map[string]op{"==": opEq, "!=": opNe, "<=": opLe, ">=": opGe, "<": opLt, ">": opGt,
	"=": opStartsWith, "!=startswith": opNotStartsWith, "~=": opCompatible}

// relation is conda's version_relation_re, ^(=|==|!=|<=|>=|<|>|~=)(?![=<>!~])(\S+)$, by hand
// (RE2 has no lookahead).
func relation(s string) (opStr, rest string, ok bool) {
	for _, o := range []string{"=", "==", "!=", "<=", ">=", "<", ">", "~="} {
		if !strings.HasPrefix(s, o) {
			continue
		}
		r := s[len(o):]
		if r == "" || strings.IndexByte("=<>!~", r[0]) >= 0 || strings.IndexFunc(r, unicode.IsSpace) >= 0 {
			continue
		}
		return o, r, true
	}
	return "", "", false
}

func parseLeaf(leaf string) (vnode, error) {
	s := strings.TrimFunc(leaf, unicode.IsSpace)
	if s == "" {
		return nil, invalid(leaf, "empty version")
	}
	switch {
	case s[0] == '^' || s[len(s)-1] == '$':
		if s[0] != '^' || s[len(s)-1] != '$' {
			return nil, invalid(s, "regex specs must start with '^' and end with '$'")
		}
		re, err := compileMatch(s)
		if err != nil {
			return nil, invalid(s, "not a regular expression Go can read")
		}
		return regexNode{re}, nil
	case strings.IndexByte("=<>!~", s[0]) >= 0:
		o, vs, ok := relation(s)
		if !ok {
			return nil, invalid(s, "invalid operator")
		}
		if strings.HasSuffix(vs, ".*") {
			switch o {
			case "!=":
				o = "!=startswith"
			case "~=":
				return nil, invalid(s, "invalid operator with '.*'")
			}
			vs = vs[:len(vs)-2] // superfluous after the other operators
		}
		vo, err := ParseVersion(vs)
		if err != nil {
			return nil, invalid(s, "invalid version")
		}
		n := opNode{op: operators[o], vo: vo}
		if n.op == opCompatible {
			parts := strings.Split(vo.norm, ".")
			if n.prefix, err = ParseVersion(strings.Join(parts[:len(parts)-1], ".")); err != nil {
				return nil, invalid(s, "~= needs a version of two components or more")
			}
		}
		return n, nil
	case s == "*":
		return anyNode{}, nil
	case strings.Contains(strings.TrimRight(s, "*"), "*"):
		// A glob inside the version: a regular expression over the version string.
		rx := strings.NewReplacer(".", `\.`, "+", `\+`, "*", ".*").Replace(s)
		re, err := compileMatch("^(?:" + rx + ")$")
		if err != nil {
			return nil, invalid(s, "not a glob Go can read")
		}
		return regexNode{re}, nil
	case s[len(s)-1] == '*':
		if !strings.HasSuffix(s, ".*") {
			s = s[:len(s)-1] + ".*" // "1.2*" is "1.2.*"
		}
		vo, err := ParseVersion(strings.TrimRight(strings.TrimRight(s, "*"), "."))
		if err != nil {
			return nil, invalid(s, "invalid version")
		}
		return opNode{op: opStartsWith, vo: vo}, nil
	case !strings.Contains(s, "@"):
		vo, err := ParseVersion(s)
		if err != nil {
			return nil, invalid(s, "invalid version")
		}
		return opNode{op: opEq, vo: vo}, nil
	}
	return exactNode(s), nil
}
