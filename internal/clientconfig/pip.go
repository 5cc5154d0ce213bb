package clientconfig

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// TokenUser is the user name that says "the password is a token" to Wharf (and PyPI).
const TokenUser = "__token__"

// PipIndexURL is the index pip reads a channel from. With a token it carries it as Basic
// credentials, __token__:TOKEN@, which pip sends with every request to that host and hides
// when it prints the URL.
func PipIndexURL(server, channel, token string) (string, error) {
	u, err := url.Parse(strings.TrimRight(server, "/") + "/pypi/" + channel + "/simple/")
	if err != nil {
		return "", err
	}
	if token != "" {
		u.User = url.UserPassword(TokenUser, token)
	}
	return u.String(), nil
}

// TwineRepositoryURL is where twine uploads to a channel.
func TwineRepositoryURL(server, channel string) string {
	return strings.TrimRight(server, "/") + "/pypi/" + channel + "/"
}

// ofServer reports whether u (credentials and all) is one of server's PyPI URLs.
func ofServer(u, server string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	p.User = nil
	return strings.HasPrefix(p.String(), strings.TrimRight(server, "/")+"/pypi/")
}

// pipSections are the pip.conf sections whose index-url wins over [global]'s for a command.
var pipSections = []string{"install", "download", "wheel", "index", "list"}

// EditPipConf sets [global] index-url. The warnings name settings of the file that would
// keep pip from using it.
func EditPipConf(src []byte, indexURL string) (out []byte, warnings []string, err error) {
	d := parseINI(src)
	d.set("global", "index-url", indexURL)
	if v, _ := PipIndex(d.t.bytes()); v != indexURL {
		return nil, nil, errINI
	}
	for _, s := range d.sections {
		if s.header >= 0 && slices.Contains(pipSections, s.name) && s.entry("index-url") != nil {
			warnings = append(warnings, fmt.Sprintf("[%s] index-url in pip.conf wins over [global] for pip %s; remove it to use the Wharf index there", s.name, s.name))
		}
	}
	return d.t.bytes(), warnings, nil
}

var errINI = errors.New("could not edit the file without changing other settings (its layout is unusual); edit it by hand, or run with --dry-run to see the change to make")

// RemoveFromPipConf drops [global] index-url when it is one of server's indexes (with or
// without credentials), and [global] with it when nothing else is in it.
func RemoveFromPipConf(src []byte, server string) []byte {
	d := parseINI(src)
	if v, ok := d.get("global", "index-url"); ok && ofServer(v, server) {
		d.remove("global", "index-url")
	}
	return d.t.bytes()
}

// PipIndex reads [global] index-url.
func PipIndex(src []byte) (string, bool) { return parseINI(src).get("global", "index-url") }

// defaultIndexServers is what twine reads when [distutils] has no index-servers.
var defaultIndexServers = []string{"pypi", "testpypi"}

// EditPypirc adds name to [distutils] index-servers (created as twine's default, pypi and
// testpypi, plus name) and writes [name] with the repository URL, __token__ and the token.
func EditPypirc(src []byte, name, repository, token string) ([]byte, error) {
	d := parseINI(src)
	if _, ok := d.get("distutils", "index-servers"); !ok {
		if d.section("distutils") == nil {
			// At the top, where people look for it.
			lines := []string{"[distutils]", "index-servers ="}
			for _, s := range append(slices.Clone(defaultIndexServers), name) {
				lines = append(lines, "    "+s)
			}
			if len(d.t.lines) > 0 {
				lines = append(lines, "")
			}
			d.t.insert(0, lines...)
			d.reparse()
		} else {
			d.set("distutils", "index-servers", "")
			for _, s := range append(slices.Clone(defaultIndexServers), name) {
				d.addWord("distutils", "index-servers", s)
			}
		}
	} else {
		d.addWord("distutils", "index-servers", name)
	}
	d.set(name, "repository", repository)
	d.set(name, "username", TokenUser)
	d.set(name, "password", token)
	out := d.t.bytes()
	if r, u, listed := PypircRepository(out, name); r != repository || u != TokenUser || !listed {
		return nil, errINI
	}
	return out, nil
}

// RemoveFromPypirc undoes EditPypirc when [name] is a repository of server: [name] goes, and
// name from index-servers; an index-servers left as twine's default goes too. ok is false
// when [name] is someone else's and was left alone.
func RemoveFromPypirc(src []byte, name, server string) (out []byte, ok bool) {
	d := parseINI(src)
	if d.section(name) != nil {
		if r, _ := d.get(name, "repository"); !ofServer(r, server) {
			return src, false
		}
		d.removeSection(name)
	}
	d.removeWord("distutils", "index-servers", name)
	if v, ok := d.get("distutils", "index-servers"); ok && slices.Equal(strings.Fields(v), defaultIndexServers) {
		d.remove("distutils", "index-servers")
	}
	return d.t.bytes(), true
}

// PypircRepository reads [name]'s repository and username, and whether index-servers lists name.
func PypircRepository(src []byte, name string) (repository, username string, listed bool) {
	d := parseINI(src)
	repository, _ = d.get(name, "repository")
	username, _ = d.get(name, "username")
	v, ok := d.get("distutils", "index-servers")
	if !ok {
		v = strings.Join(defaultIndexServers, " ")
	}
	return repository, username, slices.Contains(strings.Fields(v), name)
}
