package cli

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/credentials"
)

// loginScopes are the scopes of the token wharf login makes unless --scopes says otherwise:
// conda, pip and twine (repos) and every wharf command (api).
const loginScopes = "repos api"

// stdinIsTerminal says whether the command reads a terminal, where no password can be piped
// (promptSecret reads os.Stdin).
func stdinIsTerminal(cmd *cobra.Command) bool {
	return cmd.InOrStdin() == os.Stdin && isTerminal(os.Stdin)
}

// splitScopes splits --scopes values, each space- or comma-separated, into scopes.
func splitScopes(values []string) []string {
	var scopes []string
	for _, s := range values {
		scopes = append(scopes, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
	}
	return scopes
}

// hostTokenName is the name wharf login gives this machine's token: wharf-<short hostname>.
func hostTokenName() string {
	h, _ := os.Hostname()
	h, _, _ = strings.Cut(strings.ToLower(h), ".")
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, h)
	if len(h) > 60 {
		h = h[:60]
	}
	if h == "" {
		h = "host"
	}
	return "wharf-" + h
}

// freeTokenName is base, or base-2, base-3, … : the first not in taken.
func freeTokenName(base string, taken map[string]bool) string {
	if !taken[base] {
		return base
	}
	for i := 2; ; i++ {
		if n := base + "-" + strconv.Itoa(i); !taken[n] {
			return n
		}
	}
}

// siteNameFor is the name of a new site for a server: its host, with the port when there is one.
func siteNameFor(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "default"
	}
	return strings.ToLower(u.Host)
}

func isStatus(err error, status ...int) bool {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, s := range status {
		if ae.Status == s {
			return true
		}
	}
	return false
}

type loginOpts struct {
	server, site, username, expires string
	scopes                          []string
	passwordStdin, asJSON           bool
}

func loginCmd() *cobra.Command {
	var o loginOpts
	cmd := &cobra.Command{
		Use:   "login [--server URL] [--site NAME] [--username U] [--password-stdin] [--scopes 'SCOPE …'] [--expires WHEN]",
		Short: "Sign in once: make a token for this machine and keep it for later commands",
		Long: `Sign in to a server with your username and password, and keep a token made for this
machine (named wharf-<hostname>, scopes '` + loginScopes + `' unless --scopes says otherwise) as a
site. The site becomes the default: from then on, remote commands need no credentials on their
command line or in the environment, and wharf setup writes the token where conda, pip and twine
read it.

The password comes from standard input with --password-stdin, else from WHARF_PASSWORD; it is
sent once, to make the token, and never kept. The token goes to the OS keyring, or when there is
none to $XDG_CONFIG_HOME/wharf/credentials.json with mode 0600 (wharf says so when it does).

Logging in again to the same site makes a new token and revokes the one it replaces.`,
		Example: `  printf '%s\n' "$PASSWORD" | wharf login --server https://wharf.example.com --username alice --password-stdin
  WHARF_PASSWORD=… wharf login --server http://127.0.0.1:8080 --site local -u admin --expires 30d
  wharf whoami`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "server `URL` (default: WHARF_SERVER, else the server of --site or of the default site, else "+defaultServer+") [WHARF_SERVER]")
	f.StringVar(&o.site, "site", "", "keep the login as site `NAME` (default: the site of that server, else its host name)")
	f.StringVarP(&o.username, "username", "u", "", "your account `NAME` (default: WHARF_USERNAME, else the site's) [WHARF_USERNAME]")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from standard input (else WHARF_PASSWORD)")
	f.StringArrayVarP(&o.scopes, "scopes", "s", nil, "the token's `SCOPES`, space- or comma-separated (default '"+loginScopes+"'; see wharf auth --list-scopes)")
	f.StringVar(&o.expires, "expires", "", "`WHEN` the token expires: days (90d), a date or an RFC 3339 time (default: the server's, a year)")
	f.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (o *loginOpts) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if err := checkScopes(splitScopes(o.scopes)); err != nil { // before the password is asked for
		return err
	}
	st, err := openStore(cmd)
	if err != nil {
		return err
	}

	// The site and server: --site and --server, else what is stored, else the defaults.
	var old *credentials.Site
	if o.site != "" {
		if s, err := st.SiteInfo(o.site); err == nil {
			old = &s
		}
	}
	server := cmp.Or(o.server, os.Getenv("WHARF_SERVER"))
	if server == "" {
		switch {
		case old != nil:
			server = old.Server
		case o.site == "" && st.Default() != "":
			if s, err := st.SiteInfo(st.Default()); err == nil {
				old, server = &s, s.Server
			}
		}
	}
	server = cmp.Or(server, defaultServer)
	ep, err := client.ParseServer(server)
	if err != nil {
		return err
	}
	if ep.Token != "" {
		return errors.New("--server: leave the /t/TOKEN segment out; wharf login makes its own token")
	}
	key, err := credentials.ServerKey(ep.Server)
	if err != nil {
		return err
	}
	name := o.site
	if name == "" {
		if old != nil && old.Server == key {
			name = old.Name
		} else if n, ok := st.FindSite(ep.Server); ok {
			name = n
		} else {
			name = siteNameFor(ep.Server)
		}
	}
	if old == nil || old.Name != name {
		old = nil
		if s, err := st.SiteInfo(name); err == nil {
			old = &s
		}
	}
	if old != nil && old.Server != key {
		return fmt.Errorf("site %s is %s, not %s: choose another name with --site, or forget it first (wharf logout --site %s; wharf site remove %s)", name, old.Server, key, name, name)
	}

	// The account and its password.
	username := cmp.Or(o.username, os.Getenv("WHARF_USERNAME"), ep.Username)
	if username == "" && old != nil {
		username = old.Username
	}
	if username == "" {
		return errors.New("name your account with --username NAME (or WHARF_USERNAME)")
	}
	var password string
	switch {
	case o.passwordStdin:
		if password, err = readPassword(cmd); err != nil {
			return err
		}
	case os.Getenv("WHARF_PASSWORD") != "":
		password = os.Getenv("WHARF_PASSWORD")
	case ep.Password != "" && ep.Username == username:
		password = ep.Password
	case stdinIsTerminal(cmd):
		if password, err = promptSecret(cmd, "Password for "+username); err != nil {
			return err
		}
	default:
		return errors.New("give the password on standard input with --password-stdin, or in WHARF_PASSWORD")
	}

	c := client.New(ep.Server, username, password)
	req := client.NewToken{Expires: o.expires}
	host, _ := os.Hostname()
	req.Description = "made by wharf login on " + cmp.Or(host, "an unnamed host")
	if u, err := user.Current(); err == nil && u.Username != "" {
		req.Description += " for " + u.Username
	}
	scopes := o.scopes
	if len(scopes) == 0 {
		scopes = []string{loginScopes}
	}
	req.Scopes = splitScopes(scopes)

	// The token's name: wharf-<host>, or with a suffix when the account has one of that name.
	existing, err := c.Tokens(ctx, "")
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, t := range existing {
		taken[t.Name] = true
	}
	var secret string
	var info client.TokenInfo
	for range 5 {
		req.Name = freeTokenName(hostTokenName(), taken)
		secret, info, err = c.CreateToken(ctx, req)
		if isStatus(err, http.StatusConflict) { // made meanwhile by someone else
			taken[req.Name] = true
			continue
		}
		break
	}
	if err != nil {
		return err
	}

	var oldSecret string // to find the files wharf setup wrote with it
	if old != nil && old.LoggedIn() {
		if s, err := st.Site(name); err == nil {
			oldSecret = s.Token
		}
	}
	site, err := st.SaveSite(credentials.Site{Name: name, Server: key, Username: username, TokenID: info.ID, TokenName: info.Name, TokenExpires: info.ExpiresAt, Token: secret})
	if err != nil {
		if rerr := c.RemoveToken(ctx, strconv.FormatInt(info.ID, 10), ""); rerr != nil {
			return fmt.Errorf("keeping the token: %w; token %s (id %d) was made but could not be revoked (%v): revoke it with wharf auth --remove %d", err, info.Name, info.ID, rerr, info.ID)
		}
		return fmt.Errorf("keeping the token: %w (the token made for it was revoked)", err)
	}
	if err := st.SetDefault(name); err != nil {
		return err
	}

	// The token this login replaces, when it was the same account's, is revoked.
	var replaced map[string]any
	var stale []staleFile
	if old != nil && old.LoggedIn() && old.TokenID != 0 && old.TokenID != info.ID {
		replaced = map[string]any{"id": old.TokenID, "name": old.TokenName, "revoked": false}
		switch {
		case old.Username != username:
			fmt.Fprintf(cmd.ErrOrStderr(), "note: the previous token of site %s (%s, id %d) belongs to %s and was not revoked\n", name, old.TokenName, old.TokenID, old.Username)
		default:
			err := c.RemoveToken(ctx, strconv.FormatInt(old.TokenID, 10), "")
			switch {
			case err == nil:
				replaced["revoked"] = true
				fmt.Fprintf(cmd.ErrOrStderr(), "revoked the previous token of site %s (%s, id %d)\n", name, old.TokenName, old.TokenID)
				stale = filesHolding(oldSecret)
				sayStale(cmd, stale)
			case isStatus(err, http.StatusNotFound):
				replaced["revoked"] = true // gone already
			default:
				fmt.Fprintf(cmd.ErrOrStderr(), "note: the previous token of site %s (%s, id %d) could not be revoked: %v\n", name, old.TokenName, old.TokenID, err)
			}
		}
	}

	if o.asJSON {
		out := map[string]any{
			"site": viewSite(st, site), "token": info, "secret_store": site.SecretStore, "config_file": st.ConfigFile(),
		}
		if site.SecretStore == credentials.InFile {
			out["credentials_file"] = st.CredentialsFile()
		}
		if replaced != nil {
			out["replaced"] = replaced
		}
		if len(stale) > 0 {
			out["stale_files"] = stale
		}
		return printJSON(cmd, out)
	}
	say(cmd, "logged in to %s as %s", site.Server, username)
	say(cmd, "site %s (the default), token %s (%s)", site.Name, info.Name, tokenSummary(info))
	say(cmd, "the token is kept in %s", where(st, site.SecretStore))
	return nil
}

func logoutCmd() *cobra.Command {
	var siteName string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "logout [--site NAME]",
		Short: "Revoke the token wharf login made on the server, and forget it",
		Long: `Revoke the token of a site (default: the default site) on its server, and forget it here.
The site stays, logged out (wharf site remove forgets it). The token is forgotten even when the
server cannot revoke it (then wharf says so, with how to revoke it later, and exits non-zero).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			name := cmp.Or(siteName, os.Getenv("WHARF_SITE"), st.Default())
			if name == "" {
				return errors.New("no default site, and no --site: see wharf site list")
			}
			info, err := st.SiteInfo(name)
			if err != nil {
				return err
			}
			out := map[string]any{"site": name, "server": info.Server, "token_id": info.TokenID, "token_name": info.TokenName, "revoked": false, "forgotten": false}
			if !info.LoggedIn() {
				if asJSON {
					return printJSON(cmd, out)
				}
				say(cmd, "site %s (%s) is not logged in", name, info.Server)
				return nil
			}

			// Revoke, with the token itself.
			var revokeErr error
			site, err := st.Site(name)
			var me *credentials.ModeError
			if errors.As(err, &me) {
				return err // nothing is changed until the file is private again
			}
			if err != nil {
				revokeErr = err
			} else {
				c := client.New(site.Server, "", "")
				c.Token, c.TokenFrom = site.Token, "site "+name
				id := site.TokenID
				if id == 0 {
					t, err := c.CurrentToken(cmd.Context())
					if err != nil {
						revokeErr = err
					}
					id = t.ID
				}
				if revokeErr == nil {
					revokeErr = c.RemoveToken(cmd.Context(), strconv.FormatInt(id, 10), "")
				}
				if isStatus(revokeErr, http.StatusUnauthorized, http.StatusNotFound) {
					// Expired, revoked or reissued already: dead, which is what was asked.
					out["already_invalid"] = true
					revokeErr = nil
				}
			}
			out["revoked"] = revokeErr == nil
			if revokeErr == nil && site.Token != "" {
				if stale := filesHolding(site.Token); len(stale) > 0 {
					out["stale_files"] = stale
					sayStale(cmd, stale)
				}
			}

			forgetErr := st.ForgetToken(name)
			out["forgotten"] = forgetErr == nil
			if forgetErr != nil {
				return fmt.Errorf("forgetting the token of site %s: %w", name, forgetErr)
			}
			if revokeErr != nil {
				out["revoke_error"] = revokeErr.Error()
			}
			if asJSON {
				if err := printJSON(cmd, out); err != nil {
					return err
				}
			} else if revokeErr == nil {
				say(cmd, "logged out of %s (site %s): token %s (id %d) revoked and forgotten", info.Server, name, info.TokenName, info.TokenID)
			}
			if revokeErr != nil {
				exp := ""
				if !info.TokenExpires.IsZero() {
					exp = " until " + info.TokenExpires.Local().Format(time.DateOnly)
				}
				err := fmt.Errorf("token %s (id %d) is forgotten here, but the server did not revoke it (%v): it keeps working%s; revoke it with wharf auth --remove %d --server %s -u %s", info.TokenName, info.TokenID, revokeErr, exp, info.TokenID, info.Server, cmp.Or(info.Username, "NAME"))
				if asJSON {
					return &shownError{err} // the answer printed says so, in revoke_error
				}
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&siteName, "site", "", "the site `NAME` to log out of (default: WHARF_SITE, else the default site)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// promptSecret asks for a secret on the terminal without echoing it.
func promptSecret(cmd *cobra.Command, label string) (string, error) {
	fmt.Fprint(cmd.ErrOrStderr(), label+": ")
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	if len(b) == 0 {
		return "", errors.New("nothing was typed")
	}
	return string(b), nil
}
