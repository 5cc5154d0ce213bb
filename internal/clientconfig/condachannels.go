package clientconfig

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// A token a Wharf login keeps for one conda channel goes into ~/.condarc as a custom_channels
// entry, NAME: SERVER/t/TOKEN/conda, never into a token file. How conda reads it (conda
// 24.11.3 and 26.7.1 alike):
//
//   - conda/base/context.py Context.custom_channels and conda/models/channel.py
//     Channel.make_simple_channel take the /t/TOKEN/ out of the URL (split_scheme_auth_token)
//     and keep it as the channel's token; Channel.urls(with_credentials=True) puts it back after
//     the location: SERVER/conda/t/TOKEN/NAME/SUBDIR.
//   - `-c NAME`, `-c NAME/label/L` and `-c NAME/SUB` find the entry by name, segment by segment
//     (channel.py _get_channel_for_name), before channel_alias is looked at; `-c SERVER/conda/NAME…`
//     finds it by its URL, segment by segment (channel.py _read_channel_configuration, step 4),
//     so NAME is never taken for NAME-labs.
//   - A request URL that carries /t/TOKEN/ already is sent as it is: the token files are read only
//     for URLs without one (conda/gateways/connection/session.py CondaHttpAuth.add_binstar_token).
//
// A token file cannot do this: conda takes the first file, in directory order, whose URL is a
// prefix of the request, so a channel's file and the server's file (SERVER/conda/) would both
// match the channel, and which one wins would be left to the file system.
//
// Entries must not nest: conda compares a URL with an entry segment by segment up to the shorter
// of the two (channel.py tokenized_startswith zips them), so an entry for NAME/SUB would also
// catch every request for NAME itself and send it to a wrong path. Hence one entry per top-level
// channel, and none for a subchannel or label.

// CondaCustomChannel is one entry of custom_channels in .condarc.
type CondaCustomChannel struct {
	Name string // the channel's name as conda is given it: acme
	URL  string // where the channel lives, without its name: https://h/t/TOKEN/conda
}

// CondaCustomChannelURL is the custom_channels value that gives conda a channel of a Wharf
// server with a token: SERVER/t/TOKEN/conda, which conda requests as SERVER/conda/t/TOKEN/NAME/….
func CondaCustomChannelURL(server, token string) string {
	return strings.TrimRight(server, "/") + "/t/" + token + "/conda"
}

// anacondaToken is conda's pattern for a token in a URL (conda/common/url.py
// split_anaconda_token): the first /t/ and the characters a token may have.
var anacondaToken = regexp.MustCompile(`/t/([a-zA-Z0-9-]*)`)

// CondaLocation is a channel URL as conda compares locations: its first /t/TOKEN taken out
// (split_anaconda_token) and no trailing slash. Two custom_channels values with the same
// location name the same server's conda channels, whatever token each carries.
func CondaLocation(url string) string {
	if m := anacondaToken.FindStringSubmatchIndex(url); m != nil {
		url = url[:m[0]] + url[m[1]:]
	}
	return strings.TrimRight(url, "/")
}

// CondaURLToken is the token conda finds in a URL ("" when none).
func CondaURLToken(url string) string {
	if m := anacondaToken.FindStringSubmatch(url); m != nil {
		return m[1]
	}
	return ""
}

// CondarcCustomChannels reads custom_channels from a condarc, in the file's order.
func CondarcCustomChannels(src []byte) ([]CondaCustomChannel, error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, err
	}
	_, v := d.find("custom_channels")
	if v == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
		return nil, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, errors.New("custom_channels in .condarc is not a mapping; fix it, or move the file away and run again")
	}
	var out []CondaCustomChannel
	for i := 0; i+1 < len(v.Content); i += 2 {
		out = append(out, CondaCustomChannel{Name: v.Content[i].Value, URL: v.Content[i+1].Value})
	}
	return out, nil
}

// EditCondarcCustomChannels sets the custom_channels entries of set (adding those not there
// at the end, replacing the value of those that are) and takes out those named in remove; a
// custom_channels left empty goes as a whole. Everything else in the file stays as it was,
// byte for byte; a layout the line editor cannot change exactly is refused.
func EditCondarcCustomChannels(src []byte, set []CondaCustomChannel, remove []string) ([]byte, error) {
	before, err := decodeCondarc(src)
	if err != nil {
		return nil, err
	}
	want, err := CondarcCustomChannels(src)
	if err != nil {
		return nil, err
	}
	out := src
	for _, c := range set {
		if c.Name == "" || c.URL == "" {
			return nil, fmt.Errorf("custom channel %q: a name and a URL are needed", c.Name)
		}
		if out, err = setCustomChannel(out, c); err != nil {
			return nil, err
		}
		i := slices.IndexFunc(want, func(w CondaCustomChannel) bool { return w.Name == c.Name })
		if i < 0 {
			want = append(want, c)
		} else {
			want[i].URL = c.URL
		}
	}
	for _, name := range remove {
		if out, err = removeCustomChannel(out, name); err != nil {
			return nil, err
		}
		want = slices.DeleteFunc(want, func(w CondaCustomChannel) bool { return w.Name == name })
	}
	return out, verifyCustomChannels(before, out, want)
}

// verifyCustomChannels re-reads the edited file: every key but custom_channels must mean what
// it meant, and custom_channels hold exactly want (no key at all when want is empty).
func verifyCustomChannels(before map[string]any, out []byte, want []CondaCustomChannel) error {
	after, err := decodeCondarc(out)
	if err != nil {
		return errEditCondarc
	}
	for k, v := range before {
		if k == "custom_channels" {
			continue
		}
		if w, ok := after[k]; !ok || !reflect.DeepEqual(v, w) {
			return errEditCondarc
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && k != "custom_channels" {
			return errEditCondarc
		}
	}
	got, err := CondarcCustomChannels(out)
	if err != nil {
		return errEditCondarc
	}
	m, _ := after["custom_channels"].(map[string]any)
	if len(want) == 0 {
		if _, ok := after["custom_channels"]; ok && len(m) > 0 {
			return errEditCondarc
		}
		return nil
	}
	if len(m) != len(want) || len(got) != len(want) {
		return errEditCondarc
	}
	for _, w := range want {
		if s, ok := m[w.Name].(string); !ok || s != w.URL {
			return errEditCondarc
		}
	}
	return nil
}

// plainLines checks that a block mapping has one plain or quoted scalar key per line, its
// value a one-line scalar on the same line, and returns the indentation of its keys.
func (d *condarcDoc) plainLines(v *yaml.Node) (indent string, ok bool) {
	seen := map[int]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode || val.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 ||
			k.Line != val.Line || seen[k.Line] || k.Line < 1 || k.Line > len(d.t.lines) {
			return "", false
		}
		seen[k.Line] = true
		line := d.t.lines[k.Line-1]
		p := line[:byteCol(line, k.Column)]
		if strings.TrimSpace(p) != "" {
			return "", false
		}
		if indent == "" {
			indent = p
		}
	}
	return indent, indent != ""
}

func flowMap(entries []CondaCustomChannel) string {
	s := make([]string, len(entries))
	for i, e := range entries {
		s[i] = yamlScalar(e.Name) + ": " + yamlScalar(e.URL)
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// rewriteFlow replaces a one-line flow mapping value with entries.
func (d *condarcDoc) rewriteFlow(v *yaml.Node, entries []CondaCustomChannel) error {
	if v.Line < 1 || v.Line > len(d.t.lines) {
		return errEditCondarc
	}
	line := d.t.lines[v.Line-1]
	start := byteCol(line, v.Column)
	val, comment := splitComment(line[start:])
	if !strings.HasPrefix(val, "{") || !strings.HasSuffix(val, "}") {
		return errEditCondarc // spread over several lines
	}
	d.t.lines[v.Line-1] = line[:start] + flowMap(entries) + comment
	return nil
}

func setCustomChannel(src []byte, c CondaCustomChannel) ([]byte, error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, err
	}
	entry := yamlScalar(c.Name) + ": " + yamlScalar(c.URL)
	k, v := d.find("custom_channels")
	switch {
	case k == nil:
		ind := d.indent()
		d.t.insert(d.appendAt(), ind+"custom_channels:", ind+"  "+entry)
		return d.t.bytes(), nil
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		line := d.t.lines[k.Line-1]
		colon := strings.Index(line[byteCol(line, k.Column):], ":")
		if colon < 0 || v.Line != k.Line {
			return nil, errEditCondarc
		}
		end := byteCol(line, k.Column) + colon + 1
		_, comment := splitComment(line[end:])
		if strings.TrimSpace(comment) == "" {
			comment = ""
		}
		d.t.lines[k.Line-1] = line[:end] + comment
		d.t.insert(k.Line, strings.Repeat(" ", k.Column-1)+"  "+entry)
		return d.t.bytes(), nil
	case v.Kind != yaml.MappingNode:
		return nil, errors.New("custom_channels in .condarc is not a mapping; fix it, or move the file away and run again")
	}
	entries, _ := CondarcCustomChannels(src)
	if v.Style&yaml.FlowStyle != 0 {
		if i := slices.IndexFunc(entries, func(e CondaCustomChannel) bool { return e.Name == c.Name }); i >= 0 {
			entries[i].URL = c.URL
		} else {
			entries = append(entries, c)
		}
		if err := d.rewriteFlow(v, entries); err != nil {
			return nil, err
		}
		return d.t.bytes(), nil
	}
	indent, ok := d.plainLines(v)
	if !ok {
		return nil, errEditCondarc
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value != c.Name {
			continue
		}
		val := v.Content[i+1]
		line := d.t.lines[val.Line-1]
		start := byteCol(line, val.Column)
		_, comment := splitComment(line[start:])
		d.t.lines[val.Line-1] = line[:start] + yamlScalar(c.URL) + comment
		return d.t.bytes(), nil
	}
	_, to := d.keyBlock(k, v)
	d.t.insert(to, indent+entry)
	return d.t.bytes(), nil
}

func removeCustomChannel(src []byte, name string) ([]byte, error) {
	d, err := parseCondarc(src)
	if err != nil {
		return nil, err
	}
	k, v := d.find("custom_channels")
	if k == nil || v.Kind != yaml.MappingNode {
		return src, nil
	}
	entries, _ := CondarcCustomChannels(src)
	left := slices.DeleteFunc(slices.Clone(entries), func(e CondaCustomChannel) bool { return e.Name == name })
	if len(left) == len(entries) {
		return src, nil
	}
	if len(left) == 0 {
		if v.Style&yaml.FlowStyle == 0 {
			if _, ok := d.plainLines(v); !ok {
				return nil, errEditCondarc
			}
		}
		from, to := d.keyBlock(k, v)
		d.t.delete(from, to)
		return d.t.bytes(), nil
	}
	if v.Style&yaml.FlowStyle != 0 {
		if err := d.rewriteFlow(v, left); err != nil {
			return nil, err
		}
		return d.t.bytes(), nil
	}
	if _, ok := d.plainLines(v); !ok {
		return nil, errEditCondarc
	}
	for i := len(v.Content) - 2; i >= 0; i -= 2 {
		if v.Content[i].Value == name {
			d.t.delete(v.Content[i].Line-1, v.Content[i].Line)
		}
	}
	return d.t.bytes(), nil
}

// ReplaceFirstAPIWithConda is conda's replace_first_api_with_conda
// (conda/gateways/anaconda_client.py, 24.11.3 and 26.7.1): the first "api" host label or path
// segment becomes "conda". conda registers every token file under its URL and under this one.
func ReplaceFirstAPIWithConda(url string) string {
	m := apiSegment.FindStringSubmatchIndex(url)
	if m == nil {
		return url
	}
	return url[:m[0]] + url[m[2]:m[3]] + "conda" + url[m[4]:m[5]] + url[m[1]:]
}

var apiSegment = regexp.MustCompile(`([./])api([./]|$)`)

// CondaTokenFileEntry is one of conda's token files: its name in the token directory and the
// URL conda reads from that name (unquote_plus of the name without .token).
type CondaTokenFileEntry struct {
	Name string
	URL  string
}

// CondaTokenFiles lists the token files in dir (conda's read_binstar_tokens reads every
// *.token there); a missing directory has none.
func CondaTokenFiles(dir string) ([]CondaTokenFileEntry, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CondaTokenFileEntry
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".token") {
			continue
		}
		out = append(out, CondaTokenFileEntry{Name: n, URL: UnquotePlus(strings.TrimSuffix(n, ".token"))})
	}
	return out, nil
}

// CondaTokenFileOverlaps lists the token files, other than url's own, that conda could take
// instead of url's for some request: those whose URL (or its api→conda form) is a prefix of
// url or has url as a prefix. conda takes the first match in directory order, so any of them
// makes the token it sends a matter of chance.
func CondaTokenFileOverlaps(files []CondaTokenFileEntry, url string) []CondaTokenFileEntry {
	var out []CondaTokenFileEntry
	for _, f := range files {
		if f.URL == url {
			continue
		}
		for _, u := range []string{f.URL, ReplaceFirstAPIWithConda(f.URL)} {
			if strings.HasPrefix(url, u) || strings.HasPrefix(u, url) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}
