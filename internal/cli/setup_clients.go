package cli

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/credentials"
)

func setupCondaCmd() *cobra.Command {
	o := setupOpts{tokenOptional: true}
	return setupClientCmd(&cobra.Command{
		Use:   "conda [CHANNEL…] [--server URL --token TOKEN] [--dry-run] [--remove]",
		Short: "Make `conda install -c CHANNEL` use the server, with the token",
		Long: `Write the token file conda reads for the server's conda URL (SERVER/conda/), and set
channel_alias: SERVER/conda in ~/.condarc, so that conda install -c CHANNEL reads the
server's channel with the token. The channels named are put first in channels: (with
defaults after them when the file had no channels). Each token wharf auth login kept for a
channel of the server goes to ~/.condarc as custom_channels NAME: SERVER/t/TOKEN/conda (the
file is then made 0600), so that conda sends it for that channel, and the server's token for
the others. Without a token of its own (no wharf login, --token or WHARF_TOKEN), setup writes
only those. --remove deletes the token file, the channel_alias (when it is the server's), the
channels named and the server's custom_channels entries.`,
	}, &o, "conda",
		func(args []string, t setupTarget, env clientconfig.Env, res *setupResult) ([]clientconfig.Change, error) {
			channels := make([]string, len(args))
			for i, a := range args {
				channels[i] = strings.Trim(a, "/")
			}
			alias := clientconfig.CondaChannelAlias(t.server)
			tokenURL := clientconfig.CondaTokenURL(t.server)
			st, err := credentials.Open(credentials.Options{})
			if err != nil {
				return nil, err
			}
			kept, err := keptCondaTokens(st, t.server)
			if err != nil {
				return nil, err
			}
			if t.token == "" && len(kept) == 0 && !o.remove {
				return nil, errNoToken(t.server)
			}

			var changes []clientconfig.Change
			switch stale, channel, isStale, err := staleServerTokenFile(env, t.server, kept); {
			case err != nil:
				return nil, err
			case o.remove || t.token != "":
				tok, err := plannedFile(filepath.Join(env.CondaTokenDir(), clientconfig.CondaTokenFile(tokenURL)), true)
				if err != nil {
					return nil, err
				}
				tok.Backup = false // conda's own token file: replaced, never copied about
				tok.Keys = []string{"token for " + tokenURL}
				if o.remove {
					tok.Delete = true
				} else {
					tok.New, tok.Secret = []byte(t.token), t.token // raw: conda reads the file as is
				}
				changes = append(changes, tok)
			case isStale:
				// Written by an older wharf setup conda from the token kept for channel; conda
				// sent it to every channel of the server. It now goes to that channel alone.
				stale.Keys = []string{"token for " + tokenURL + " removed: it held the token kept for " + channel + ", which now serves that channel alone"}
				changes = append(changes, stale)
			}

			rc, err := plannedFile(env.Condarc(), false)
			if err != nil {
				return nil, err
			}
			oldAlias, oldChannels, err := clientconfig.CondarcValues(rc.Old)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rc.Path, err)
			}
			if o.remove {
				if rc.New, err = clientconfig.RemoveFromCondarc(rc.Old, alias, channels); err != nil {
					return nil, fmt.Errorf("%s: %w", rc.Path, err)
				}
				if strings.TrimRight(oldAlias, "/") == alias {
					rc.Keys = append(rc.Keys, "channel_alias removed")
				}
				for _, c := range channels {
					if slices.Contains(oldChannels, c) {
						rc.Keys = append(rc.Keys, "channels -"+c)
					}
				}
				if _, err := planCustomChannels(&rc, t.server, nil, nil, true); err != nil {
					return nil, err
				}
				rc.RemovedIfEmpty("") // its Keys are above
			} else {
				if rc.New, err = clientconfig.EditCondarc(rc.Old, alias, channels); err != nil {
					return nil, fmt.Errorf("%s: %w", rc.Path, err)
				}
				if strings.TrimRight(oldAlias, "/") != alias {
					rc.Keys = append(rc.Keys, "channel_alias: "+alias)
					if oldAlias != "" {
						res.warn(fmt.Sprintf("channel_alias was %s; channels named without a URL now come from %s", redactURLToken(oldAlias), alias))
					}
				}
				for _, c := range channels {
					if !slices.Contains(oldChannels, c) {
						rc.Keys = append(rc.Keys, "channels +"+c)
					}
				}
				warnings, err := planCustomChannels(&rc, t.server, kept, nil, false)
				if err != nil {
					return nil, err
				}
				res.Warnings = append(res.Warnings, warnings...)
				if _, now, err := clientconfig.CondarcValues(rc.New); err == nil {
					var others []string
					for _, c := range now {
						if c != "defaults" && !slices.Contains(channels, c) && !strings.Contains(c, "://") && !strings.HasPrefix(c, "/") &&
							!slices.ContainsFunc(kept, func(k clientconfig.CondaCustomChannel) bool { return k.Name == c }) {
							others = append(others, c)
						}
					}
					if len(others) > 0 {
						res.warn(fmt.Sprintf("with channel_alias %s, the channels %s also resolve to %s/…; give them as URLs (https://conda.anaconda.org/%s) if they live elsewhere",
							alias, strings.Join(others, ", "), alias, others[0]))
					}
				}
				if t.token != "" {
					res.Warnings = append(res.Warnings, condaTokenFileWarnings(env, t.server)...)
				}
			}
			changes = append(changes, rc)
			name := "CHANNEL"
			if len(channels) > 0 {
				name = channels[0]
			}
			switch {
			case o.remove:
			case t.token == "":
				names := make([]string, len(kept))
				for i, k := range kept {
					names[i] = k.Name
				}
				res.Next = fmt.Sprintf("conda install -c %s PACKAGE now reads %s/%s with the token kept for it (other channels of the server without a token: wharf login, or --token, gives them one)", names[0], alias, names[0])
			default:
				res.Next = fmt.Sprintf("conda install -c %s PACKAGE now reads %s/%s with the token", name, alias, name)
				if slices.ContainsFunc(kept, func(k clientconfig.CondaCustomChannel) bool { return k.Name == name }) {
					res.Next = fmt.Sprintf("conda install -c %s PACKAGE now reads %s/%s with the token wharf auth login kept for it", name, alias, name)
				}
			}
			return changes, nil
		})
}

func setupPipCmd() *cobra.Command {
	var o setupOpts
	var netrc bool
	cmd := setupClientCmd(&cobra.Command{
		Use:   "pip [CHANNEL] [--netrc] [--server URL --token TOKEN] [--dry-run] [--remove]",
		Short: "Make pip install from a channel, with the token",
		Long: `Set [global] index-url in pip's user configuration (~/.config/pip/pip.conf) to the
channel's index, SERVER/pypi/CHANNEL/simple/, with the token in it as
__token__:TOKEN@ (the file is made 0600), or with --netrc the index without credentials
and the token in ~/.netrc (machine HOST login __token__ password TOKEN). CHANNEL defaults
to the token owner's own channel. --remove takes the index-url out when it is the
server's, and with --netrc the .netrc entry too.`,
		Args: cobra.MaximumNArgs(1),
	}, &o, "pip",
		func(args []string, t setupTarget, env clientconfig.Env, res *setupResult) ([]clientconfig.Change, error) {
			host := ""
			if u, err := url.Parse(t.server); err == nil {
				host = u.Hostname()
			}
			var changes []clientconfig.Change
			pc, err := plannedFile(env.PipConf(), false)
			if err != nil {
				return nil, err
			}
			if o.remove {
				pc.New = clientconfig.RemoveFromPipConf(pc.Old, t.server)
				pc.RemovedIfEmpty("[global] index-url removed")
			} else {
				channel, err := t.channelArg(args)
				if err != nil {
					return nil, err
				}
				withToken := t.token
				if netrc {
					withToken = ""
				}
				index, err := clientconfig.PipIndexURL(t.server, channel, withToken)
				if err != nil {
					return nil, err
				}
				var warnings []string
				if pc.New, warnings, err = clientconfig.EditPipConf(pc.Old, index); err != nil {
					return nil, fmt.Errorf("%s: %w", pc.Path, err)
				}
				res.Warnings = append(res.Warnings, warnings...)
				plain, _ := clientconfig.PipIndexURL(t.server, channel, "")
				pc.Keys = []string{"[global] index-url = " + plain}
				if !netrc {
					pc.Mode, pc.Secret = 0o600, t.token
					pc.Keys[0] = "[global] index-url = " + strings.Replace(plain, "://", "://__token__:<token>@", 1)
				}
				res.Next = fmt.Sprintf("pip install PACKAGE now reads %s", plain)
				for _, v := range []string{"PIP_INDEX_URL", "PIP_CONFIG_FILE"} {
					if os.Getenv(v) != "" {
						res.warn(fmt.Sprintf("%s is set and wins over %s; unset it", v, pc.Path))
					}
				}
			}
			changes = append(changes, pc)
			if netrc {
				nc, err := plannedFile(env.NetrcPath(), true)
				if err != nil {
					return nil, err
				}
				if o.remove {
					nc.New = clientconfig.RemoveFromNetrc(nc.Old, host, clientconfig.TokenUser)
					nc.RemovedIfEmpty("machine " + host + " removed")
				} else {
					if login, ok := clientconfig.NetrcLogin(nc.Old, host); ok && login != clientconfig.TokenUser {
						res.warn(fmt.Sprintf("the .netrc entry of %s (login %s) is replaced by the token; the old one is in the backup", host, login))
					}
					if nc.New, err = clientconfig.EditNetrc(nc.Old, host, clientconfig.TokenUser, t.token); err != nil {
						return nil, fmt.Errorf("%s: %w", nc.Path, err)
					}
					nc.Secret = t.token
					nc.Keys = []string{"machine " + host + " login " + clientconfig.TokenUser + " password <token>"}
				}
				changes = append(changes, nc)
			}
			return changes, nil
		})
	cmd.Flags().BoolVar(&netrc, "netrc", false, "keep the token in ~/.netrc, not in pip.conf's index URL [NETRC: another file]")
	return cmd
}

func setupTwineCmd() *cobra.Command {
	var o setupOpts
	var name string
	cmd := setupClientCmd(&cobra.Command{
		Use:   "twine [CHANNEL] [--repository NAME] [--server URL --token TOKEN] [--dry-run] [--remove]",
		Short: "Make `twine upload --repository NAME` upload to a channel, with the token",
		Long: `Add the repository NAME (default wharf) to ~/.pypirc: in [distutils] index-servers, and as
[NAME] with repository = SERVER/pypi/CHANNEL/, username = __token__ and the token as
password; the file is made 0600. CHANNEL defaults to the token owner's own channel.
Then: twine upload --repository NAME dist/*. --remove takes [NAME] out when it is the
server's.`,
		// The name is checked before the server and token are looked for.
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.MaximumNArgs(1)(cmd, args); err != nil {
				return err
			}
			if name == "" || strings.ContainsAny(name, "[]\n\r\t ") || name == "distutils" || name == "server-login" {
				return fmt.Errorf("--repository %q: give a name of letters, digits, -, _ or . (not distutils or server-login)", name)
			}
			return nil
		},
	}, &o, "twine",
		func(args []string, t setupTarget, env clientconfig.Env, res *setupResult) ([]clientconfig.Change, error) {
			pr, err := plannedFile(env.Pypirc(), true)
			if err != nil {
				return nil, err
			}
			if o.remove {
				var ok bool
				pr.New, ok = clientconfig.RemoveFromPypirc(pr.Old, name, t.server)
				if !ok {
					res.warn(fmt.Sprintf("[%s] in %s is a repository of another server; left alone", name, pr.Path))
				}
				pr.RemovedIfEmpty("[" + name + "] removed")
			} else {
				channel, err := t.channelArg(args)
				if err != nil {
					return nil, err
				}
				repo := clientconfig.TwineRepositoryURL(t.server, channel)
				if r, _, _ := clientconfig.PypircRepository(pr.Old, name); r != "" && r != repo {
					res.warn(fmt.Sprintf("[%s] in %s was %s; now %s", name, pr.Path, r, repo))
				}
				if pr.New, err = clientconfig.EditPypirc(pr.Old, name, repo, t.token); err != nil {
					return nil, fmt.Errorf("%s: %w", pr.Path, err)
				}
				pr.Secret = t.token
				pr.Keys = []string{"[distutils] index-servers +" + name, "[" + name + "] repository = " + repo, "username = __token__", "password = <token>"}
				res.Next = fmt.Sprintf("twine upload --repository %s dist/* now uploads to %s", name, repo)
			}
			return []clientconfig.Change{pr}, nil
		})
	cmd.Flags().StringVar(&name, "repository", "wharf", "the repository's name in ~/.pypirc (twine upload --repository NAME)")
	return cmd
}
