package clientconfig

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// CondaTokenFile is the name conda gives the token file of url (conda's
// anaconda_client.read_binstar_tokens): quote_plus(url) + ".token". conda puts the token in
// the URL of every request whose URL starts with url.
func CondaTokenFile(url string) string { return QuotePlus(url) + ".token" }

// CondaChannelAlias is the channel_alias of a Wharf server: with it `conda install -c NAME`
// reads SERVER/conda/NAME.
func CondaChannelAlias(server string) string { return strings.TrimRight(server, "/") + "/conda" }

// CondaTokenURL is the URL conda's token file is keyed on: the channel alias with a slash, so
// that it covers SERVER/conda/<channel>/… and nothing else of the server.
func CondaTokenURL(server string) string { return CondaChannelAlias(server) + "/" }

// EditCondarc sets channel_alias (when alias is not empty) and puts the channels that are not
// listed yet at the front of channels, in the order given, as `conda config --add channels`
// does: a private channel comes before the public ones. A condarc without channels gets
// them followed by defaults, which conda uses when channels is missing. Everything else in
// the file stays as it was, byte for byte.
func EditCondarc(src []byte, alias string, channels []string) ([]byte, error) {
	before, err := decodeCondarc(src)
	if err != nil {
		return nil, err
	}
	out := src
	wantAlias, hasAlias := before["channel_alias"]
	if alias != "" {
		if out, err = setCondarcScalar(out, "channel_alias", alias); err != nil {
			return nil, err
		}
		wantAlias, hasAlias = alias, true
	}
	wantChannels, hasChannels := before["channels"]
	if len(channels) > 0 {
		var list []string
		if out, list, err = addCondarcChannels(out, channels); err != nil {
			return nil, err
		}
		wantChannels, hasChannels = list, true
	}
	return out, verifyCondarc(before, out, wantAlias, hasAlias, wantChannels, hasChannels)
}

// RemoveFromCondarc undoes EditCondarc: it drops channel_alias when it is alias, and the
// channels named. A channels list left with nothing but defaults goes as a whole: conda reads
// a missing channels as defaults.
func RemoveFromCondarc(src []byte, alias string, channels []string) ([]byte, error) {
	before, err := decodeCondarc(src)
	if err != nil {
		return nil, err
	}
	out := src
	wantAlias, hasAlias := before["channel_alias"]
	if alias != "" {
		if s, ok := wantAlias.(string); ok && strings.TrimRight(s, "/") == strings.TrimRight(alias, "/") {
			if out, err = removeCondarcKey(out, "channel_alias"); err != nil {
				return nil, err
			}
			wantAlias, hasAlias = nil, false
		}
	}
	wantChannels, hasChannels := before["channels"]
	if len(channels) > 0 && hasChannels {
		var list []string
		var gone bool
		if out, list, gone, err = removeCondarcChannels(out, channels); err != nil {
			return nil, err
		}
		if gone {
			wantChannels, hasChannels = nil, false
		} else if list != nil {
			wantChannels = list
		}
	}
	return out, verifyCondarc(before, out, wantAlias, hasAlias, wantChannels, hasChannels)
}

// CondarcValues reads channel_alias and channels from a condarc.
func CondarcValues(src []byte) (alias string, channels []string, err error) {
	m, err := decodeCondarc(src)
	if err != nil {
		return "", nil, err
	}
	alias, _ = m["channel_alias"].(string)
	return alias, stringList(m["channels"]), nil
}

func decodeCondarc(src []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal(src, &m); err != nil {
		return nil, fmt.Errorf(".condarc is not valid YAML (%v); fix it, or move it away and run again", err)
	}
	return m, nil
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// verifyCondarc re-reads the edited file: every key but the two edited must mean what it
// meant, and those two what was asked. An edit that could not be made exactly (a layout the
// line editor does not know) is refused rather than written.
func verifyCondarc(before map[string]any, out []byte, alias any, hasAlias bool, channels any, hasChannels bool) error {
	after, err := decodeCondarc(out)
	if err != nil {
		return errEditCondarc
	}
	for k, v := range before {
		if k == "channel_alias" || k == "channels" {
			continue
		}
		if w, ok := after[k]; !ok || !reflect.DeepEqual(v, w) {
			return errEditCondarc
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && k != "channel_alias" && k != "channels" {
			return errEditCondarc
		}
	}
	if a, ok := after["channel_alias"]; ok != hasAlias || (ok && fmt.Sprint(a) != fmt.Sprint(alias)) {
		return errEditCondarc
	}
	if c, ok := after["channels"]; ok != hasChannels || (ok && !slices.Equal(stringList(c), asStrings(channels))) {
		return errEditCondarc
	}
	return nil
}

func asStrings(v any) []string {
	if l, ok := v.([]string); ok {
		return l
	}
	return stringList(v)
}

var errEditCondarc = errors.New("could not edit .condarc without changing other settings (its layout is unusual); edit it by hand, or run with --dry-run to see the change to make")

// condarcDoc is a parsed condarc: its lines and the YAML nodes that say where things are.
type condarcDoc struct {
	t    *text
	root *yaml.Node // the top-level mapping, nil for an empty file
}

func parseCondarc(src []byte) (*condarcDoc, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		return nil, fmt.Errorf(".condarc is not valid YAML (%v); fix it, or move it away and run again", err)
	}
	// YAML also breaks lines at a lone CR, NEL, LS and PS: then its line numbers are not ours.
	if strings.Contains(strings.ReplaceAll(string(src), "\r\n", ""), "\r") || strings.ContainsAny(string(src), "\u0085\u2028\u2029") {
		return nil, errEditCondarc
	}
	d := &condarcDoc{t: splitText(src)}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		r := n.Content[0]
		if r.Kind != yaml.MappingNode {
			return nil, errors.New(".condarc does not hold a mapping of settings; fix it, or move it away and run again")
		}
		if r.Style&yaml.FlowStyle != 0 {
			return nil, errEditCondarc
		}
		d.root = r
	}
	return d, nil
}

func (d *condarcDoc) find(key string) (k, v *yaml.Node) {
	if d.root == nil {
		return nil, nil
	}
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if d.root.Content[i].Value == key {
			return d.root.Content[i], d.root.Content[i+1]
		}
	}
	return nil, nil
}

// indent is the indentation of the top-level keys.
func (d *condarcDoc) indent() string {
	if d.root == nil || len(d.root.Content) == 0 {
		return ""
	}
	k := d.root.Content[0]
	return strings.Repeat(" ", k.Column-1)
}

// lastLine is the index of the last line that is not blank, plus one: where a new key goes.
func (d *condarcDoc) appendAt() int {
	i := len(d.t.lines)
	for i > 0 && strings.TrimSpace(d.t.lines[i-1]) == "" {
		i--
	}
	return i
}

// byteCol turns a YAML column (1-based, in characters) into a byte offset in line.
func byteCol(line string, col int) int {
	off := 0
	for i := 1; i < col && off < len(line); i++ {
		_, n := utf8.DecodeRuneInString(line[off:])
		off += n
	}
	return off
}

// splitComment splits what follows a value's start into the value and its trailing comment
// (with the white space before it), minding quotes.
func splitComment(s string) (val, comment string) {
	i := 0
	if strings.HasPrefix(s, "'") {
		for i = 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				i++
				break
			}
		}
	} else if strings.HasPrefix(s, `"`) {
		for i = 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				i++
				break
			}
		}
	}
	for j := i; j < len(s); j++ {
		if s[j] == '#' && (j == 0 || s[j-1] == ' ' || s[j-1] == '\t') {
			k := j
			for k > 0 && (s[k-1] == ' ' || s[k-1] == '\t') {
				k--
			}
			return s[:k], s[k:]
		}
	}
	return strings.TrimRight(s, " \t"), s[len(strings.TrimRight(s, " \t")):]
}

// yamlScalar spells s as a YAML scalar: plain when it can be, quoted otherwise.
func yamlScalar(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func setCondarcScalar(src []byte, key, value string) ([]byte, error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, err
	}
	k, v := d.find(key)
	if k == nil {
		d.t.insert(d.appendAt(), d.indent()+key+": "+yamlScalar(value))
		return d.t.bytes(), nil
	}
	if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || v.Line < 1 || v.Line > len(d.t.lines) {
		return nil, errEditCondarc
	}
	line := d.t.lines[v.Line-1]
	start := byteCol(line, v.Column)
	_, comment := splitComment(line[start:])
	sep := ""
	if v.Tag == "!!null" && v.Value == "" {
		sep = " "
	}
	d.t.lines[v.Line-1] = line[:start] + sep + yamlScalar(value) + comment
	return d.t.bytes(), nil
}

// keyBlock is the lines [from, to) a top-level key and its value take.
func (d *condarcDoc) keyBlock(k, v *yaml.Node) (from, to int) {
	from, to = k.Line-1, k.Line
	var last func(n *yaml.Node)
	last = func(n *yaml.Node) {
		if n.Line > to {
			to = n.Line
		}
		for _, c := range n.Content {
			last(c)
		}
	}
	last(v)
	return from, to
}

func removeCondarcKey(src []byte, key string) ([]byte, error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, err
	}
	k, v := d.find(key)
	if k == nil {
		return src, nil
	}
	if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return nil, errEditCondarc
	}
	from, to := d.keyBlock(k, v)
	d.t.delete(from, to)
	return d.t.bytes(), nil
}

// channelItems checks that a block sequence has one plain scalar per line, and returns
// the prefix ("  - ") of its items.
func (d *condarcDoc) channelItems(v *yaml.Node) (prefix string, ok bool) {
	lines := map[int]bool{}
	for _, it := range v.Content {
		if it.Kind != yaml.ScalarNode || it.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || lines[it.Line] || it.Line > len(d.t.lines) {
			return "", false
		}
		lines[it.Line] = true
		line := d.t.lines[it.Line-1]
		p := line[:byteCol(line, it.Column)]
		if strings.TrimSpace(p) != "-" {
			return "", false
		}
		if prefix == "" {
			prefix = p
		}
	}
	return prefix, prefix != ""
}

func flowList(items []string) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = yamlScalar(it)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func addCondarcChannels(src []byte, names []string) ([]byte, []string, error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, nil, err
	}
	k, v := d.find("channels")
	var have []string
	if v != nil && v.Kind == yaml.SequenceNode {
		for _, it := range v.Content {
			have = append(have, it.Value)
		}
	}
	var add []string
	for _, n := range names {
		if !slices.Contains(have, n) && !slices.Contains(add, n) {
			add = append(add, n)
		}
	}
	switch {
	case k == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null"):
		// conda reads a missing channels as [defaults]; keep defaults after the new ones.
		list := slices.Clone(add)
		if !slices.Contains(list, "defaults") {
			list = append(list, "defaults")
		}
		ind := d.indent()
		lines := make([]string, len(list))
		for i, c := range list {
			lines[i] = ind + "  - " + yamlScalar(c)
		}
		if k == nil {
			d.t.insert(d.appendAt(), append([]string{ind + "channels:"}, lines...)...)
		} else {
			line := d.t.lines[k.Line-1]
			colon := strings.Index(line[byteCol(line, k.Column):], ":")
			if colon < 0 || v.Line != k.Line {
				return nil, nil, errEditCondarc
			}
			end := byteCol(line, k.Column) + colon + 1
			_, comment := splitComment(line[end:])
			if strings.TrimSpace(comment) == "" {
				comment = ""
			}
			d.t.lines[k.Line-1] = line[:end] + comment
			d.t.insert(k.Line, lines...)
		}
		return d.t.bytes(), list, nil
	case v.Kind != yaml.SequenceNode:
		return nil, nil, errors.New("channels in .condarc is not a list; fix it, or move the file away and run again")
	}
	list := append(slices.Clone(add), have...)
	if len(add) == 0 {
		return src, list, nil
	}
	if v.Style&yaml.FlowStyle != 0 {
		line := d.t.lines[v.Line-1]
		start := byteCol(line, v.Column)
		val, comment := splitComment(line[start:])
		if !strings.HasPrefix(val, "[") || !strings.HasSuffix(val, "]") {
			return nil, nil, errEditCondarc
		}
		d.t.lines[v.Line-1] = line[:start] + flowList(list) + comment
		return d.t.bytes(), list, nil
	}
	prefix, ok := d.channelItems(v)
	if !ok {
		return nil, nil, errEditCondarc
	}
	lines := make([]string, len(add))
	for i, c := range add {
		lines[i] = prefix + yamlScalar(c)
	}
	d.t.insert(v.Content[0].Line-1, lines...)
	return d.t.bytes(), list, nil
}

// removeCondarcChannels takes names out of channels and returns what is left (nil when
// channels is not a list), and whether the whole key went.
func removeCondarcChannels(src []byte, names []string) (out []byte, left []string, gone bool, err error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, nil, false, err
	}
	k, v := d.find("channels")
	if k == nil || v.Kind != yaml.SequenceNode {
		return src, nil, false, nil
	}
	var keep []string
	var drop []*yaml.Node
	for _, it := range v.Content {
		if slices.Contains(names, it.Value) {
			drop = append(drop, it)
		} else {
			keep = append(keep, it.Value)
		}
	}
	if len(drop) == 0 {
		return src, keep, false, nil
	}
	if len(keep) == 0 || slices.Equal(keep, []string{"defaults"}) {
		from, to := d.keyBlock(k, v)
		d.t.delete(from, to)
		return d.t.bytes(), nil, true, nil
	}
	if v.Style&yaml.FlowStyle != 0 {
		line := d.t.lines[v.Line-1]
		start := byteCol(line, v.Column)
		val, comment := splitComment(line[start:])
		if !strings.HasPrefix(val, "[") || !strings.HasSuffix(val, "]") {
			return nil, nil, false, errEditCondarc
		}
		d.t.lines[v.Line-1] = line[:start] + flowList(keep) + comment
		return d.t.bytes(), keep, false, nil
	}
	if _, ok := d.channelItems(v); !ok {
		return nil, nil, false, errEditCondarc
	}
	for i := len(drop) - 1; i >= 0; i-- {
		d.t.delete(drop[i].Line-1, drop[i].Line)
	}
	return d.t.bytes(), keep, false, nil
}
