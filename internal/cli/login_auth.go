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

	"github.com/spf13/cobra"

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
}

func authLoginCmd() *cobra.Command {
	var tok, username string
	var basic, passwordStdin, asJSON bool
	cmd := &cobra.Command{
		Use:   "login CHANNEL_URL (--token [TOKEN] | --basic [--username U] [--password-stdin])",
		Short: "Keep credentials for one channel URL (and those under it), as conda-auth does",
		Long: `Keep credentials for one channel URL and the channels under it, as the conda-auth plugin
does: a token (--token), or a username and password (--basic). A token is for wharf setup:
given that channel (or one under it) and no other token (--token, WHARF_TOKEN, a site of wharf
login), it writes the token where conda, pip and twine read it. The secret goes to the OS
keyring, or when there is none to $XDG_CONFIG_HOME/wharf/credentials.json with mode 0600.

The token is the argument after --token (or --token=TOKEN), else one line of standard input.
The password of --basic comes from standard input with --password-stdin, else from
WHARF_PASSWORD. Credentials or a /t/TOKEN segment in CHANNEL_URL are not part of its key.`,
		Example: `  wharf auth login https://wharf.example.com/conda/acme --token "$(cat ci.token)"
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
			u, err := url.Parse(args[0])
			if err != nil {
				u = &url.URL{}
			}
			c := credentials.Channel{URL: args[0]}
			if useToken {
				c.Kind = credentials.KindToken
				switch {
				case tok != fromArgOrStdin && tok != "":
					c.Secret = tok
				case len(args) == 2:
					c.Secret = args[1]
				case stdinIsTerminal(cmd):
					if c.Secret, err = promptSecret(cmd, "Token for "+args[0]); err != nil {
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
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			saved, err := st.SaveChannel(c)
			if err != nil {
				return err
			}
			plaintextNote(cmd, saved.URL)
			if asJSON {
				return printJSON(cmd, channelView{Channel: saved.URL, Kind: saved.Kind, Username: saved.Username, SecretStore: saved.SecretStore})
			}
			what := "a token"
			if saved.Kind == credentials.KindBasic {
				what = "the password of " + saved.Username
			}
			say(cmd, "kept %s for %s (and the channels under it) in %s", what, saved.URL, where(st, saved.SecretStore))
			if saved.Kind == credentials.KindToken {
				say(cmd, "wharf setup conda (or pip, twine) CHANNEL --server URL writes it where the client reads it")
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
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func authLogoutCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "logout CHANNEL_URL",
		Short: "Forget the credentials kept for a channel URL by wharf auth login",
		Long: `Forget the credentials wharf auth login kept for exactly this channel URL (a token made
on the server stays valid there: revoke it with wharf auth --remove NAME).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			c, err := st.RemoveChannel(args[0])
			if err != nil {
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
			if asJSON {
				return printJSON(cmd, map[string]any{"channel": c.URL, "kind": c.Kind, "removed": true})
			}
			say(cmd, "forgot the credentials for %s", c.URL)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
