package cli

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/credentials"
	"github.com/wharfhq/wharf/internal/token"
)

// fromArgOrStdin is the value of a bare --token: the token follows as an argument, or comes
// on standard input.
const fromArgOrStdin = "-"

// maxSecretBytes bounds a token read from standard input.
const maxSecretBytes = 4096

// readSecretLine reads a secret as one line of standard input.
func readSecretLine(cmd *cobra.Command, what string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), maxSecretBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	s := strings.TrimSpace(line)
	if s == "" {
		return "", fmt.Errorf("no %s on standard input: send it as one line, e.g. printf '%%s\\n' \"$TOKEN\" | wharf …", what)
	}
	if len(s) > maxSecretBytes {
		return "", fmt.Errorf("the %s on standard input is longer than %d bytes", what, maxSecretBytes)
	}
	return s, nil
}

// plaintextNote says that a channel on plain http to another host sends its credentials in
// the clear (conda-auth refuses those unless told otherwise).
func plaintextNote(cmd *cobra.Command, channel string) {
	u, err := url.Parse(channel)
	if err != nil || u.Scheme != "http" {
		return
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is plain http: the credentials cross the network in the clear; use https\n", channel)
}

type channelView struct {
	Channel     string `json:"channel"`
	Kind        string `json:"kind"`
	Username    string `json:"username,omitempty"`
	SecretStore string `json:"secret_store"`
	// CondaChannel is the name of the custom_channels entry written for conda, Condarc the
	// file it is in; empty when conda was not given the token (not a conda channel's URL).
	CondaChannel string   `json:"conda_channel,omitempty"`
	Condarc      string   `json:"condarc,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
}

// channelArg is the channel URL of wharf auth login and logout: the URL given, or for a bare
// channel name (acme) SERVER/conda/NAME, with the server of --server or --site (WHARF_SERVER,
// WHARF_SITE, the default site). servers are the stored sites' servers and that one.
func channelArg(arg, server, site string) (key string, servers []string, err error) {
	r := remote{server: server, site: site}
	if !strings.Contains(arg, "://") {
		name := strings.Trim(arg, "/")
		if name == "" || strings.ContainsAny(name, " \t:@?#") {
			return "", nil, fmt.Errorf("%q: give the channel's URL (https://HOST/conda/NAME) or its name", arg)
		}
		ep, st, err := r.resolve()
		if err != nil {
			return "", nil, err
		}
		if st == nil && server == "" && os.Getenv("WHARF_SERVER") == "" {
			return "", nil, fmt.Errorf("%q is not a URL, and no server is known to find channel %s on: give the channel's URL (https://HOST/conda/%s), or --server URL, or log in with wharf login first", arg, name, name)
		}
		arg = ep.Server + "/conda/" + name
	}
	key, err = credentials.ChannelKey(arg)
	if err != nil {
		return "", nil, err
	}
	if st, err := credentials.Open(credentials.Options{}); err == nil {
		servers = knownServers(st)
	}
	if server != "" {
		if ep, err := client.ParseServer(server); err == nil {
			servers = append(servers, ep.Server)
		}
	}
	return key, servers, nil
}

func authLoginCmd() *cobra.Command {
	var tok, username, server, site string
	var basic, passwordStdin, asJSON bool
	cmd := &cobra.Command{
		Use:   "login CHANNEL_URL|CHANNEL (--token [TOKEN] | --basic [--username U] [--password-stdin])",
		Short: "Keep credentials for one channel URL (and those under it), as conda-auth does",
		Long: `Keep credentials for one channel URL and the channels under it, as the conda-auth plugin
does: a token (--token), or a username and password (--basic). The secret goes to the OS
keyring, or when there is none to $XDG_CONFIG_HOME/wharf/credentials.json with mode 0600.

A token for a conda channel, SERVER/conda/NAME, is given to conda at once: ~/.condarc gets
custom_channels NAME: SERVER/t/TOKEN/conda (the file is made 0600), with which conda install
-c NAME, -c NAME/label/L and -c SERVER/conda/NAME send this token, and only for that channel;
every other channel keeps the server's token of wharf setup conda. A subchannel's or label's
URL is refused: conda cannot keep a token for it apart from its channel. Tokens for other URLs
(SERVER/pypi/NAME/simple, SERVER/pypi/NAME) are for wharf setup pip and twine, given that
channel and no other token.

CHANNEL may be a channel's bare name (acme) when a server is known: --server, --site, or the
default site of wharf login; it means SERVER/conda/NAME.

The token is the argument after --token (or --token=TOKEN), else one line of standard input.
The password of --basic comes from standard input with --password-stdin, else from
WHARF_PASSWORD. Credentials or a /t/TOKEN segment in CHANNEL_URL are not part of its key.`,
		Example: `  wharf auth login https://wharf.example.com/conda/acme --token "$(cat ci.token)"
  wharf auth login acme --token "$(cat ci.token)"      # a channel of the default site's server
  wharf auth --create --name laptop --scopes conda:download | wharf auth login https://wharf.example.com/conda/acme --token
  printf '%s\n' "$PW" | wharf auth login https://wharf.example.com/pypi/acme --basic -u bob --password-stdin
  wharf auth logout https://wharf.example.com/conda/acme`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			useToken := cmd.Flags().Changed("token")
			if useToken == basic {
				return errors.New("say which credentials to keep: --token [TOKEN] or --basic")
			}
			if len(args) == 2 && (!useToken || tok != fromArgOrStdin) {
				return fmt.Errorf("unexpected argument after the channel URL: only a bare --token takes the token as an argument")
			}
			if useToken && (username != "" || passwordStdin) {
				return errors.New("--username and --password-stdin go with --basic")
			}
			key, servers, err := channelArg(args[0], server, site)
			if err != nil {
				return err
			}
			u, err := url.Parse(args[0])
			if err != nil {
				u = &url.URL{}
			}
			c := credentials.Channel{URL: key}
			if useToken {
				c.Kind = credentials.KindToken
				switch {
				case tok != fromArgOrStdin && tok != "":
					c.Secret = tok
				case len(args) == 2:
					c.Secret = args[1]
				case stdinIsTerminal(cmd):
					if c.Secret, err = promptSecret(cmd, "Token for "+key); err != nil {
						return err
					}
				default:
					if c.Secret, err = readSecretLine(cmd, "token"); err != nil {
						return err
					}
				}
				c.Secret = strings.TrimSpace(c.Secret)
				if c.Secret == "" {
					return errors.New("--token: the token is empty")
				}
				if token.Looks(c.Secret) {
					if _, err := token.Parse(c.Secret); err != nil {
						return fmt.Errorf("--token: %w; copy the token whole (it starts with wrfs- or wrfr-)", err)
					}
				}
			} else {
				c.Kind = credentials.KindBasic
				c.Username = cmp.Or(username, os.Getenv("WHARF_USERNAME"), u.User.Username())
				if c.Username == "" {
					return errors.New("--basic: name the account with --username NAME (or WHARF_USERNAME)")
				}
				urlPW, _ := u.User.Password()
				switch {
				case passwordStdin:
					if c.Secret, err = readPassword(cmd); err != nil {
						return err
					}
				case os.Getenv("WHARF_PASSWORD") != "":
					c.Secret = os.Getenv("WHARF_PASSWORD")
				case urlPW != "" && u.User.Username() == c.Username:
					c.Secret = urlPW
				default:
					return errors.New("--basic: give the password on standard input with --password-stdin, or in WHARF_PASSWORD")
				}
			}
			// A conda channel's token goes to ~/.condarc too: planned (and checked) before
			// anything is kept, written after.
			var rc *clientconfig.Change
			var view channelView
			condaServer, condaChannel, isConda := condaChannelOf(key, servers)
			if isConda && c.Kind == credentials.KindToken {
				if strings.Contains(condaChannel, "/") {
					return errCondaSubchannel(condaServer, condaChannel)
				}
				if clientconfig.CondaURLToken("/t/"+c.Secret) != c.Secret {
					return errors.New("--token: conda reads a token in a URL only up to its first character other than a letter, a digit or -, and this one has others: use a Wharf token (wrfs-… or wrfr-…)")
				}
				env, err := clientEnv()
				if err != nil {
					return err
				}
				plan, err := plannedFile(env.Condarc(), true)
				if err != nil {
					return err
				}
				plan.Backup = false // a backup would keep tokens that logout takes out
				plan.New = plan.Old
				set := []clientconfig.CondaCustomChannel{{Name: condaChannel, URL: clientconfig.CondaCustomChannelURL(condaServer, c.Secret)}}
				if view.Warnings, err = planCustomChannels(&plan, condaServer, set, nil, false); err != nil {
					return err
				}
				view.Warnings = append(view.Warnings, condaTokenFileWarnings(env, condaServer)...)
				plan.Secret = c.Secret
				rc, view.CondaChannel, view.Condarc = &plan, condaChannel, plan.Path
			}
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			saved, err := st.SaveChannel(c)
			if err != nil {
				return err
			}
			if rc != nil {
				if _, err := clientconfig.Apply(*rc, time.Now()); err != nil {
					return fmt.Errorf("kept the token for %s, but could not give it to conda: writing %s: %w", saved.URL, rc.Path, err)
				}
			}
			plaintextNote(cmd, saved.URL)
			view.Channel, view.Kind, view.Username, view.SecretStore = saved.URL, saved.Kind, saved.Username, saved.SecretStore
			if asJSON {
				return printJSON(cmd, view)
			}
			for _, w := range view.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "wharf: warning: "+w)
			}
			what := "a token"
			if saved.Kind == credentials.KindBasic {
				what = "the password of " + saved.Username
			}
			say(cmd, "kept %s for %s (and the channels under it) in %s", what, saved.URL, where(st, saved.SecretStore))
			switch {
			case rc != nil:
				say(cmd, "conda install -c %s (or -c %s) now sends it, and only for that channel: custom_channels %s in %s", condaChannel, saved.URL, condaChannel, rc.Path)
			case isConda:
				say(cmd, "conda reads a username and password from ~/.netrc or the channel's URL, not from here")
			case saved.Kind == credentials.KindToken:
				say(cmd, "wharf setup pip (or twine) CHANNEL --server URL writes it where the client reads it")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&tok, "token", "", "keep a `TOKEN`: the argument after --token, --token=TOKEN, or one line of standard input")
	f.Lookup("token").NoOptDefVal = fromArgOrStdin
	f.BoolVar(&basic, "basic", false, "keep a username and password (HTTP Basic)")
	f.StringVarP(&username, "username", "u", "", "with --basic: the account `NAME` [WHARF_USERNAME]")
	f.BoolVar(&passwordStdin, "password-stdin", false, "with --basic: read the password from standard input (else WHARF_PASSWORD)")
	f.StringVar(&server, "server", "", "with a bare CHANNEL name: the server `URL` (default: WHARF_SERVER, else the default site's) [WHARF_SERVER]")
	f.StringVar(&site, "site", "", "with a bare CHANNEL name: the server of site `NAME` [WHARF_SITE]")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func authLogoutCmd() *cobra.Command {
	var server, site string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "logout CHANNEL_URL|CHANNEL",
		Short: "Forget the credentials kept for a channel URL by wharf auth login",
		Long: `Forget the credentials wharf auth login kept for exactly this channel URL, and for a conda
channel take its custom_channels entry out of ~/.condarc, so that conda goes back to the
server's token for it (a token made on the server stays valid there: revoke it with wharf auth
--remove NAME). CHANNEL may be a bare name, as for wharf auth login.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, servers, err := channelArg(args[0], server, site)
			if err != nil {
				return err
			}
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			var secret string // the token forgotten, to find it in the server's token file
			if kept, err := st.Channel(key); err == nil && kept.URL == key && kept.Kind == credentials.KindToken {
				secret = kept.Secret
			}

			// conda: the channel's entry goes (whether or not the store still had it), and the
			// server's token file too when an older wharf setup conda put this token there.
			var changes []clientconfig.Change
			condaServer, condaChannel, isConda := condaChannelOf(key, servers)
			if isConda && !strings.Contains(condaChannel, "/") {
				env, err := clientEnv()
				if err != nil {
					return err
				}
				rc, err := plannedFile(env.Condarc(), false)
				if err != nil {
					return err
				}
				rc.Backup = false // it would keep the token logout takes out
				rc.New = rc.Old
				if _, err := planCustomChannels(&rc, condaServer, nil, []string{condaChannel}, false); err != nil {
					return err
				}
				rc.RemovedIfEmpty("") // nothing left: as before auth login made it
				if rc.Changed() {
					changes = append(changes, rc)
				}
				if secret != "" {
					kept := []clientconfig.CondaCustomChannel{{Name: condaChannel, URL: clientconfig.CondaCustomChannelURL(condaServer, secret)}}
					if stale, _, ok, err := staleServerTokenFile(env, condaServer, kept); err != nil {
						return err
					} else if ok {
						stale.Keys = []string{"removed: it held this token (an older wharf setup conda put it there), which conda sent to every channel of " + condaServer}
						changes = append(changes, stale)
					}
				}
			}
			c, err := st.RemoveChannel(key)
			if err != nil && !(isNotFound(err) && len(changes) > 0) {
				if isNotFound(err) {
					var known []string
					for _, ch := range st.Channels() {
						known = append(known, ch.URL)
					}
					if len(known) > 0 {
						return fmt.Errorf("%w; credentials are kept for: %s", err, strings.Join(known, ", "))
					}
				}
				return err
			}
			removed := err == nil
			var files []string
			for _, ch := range changes {
				if _, err := clientconfig.Apply(ch, time.Now()); err != nil {
					return fmt.Errorf("writing %s: %w", ch.Path, err)
				}
				files = append(files, ch.Path)
			}
			if asJSON {
				out := map[string]any{"channel": key, "kind": c.Kind, "removed": removed}
				if len(files) > 0 {
					out["files"] = files
				}
				return printJSON(cmd, out)
			}
			if removed {
				say(cmd, "forgot the credentials for %s", c.URL)
			}
			for _, ch := range changes {
				say(cmd, "updated %s (%s)", ch.Path, strings.Join(ch.Keys, "; "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "with a bare CHANNEL name: the server `URL` (default: WHARF_SERVER, else the default site's) [WHARF_SERVER]")
	cmd.Flags().StringVar(&site, "site", "", "with a bare CHANNEL name: the server of site `NAME` [WHARF_SITE]")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
