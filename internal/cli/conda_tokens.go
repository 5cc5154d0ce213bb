package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/credentials"
)

// How conda gets the tokens wharf keeps (see clientconfig's custom_channels notes for why):
//
//   - the login-wide token (wharf login's, or --token of wharf setup conda) in conda's token
//     file for SERVER/conda/, the one token file wharf writes for a server;
//   - each token wharf auth login keeps for a channel SERVER/conda/NAME as the custom_channels
//     entry NAME: SERVER/t/TOKEN/conda in ~/.condarc, which conda puts in the channel's URLs, so
//     that the token file is never read for that channel.
//
// wharf auth login and logout write and take out the entry at once; wharf setup conda writes
// the entries of every token kept for its server (so files of older versions are brought up to
// date) and --remove takes them out.

// condaChannelOf splits a channel URL, as credentials.ChannelKey gives it, into the Wharf server
// and the channel's path under SERVER/conda/. The server is the longest of servers that the URL
// starts with, followed by /conda/, else what comes before the URL's first /conda/ segment.
func condaChannelOf(key string, servers []string) (server, channel string, ok bool) {
	for _, s := range servers {
		s = strings.TrimRight(s, "/")
		if rest, found := strings.CutPrefix(key, s+"/conda/"); found && rest != "" && len(s) > len(server) {
			server, channel = s, rest
		}
	}
	if server != "" {
		return server, channel, true
	}
	i := strings.Index(key, "://")
	if i < 0 {
		return "", "", false
	}
	j := strings.Index(key[i+3:], "/conda/")
	if j < 0 {
		return "", "", false
	}
	server, channel = key[:i+3+j], key[i+3+j+len("/conda/"):]
	return server, channel, channel != ""
}

// knownServers are the servers of the stored sites.
func knownServers(st *credentials.Store) []string {
	var out []string
	for _, s := range st.Sites() {
		out = append(out, s.Server)
	}
	return out
}

// keptCondaTokens are the tokens wharf auth login kept for top-level conda channels of server
// (SERVER/conda/NAME), as custom_channels entries, by name.
func keptCondaTokens(st *credentials.Store, server string) ([]clientconfig.CondaCustomChannel, error) {
	var out []clientconfig.CondaCustomChannel
	for _, c := range st.Channels() {
		name, ok := strings.CutPrefix(c.URL, strings.TrimRight(server, "/")+"/conda/")
		if !ok || c.Kind != credentials.KindToken || name == "" || strings.Contains(name, "/") {
			continue
		}
		full, err := st.Channel(c.URL)
		if err != nil {
			return nil, err
		}
		out = append(out, clientconfig.CondaCustomChannel{Name: name, URL: clientconfig.CondaCustomChannelURL(server, full.Secret)})
	}
	return out, nil
}

// errCondaSubchannel says why conda cannot be given a token for a subchannel or a label.
func errCondaSubchannel(server, channel string) error {
	top, _, _ := strings.Cut(channel, "/")
	return fmt.Errorf("%s/conda/%s is a subchannel or label: conda cannot keep a token for it apart from %s (an entry of custom_channels for %s would also catch every request for %s, and a token file would compete with the server's); keep one for the channel, wharf auth login %s/conda/%s --token (a token that reaches %s serves it), or give conda the token in the URL: conda install -c %s/t/TOKEN/conda/%s",
		server, channel, top, channel, top, server, top, channel, server, channel)
}

// planCustomChannels edits rc.New (a planned ~/.condarc: rc.Old, or what earlier edits made of
// it, which may be nothing at all) so that custom_channels holds set, as entries of server,
// and none of server's entries named in remove (all of them when removeAll). It refuses to
// replace an entry of the same name that points elsewhere, and entries that would nest with
// one set.
func planCustomChannels(rc *clientconfig.Change, server string, set []clientconfig.CondaCustomChannel, remove []string, removeAll bool) (warnings []string, err error) {
	src := rc.New
	have, err := clientconfig.CondarcCustomChannels(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rc.Path, err)
	}
	loc := clientconfig.CondaChannelAlias(server)
	ours := func(c clientconfig.CondaCustomChannel) bool { return clientconfig.CondaLocation(c.URL) == loc }
	for _, s := range set {
		for _, h := range have {
			switch {
			case h.Name == s.Name && !ours(h):
				return nil, fmt.Errorf("custom_channels %s in %s is %s: conda knows one channel of that name; take that entry out first (wharf auth logout %s/%s if wharf wrote it)",
					h.Name, rc.Path, redactURLToken(h.URL), strings.TrimRight(clientconfig.CondaLocation(h.URL), "/"), h.Name)
			case strings.HasPrefix(h.Name, s.Name+"/") && clientconfig.CondaLocation(h.URL) == loc:
				return nil, fmt.Errorf("custom_channels %s in %s is under %s: conda would take it for every request of %s too; take it out first", h.Name, rc.Path, s.Name, s.Name)
			}
		}
	}
	var drop []string
	for _, h := range have {
		if (removeAll || slices.Contains(remove, h.Name)) && ours(h) && !slices.ContainsFunc(set, func(s clientconfig.CondaCustomChannel) bool { return s.Name == h.Name }) {
			drop = append(drop, h.Name)
		}
	}
	out, err := clientconfig.EditCondarcCustomChannels(src, set, drop)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rc.Path, err)
	}
	rc.New = out
	for _, s := range set {
		i := slices.IndexFunc(have, func(h clientconfig.CondaCustomChannel) bool { return h.Name == s.Name })
		switch {
		case i < 0:
			rc.Keys = append(rc.Keys, "custom_channels +"+s.Name+": "+redactURLToken(s.URL))
		case have[i].URL != s.URL:
			rc.Keys = append(rc.Keys, "custom_channels "+s.Name+": "+redactURLToken(s.URL))
		}
	}
	for _, d := range drop {
		rc.Keys = append(rc.Keys, "custom_channels -"+d)
	}
	if len(set) > 0 {
		rc.Mode = 0o600 // it holds tokens now
		// conda read another server's channel of that name until now: channel_alias's, or
		// with none set conda's default (conda/base/constants.py DEFAULT_CHANNEL_ALIAS).
		if alias, _, err := clientconfig.CondarcValues(out); err == nil && clientconfig.CondaLocation(alias) != loc {
			what := "channel_alias is " + redactURLToken(alias)
			if alias == "" {
				alias = "https://conda.anaconda.org"
				what = "channel_alias is not set (conda's default is " + alias + ")"
			}
			warnings = append(warnings, fmt.Sprintf("%s: conda install -c %s now reads %s/%s (custom_channels comes before channel_alias); other channel names still go to %s",
				what, set[0].Name, loc, set[0].Name, redactURLToken(alias)))
		}
	}
	return warnings, nil
}

// redactURLToken shows a URL with its /t/TOKEN as /t/<token>.
func redactURLToken(u string) string {
	if tok := clientconfig.CondaURLToken(u); tok != "" {
		return strings.Replace(u, "/t/"+tok, "/t/<token>", 1)
	}
	return u
}

// condaTokenFileWarnings names the token files that conda could take instead of the server's
// (SERVER/conda/), or the server's instead of them: with two files that match one URL, the
// token conda sends depends on the order the directory lists them.
func condaTokenFileWarnings(env clientconfig.Env, server string) []string {
	dir := env.CondaTokenDir()
	files, err := clientconfig.CondaTokenFiles(dir)
	if err != nil {
		return []string{fmt.Sprintf("could not read conda's token directory %s: %v", dir, err)}
	}
	url := clientconfig.CondaTokenURL(server)
	var out []string
	for _, f := range clientconfig.CondaTokenFileOverlaps(files, url) {
		out = append(out, fmt.Sprintf("conda's token file %s (for %s) and the one for %s both match some of the server's URLs, and conda takes whichever the directory lists first: remove one of them (keep a token for one channel with wharf auth login CHANNEL_URL --token instead)",
			filepath.Join(dir, f.Name), f.URL, url))
	}
	return out
}

// staleServerTokenFile plans the removal of the server's token file when it holds one of the
// channel tokens kept (an older wharf setup conda wrote a channel's token there when it had no
// other, and conda then sent it to every channel of the server). ok is false when the file is
// not there or holds another token.
func staleServerTokenFile(env clientconfig.Env, server string, kept []clientconfig.CondaCustomChannel) (c clientconfig.Change, channel string, ok bool, err error) {
	path := filepath.Join(env.CondaTokenDir(), clientconfig.CondaTokenFile(clientconfig.CondaTokenURL(server)))
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, "", false, nil
	}
	if err != nil {
		return c, "", false, err
	}
	for _, k := range kept {
		if tok := strings.TrimSpace(string(b)); tok != "" && clientconfig.CondaURLToken(k.URL) == tok {
			c, err = plannedFile(path, true)
			c.Backup, c.Delete = false, true
			return c, k.Name, err == nil, err
		}
	}
	return c, "", false, nil
}
