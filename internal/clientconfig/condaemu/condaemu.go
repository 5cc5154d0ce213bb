// Package condaemu is an emulation, for tests, of how conda turns a channel given on its
// command line into the URL it requests and picks the token it sends, from ~/.condarc
// (channel_alias, custom_channels) and conda's token files. conda itself cannot be installed
// where the tests run; this follows its source line by line, for the two versions Wharf is
// tried with, conda 24.11.3 (commit 36797234) and 26.7.1 (commit 0bf82da1). Each function
// names the one of conda it stands for. The two agree on all of it but three details, which
// Config.Version chooses: see Conda24.
//
// Left out, as the tests do not need them: migrated_custom_channels and
// migrated_channel_aliases (empty by default), file:// and path channels, Windows, and the
// conda-auth plugin's channel_settings.
package condaemu

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The conda versions emulated. 24.11.3 differs from 26.7.1 in three details of what is used
// here: its Channel.urls lets a channel's own platform (-c acme/linux-64) win over the subdirs
// asked for, its Channel.url drops a file name that comes without a platform, and its
// parse_conda_channel_url does not percent-decode a channel's name or file name; its URL split
// also knows .jlap files.
const (
	Conda24 = "24.11.3"
	Conda26 = "26.7.1"
)

// Config is what conda reads: the condarc's two settings and the token directory.
type Config struct {
	// Version is the conda emulated, Conda26 or Conda24; "" is Conda26.
	Version string
	// ChannelAlias is channel_alias; "" is conda's default, https://conda.anaconda.org
	// (conda/base/constants.py DEFAULT_CHANNEL_ALIAS).
	ChannelAlias string
	// CustomChannels is custom_channels, in the condarc's order.
	CustomChannels []Custom
	// TokenFiles are the token directory's files in the order os.scandir lists them, which is
	// the file system's and not under anyone's control (see Orders).
	TokenFiles []TokenFile
}

// Custom is one custom_channels entry.
type Custom struct{ Name, URL string }

// TokenFile is one of conda's token files: its name (quote_plus(url) + ".token") and its
// contents, the token as conda reads it (open().read(): nothing stripped).
type TokenFile struct{ Name, Content string }

// Load reads a condarc (nil: none) and the token files of dir, in the order os.ReadDir gives
// them (sorted; Orders gives the others).
func Load(condarc []byte, dir string) (Config, error) {
	var c Config
	var rc struct {
		ChannelAlias   string    `yaml:"channel_alias"`
		CustomChannels yaml.Node `yaml:"custom_channels"`
	}
	if err := yaml.Unmarshal(condarc, &rc); err != nil {
		return c, err
	}
	c.ChannelAlias = rc.ChannelAlias
	if n := rc.CustomChannels; n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.CustomChannels = append(c.CustomChannels, Custom{n.Content[i].Value, n.Content[i+1].Value})
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return c, err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return c, err
		}
		c.TokenFiles = append(c.TokenFiles, TokenFile{e.Name(), string(b)})
	}
	return c, nil
}

// Orders is every order of the token files: conda takes the first that matches, in the
// order the directory lists them, so a test must hold in each.
func (c Config) Orders() []Config {
	var out []Config
	var perm func(k int, files []TokenFile)
	perm = func(k int, files []TokenFile) {
		if k == len(files) {
			cc := c
			cc.TokenFiles = slices.Clone(files)
			out = append(out, cc)
			return
		}
		for i := k; i < len(files); i++ {
			files[k], files[i] = files[i], files[k]
			perm(k+1, files)
			files[k], files[i] = files[i], files[k]
		}
	}
	perm(0, slices.Clone(c.TokenFiles))
	return out
}

// Request is the URL conda requests for a file of one subdir of a channel given as conda
// install -c CHANNEL takes it (a name, NAME/label/L, or a URL), and the token in it ("" for
// none).
type Request struct {
	URL   string
	Token string
}

// Path is the request's path with its /t/TOKEN taken out: what the server serves.
func (r Request) Path() string {
	clean, _ := splitAnacondaToken(r.URL)
	u, err := url.Parse(clean)
	if err != nil {
		return clean
	}
	return u.Path
}

// Fetch is what conda requests for file (repodata.json, a package) of subdir of channel:
// Channel(channel).urls(with_credentials=True) (conda/core/subdir_data.py SubdirData.query_all
// through conda/models/channel.py all_channel_urls), each URL parsed again as a channel
// (SubdirData(Channel(url))), its url_w_credentials (SubdirData.__init__) joined with the file,
// and then conda/gateways/connection/session.py CondaHttpAuth.add_binstar_token.
func (c Config) Fetch(channel, subdir, file string) (Request, error) {
	if c.Version != "" && c.Version != Conda24 && c.Version != Conda26 {
		return Request{}, fmt.Errorf("condaemu: conda %s is not emulated (%s or %s)", c.Version, Conda24, Conda26)
	}
	ctx := c.context()
	ch, err := ctx.fromValue(channel)
	if err != nil {
		return Request{}, err
	}
	u := ctx.parseURL(ch.urls(true, subdir, ctx)).url(true, ctx)
	u = ctx.addBinstarToken(joinURL(u, file))
	return Request{URL: u, Token: CondaToken(u)}, nil
}

// CondaToken is the token conda's split_anaconda_token finds in a URL.
func CondaToken(u string) string {
	_, tok := splitAnacondaToken(u)
	return tok
}

// ---- conda/models/channel.py Channel ------------------------------------------------------

type channel struct {
	scheme, auth, location, token, name, platform, filename string
}

// url is Channel.url(with_credentials).
func (ch channel) url(withCredentials bool, ctx *context) string {
	base := []string{ch.location}
	if withCredentials && ch.token != "" {
		base = append(base, "t", ch.token)
	}
	base = append(base, ch.name)
	switch {
	case ch.platform != "":
		base = append(base, ch.platform)
		if ch.filename != "" {
			base = append(base, ch.filename)
		}
	case ch.filename != "" && !ctx.v24: // 24.11.3 has no such case: the name goes
		base = append(base, ch.filename)
	default:
		base = append(base, ctx.subdir)
	}
	return ch.withScheme(joinURL(base...), withCredentials)
}

// urls is Channel.urls(with_credentials, subdirs=[subdir])[0]: in 24.11.3 the channel's own
// platform, when it names one, comes first whatever the subdirs asked for.
func (ch channel) urls(withCredentials bool, subdir string, ctx *context) string {
	if ctx.v24 && ch.platform != "" {
		subdir = ch.platform
	}
	base := []string{ch.location}
	if withCredentials && ch.token != "" {
		base = append(base, "t", ch.token)
	}
	base = append(base, ch.name)
	return ch.withScheme(joinURL(joinURL(base...), subdir), withCredentials)
}

func (ch channel) withScheme(b string, withCredentials bool) string {
	if withCredentials && ch.auth != "" {
		return ch.scheme + "://" + ch.auth + "@" + b
	}
	return ch.scheme + "://" + b
}

// context is the part of conda/base/context.py Context used here.
type context struct {
	alias  channel
	custom []channel // custom_channels as Context.custom_channels builds it, in dict order
	tokens []binstarToken
	subdir string
	v24    bool // conda 24.11.3's reading, where it differs
}

type binstarToken struct{ url, token string }

func (c Config) context() *context {
	aliasURL := c.ChannelAlias
	if aliasURL == "" {
		aliasURL = "https://conda.anaconda.org"
	}
	ctx := &context{subdir: "linux-64", v24: c.Version == Conda24}
	loc, scheme, auth, tok := splitSchemeAuthToken(aliasURL)
	ctx.alias = channel{scheme: scheme, auth: auth, location: loc, token: tok}

	// Context.custom_channels: the channels of custom_multichannels (defaults, made by
	// make_simple_channel without a name), then custom_channels; a later name replaces an
	// earlier one's value in its place (a Python dict).
	put := func(ch channel) {
		if i := slices.IndexFunc(ctx.custom, func(o channel) bool { return o.name == ch.name }); i >= 0 {
			ctx.custom[i] = ch
			return
		}
		ctx.custom = append(ctx.custom, ch)
	}
	for _, u := range []string{"https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"} { // DEFAULT_CHANNELS_UNIX
		put(ctx.makeSimpleChannel(u, ""))
	}
	for _, cc := range c.CustomChannels {
		put(ctx.makeSimpleChannel(cc.URL, cc.Name))
	}
	ctx.tokens = readBinstarTokens(c.TokenFiles)
	return ctx
}

// makeSimpleChannel is Channel.make_simple_channel(channel_alias, channel_url, name).
func (ctx *context) makeSimpleChannel(channelURL, name string) channel {
	testURL, scheme, auth, tok := splitSchemeAuthToken(channelURL)
	if name != "" && scheme != "" {
		return channel{scheme: scheme, auth: auth, location: testURL, token: tok, name: strings.Trim(name, "/")}
	}
	if scheme != "" {
		var location string
		if ctx.alias.location != "" && strings.HasPrefix(testURL, ctx.alias.location) {
			location, name = ctx.alias.location, strings.Replace(testURL, ctx.alias.location, "", 1)
		} else {
			p := pyURLParse(testURL)
			location = urlString("", p.hostname, p.port, "", "")
			name = p.path
		}
		return channel{scheme: scheme, auth: auth, location: location, token: tok, name: strings.Trim(name, "/")}
	}
	n := strings.Trim(name, "/")
	if n == "" {
		n = strings.Trim(channelURL, "/")
	}
	return channel{scheme: ctx.alias.scheme, auth: ctx.alias.auth, location: ctx.alias.location, token: ctx.alias.token, name: n}
}

var hasScheme = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}://`) // conda/common/url.py has_scheme

// fromValue is Channel.from_value for a URL or a channel name.
func (ctx *context) fromValue(value string) (channel, error) {
	if hasScheme.MatchString(value) {
		return ctx.parseURL(value), nil
	}
	if strings.HasPrefix(value, "/") || strings.HasPrefix(value, ".") || strings.HasPrefix(value, "~") {
		return channel{}, fmt.Errorf("condaemu: path channels are not emulated: %s", value)
	}
	stripped, _ := splitPlatform(value)
	if stripped == "defaults" || stripped == "local" {
		return channel{}, fmt.Errorf("condaemu: multichannels are not emulated: %s", value)
	}
	return ctx.channelForName(value), nil
}

// channelForName is _get_channel_for_name: custom_channels by name, then by ever shorter
// prefixes of whole segments, else the channel under channel_alias.
func (ctx *context) channelForName(name string) channel {
	stripped, platform := splitPlatform(name)
	for test := stripped; ; {
		if i := slices.IndexFunc(ctx.custom, func(c channel) bool { return c.name == test }); i >= 0 {
			ch := ctx.custom[i]
			ch.name = stripped
			if platform != "" {
				ch.platform = platform
			}
			return ch
		}
		shorter, _, found := cutLast(test, "/")
		if !found {
			break
		}
		test = shorter
	}
	a := ctx.alias
	return channel{scheme: a.scheme, auth: a.auth, location: a.location, token: a.token, name: stripped, platform: platform}
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// parseURL is parse_conda_channel_url.
func (ctx *context) parseURL(u string) channel {
	p := splitCondaURLEasyParts(u, ctx.v24)
	loc, name, cScheme, cAuth, cToken := ctx.readChannelConfiguration(p.scheme, p.hostname, p.port, p.path)
	if !ctx.v24 { // 26.7.1 decodes the name and file name; 24.11.3 keeps them as given
		name, p.filename = percentDecode(name), percentDecode(p.filename)
	}
	ch := channel{scheme: cScheme, auth: p.auth, location: loc, token: p.token, name: name, platform: p.platform, filename: p.filename}
	if ch.scheme == "" {
		ch.scheme = "https"
	}
	if ch.auth == "" {
		ch.auth = cAuth
	}
	if ch.token == "" {
		ch.token = cToken
	}
	return ch
}

// readChannelConfiguration is _read_channel_configuration (steps 2 and 3, the migrated
// channels, are empty by default and left out).
func (ctx *context) readChannelConfiguration(scheme, host, port, path string) (location, name, sch, auth, token string) {
	path = strings.TrimRight(path, "/")
	testURL := urlString("", host, port, path, "")
	// Step 1: no path.
	if path == "" {
		return strings.TrimRight(urlString("", host, port, "", ""), "/"), "", scheme, "", ""
	}
	// Step 4: custom_channels, longest name first (sorted(..., reverse=True, key=len): stable).
	custom := slices.Clone(ctx.custom)
	slices.SortStableFunc(custom, func(a, b channel) int { return len(b.name) - len(a.name) })
	for _, ch := range custom {
		that := joinURL(ch.location, ch.name)
		if tokenizedStartsWith(strings.Split(testURL, "/"), strings.Split(that, "/")) {
			sub := strings.Trim(strings.Replace(testURL, that, "", 1), "/")
			return ch.location, joinURL(ch.name, sub), scheme, ch.auth, ch.token
		}
	}
	// Step 5: channel_alias.
	ca := ctx.alias
	if ca.location != "" && tokenizedStartsWith(strings.Split(testURL, "/"), strings.Split(ca.location, "/")) {
		return ca.location, strings.Trim(strings.Replace(testURL, ca.location, "", 1), "/"), scheme, ca.auth, ca.token
	}
	// Step 7: host[:port] is the location, the path the name, a first "conda" segment bumped
	// into the location.
	bump := ""
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "conda" {
		bump, path = "conda", strings.Join(parts[1:], "/")
	}
	return strings.TrimRight(urlString("", host, port, bump, ""), "/"), strings.Trim(path, "/"), scheme, "", ""
}

// tokenizedStartsWith is tokenized_startswith: all(t == sw for t, sw in zip(...)). zip stops
// at the shorter list, so a URL shorter than an entry matches it too.
func tokenizedStartsWith(test, start []string) bool {
	for i := 0; i < len(test) && i < len(start); i++ {
		if test[i] != start[i] {
			return false
		}
	}
	return true
}

// addBinstarToken is CondaHttpAuth.add_binstar_token: a URL without a (non-empty) token gets
// that of the first token file, in read_binstar_tokens' order, whose URL is a prefix of it,
// put in the place Channel(url).url(with_credentials=True) gives it.
func (ctx *context) addBinstarToken(u string) string {
	clean, tok := splitAnacondaToken(u)
	if tok != "" {
		return u
	}
	for _, bt := range ctx.tokens {
		if strings.HasPrefix(clean, bt.url) {
			ch := ctx.parseURL(clean)
			ch.token = bt.token
			return ch.url(true, ctx)
		}
	}
	return u
}

// readBinstarTokens is conda/gateways/anaconda_client.py read_binstar_tokens: each file is
// registered under its URL and under replace_first_api_with_conda(URL), in a dict (a key seen
// again keeps its place and takes the new token).
func readBinstarTokens(files []TokenFile) []binstarToken {
	var out []binstarToken
	set := func(u, tok string) {
		if i := slices.IndexFunc(out, func(b binstarToken) bool { return b.url == u }); i >= 0 {
			out[i].token = tok
			return
		}
		out = append(out, binstarToken{u, tok})
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".token") {
			continue
		}
		u := strings.TrimSuffix(unquotePlus(f.Name), ".token")
		set(u, f.Content)
		set(replaceFirstAPIWithConda(u), f.Content)
	}
	return out
}

var apiRE = regexp.MustCompile(`([./])api([./]|$)`)

func replaceFirstAPIWithConda(u string) string {
	m := apiRE.FindStringSubmatchIndex(u)
	if m == nil {
		return u
	}
	return u[:m[0]] + u[m[2]:m[3]] + "conda" + u[m[4]:m[5]] + u[m[1]:]
}

// ---- conda/common/url.py ------------------------------------------------------------------

var tokenRE = regexp.MustCompile(`/t/([a-zA-Z0-9-]*)`)

// splitAnacondaToken is split_anaconda_token.
func splitAnacondaToken(u string) (string, string) {
	m := tokenRE.FindStringSubmatch(u)
	if m == nil {
		return strings.TrimRight(u, "/"), ""
	}
	return strings.TrimRight(strings.Replace(u, "/t/"+m[1], "", 1), "/"), m[1]
}

// splitSchemeAuthToken is split_scheme_auth_token: (host[:port]/path, scheme, auth, token).
func splitSchemeAuthToken(u string) (rest, scheme, auth, token string) {
	if u == "" {
		return "", "", "", ""
	}
	clean, token := splitAnacondaToken(u)
	p := pyURLParse(clean)
	return urlString("", p.hostname, p.port, p.path, p.query), p.scheme, p.auth, token
}

var knownSubdirs = []string{"noarch", "emscripten-wasm32", "wasi-wasm32", "freebsd-64", "linux-32", "linux-64", "linux-aarch64",
	"linux-armv6l", "linux-armv7l", "linux-ppc64", "linux-ppc64le", "linux-riscv64", "linux-s390x", "osx-64", "osx-arm64",
	"win-32", "win-64", "win-arm64", "zos-z"} // conda/base/constants.py KNOWN_SUBDIRS

var platformRE = regexp.MustCompile(`(?i)/(` + strings.Join(knownSubdirs, "|") + `)(?:/|$)`)

// splitPlatform is split_platform (its pattern ignores case).
func splitPlatform(u string) (string, string) {
	m := platformRE.FindStringSubmatch(u)
	if m == nil {
		return strings.TrimRight(u, "/"), ""
	}
	return strings.TrimRight(strings.Replace(u, "/"+m[1], "", 1), "/"), m[1]
}

type easyParts struct {
	scheme, auth, token, platform, filename, hostname, port, path, query string
}

// splitCondaURLEasyParts is split_conda_url_easy_parts; the extensions are 26.7.1's (the
// package extensions and KNOWN_REPODATA_EXTENSIONS), or with v24 24.11.3's KNOWN_EXTENSIONS.
func splitCondaURLEasyParts(u string, v24 bool) easyParts {
	clean, tok := splitAnacondaToken(u)
	clean, platform := splitPlatform(clean)
	filename := ""
	exts := []string{".conda", ".tar.bz2", ".json", ".json.zst"}
	if v24 {
		exts = []string{".conda", ".tar.bz2", ".json", ".jlap", ".json.zst"}
	}
	for _, ext := range exts {
		if strings.HasSuffix(clean, ext) && strings.Contains(clean, "/") {
			i := strings.LastIndex(clean, "/")
			clean, filename = clean[:i], clean[i+1:]
			break
		}
	}
	p := pyURLParse(clean)
	return easyParts{p.scheme, p.auth, tok, platform, filename, p.hostname, p.port, p.path, p.query}
}

type pyURL struct{ scheme, auth, hostname, port, path, query string }

// pyURLParse is conda's urlparse (urllib's, with // put before a URL without a scheme), as
// the Url fields conda reads: the host name in lower case, the port as a number.
func pyURLParse(s string) pyURL {
	if !hasScheme.MatchString(s) {
		s = "//" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return pyURL{path: s}
	}
	p := pyURL{scheme: u.Scheme, hostname: strings.ToLower(u.Hostname()), path: u.EscapedPath(), query: u.RawQuery}
	if n, err := strconv.Atoi(u.Port()); err == nil {
		p.port = strconv.Itoa(n)
	}
	if u.User != nil {
		p.auth = u.User.Username()
		if pw, ok := u.User.Password(); ok && pw != "" {
			p.auth += ":" + pw
		}
	}
	return p
}

// urlString is str(Url(...)) for the parts used here.
func urlString(scheme, host, port, path, query string) string {
	var b strings.Builder
	if scheme != "" {
		b.WriteString(scheme + "://")
	}
	b.WriteString(host)
	if port != "" {
		b.WriteString(":" + port)
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	b.WriteString(path)
	if query != "" {
		b.WriteString("?" + query)
	}
	return b.String()
}

// joinURL is join_url (conda/common/url.py join).
func joinURL(parts ...string) string {
	start := ""
	if len(parts) > 0 && (parts[0] == "" || strings.HasPrefix(parts[0], "/")) {
		start = "/"
	}
	var kept []string
	for _, p := range parts {
		if p == "" {
			continue
		}
		if p = strings.Trim(p, "/"); p != "" {
			kept = append(kept, p)
		}
	}
	return start + strings.Join(kept, "/")
}

func percentDecode(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// unquotePlus is urllib.parse.unquote_plus.
func unquotePlus(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}
