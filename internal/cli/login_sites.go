package cli

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/credentials"
)

// defaultServer is the server of remote commands when neither the command line, the
// environment nor a stored site names one.
const defaultServer = "http://127.0.0.1:8080"

// openStore opens the wharf config directory; the store says on cmd's standard error when a
// secret goes to the credentials file for want of a keyring.
func openStore(cmd *cobra.Command) (*credentials.Store, error) {
	return credentials.Open(credentials.Options{Warn: cmd.ErrOrStderr()})
}

func isNotFound(err error) bool {
	var nf *credentials.NotFoundError
	return errors.As(err, &nf)
}

// resolve finds the server of a remote command and the stored site that goes with it. The
// order: --server, WHARF_SERVER, the server of --site (or WHARF_SITE), the default site's,
// http://127.0.0.1:8080. The site is --site (or WHARF_SITE), else the one stored for the
// server given, else the default site. The store is not read when the server and
// credentials are all given on the command line or in the environment. The site returned
// carries no token yet: loadSiteToken reads it, when the command needs it.
func (r *remote) resolve() (client.Endpoint, *credentials.Site, error) {
	server := cmp.Or(r.server, os.Getenv("WHARF_SERVER"))
	name := cmp.Or(r.site, os.Getenv("WHARF_SITE"))
	var ep client.Endpoint
	if server != "" {
		var err error
		if ep, err = client.ParseServer(server); err != nil {
			return ep, nil, err
		}
	}
	given := r.token != "" || os.Getenv("WHARF_TOKEN") != "" || r.username != "" || ep.Username != "" || ep.Token != ""
	if name == "" && server != "" && given {
		return ep, nil, nil
	}
	st, err := credentials.Open(credentials.Options{})
	if err != nil {
		return ep, nil, err
	}
	r.store = st
	var site credentials.Site
	switch {
	case name != "":
		if site, err = st.SiteInfo(name); err != nil {
			return ep, nil, err
		}
		if server != "" {
			if k, _ := credentials.ServerKey(ep.Server); k != site.Server {
				return ep, nil, fmt.Errorf("site %s is %s, but --server (or WHARF_SERVER) says %s: give only one of them", name, site.Server, ep.Server)
			}
		}
	case server != "":
		n, ok := st.FindSite(ep.Server)
		if !ok {
			return ep, nil, nil
		}
		if site, err = st.SiteInfo(n); err != nil {
			return ep, nil, err
		}
	case st.Default() != "":
		if site, err = st.SiteInfo(st.Default()); err != nil {
			return ep, nil, fmt.Errorf("the default site: %w", err)
		}
	default:
		ep, err = client.ParseServer(defaultServer)
		return ep, nil, err
	}
	if server == "" {
		if ep, err = client.ParseServer(site.Server); err != nil {
			return ep, nil, fmt.Errorf("site %s in %s: %w", site.Name, st.ConfigFile(), err)
		}
	}
	return ep, &site, nil
}

// loadSiteToken reads the stored token of a site that resolve found; from then on the site
// is the one the command signs in with.
func (r *remote) loadSiteToken(site *credentials.Site) error {
	full, err := r.store.Site(site.Name)
	if err != nil {
		return err
	}
	*site = full
	r.used = site
	return nil
}

// siteView is a site as wharf site list and the --json answers show it: never its token.
type siteView struct {
	Name         string     `json:"name"`
	Server       string     `json:"server"`
	Username     string     `json:"username,omitempty"`
	Default      bool       `json:"default"`
	LoggedIn     bool       `json:"logged_in"`
	TokenID      int64      `json:"token_id,omitempty"`
	TokenName    string     `json:"token_name,omitempty"`
	TokenExpires *time.Time `json:"token_expires,omitempty"`
	SecretStore  string     `json:"secret_store,omitempty"`
}

func viewSite(st *credentials.Store, s credentials.Site) siteView {
	v := siteView{Name: s.Name, Server: s.Server, Username: s.Username, Default: s.Name == st.Default(), LoggedIn: s.LoggedIn(),
		TokenID: s.TokenID, TokenName: s.TokenName, SecretStore: s.SecretStore}
	if !s.TokenExpires.IsZero() {
		v.TokenExpires = &s.TokenExpires
	}
	return v
}

// where says in words where a secret is kept.
func where(st *credentials.Store, secretStore string) string {
	if secretStore == credentials.InKeyring {
		return "the OS keyring"
	}
	return st.CredentialsFile() + " (mode 0600)"
}

func siteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "site",
		Short: "List, choose and remove the servers wharf login stored",
		Long: `A site is a server wharf login signed in to, under a name, with the token made for this
machine. Remote commands use the default site's server and token when neither the command
line (--server, --token, -u) nor the environment (WHARF_SERVER, WHARF_TOKEN, WHARF_USERNAME)
gives any; --site NAME (or WHARF_SITE) picks another. Sites are kept in
$XDG_CONFIG_HOME/wharf/config.json (no secrets there); tokens in the OS keyring, or without
one in credentials.json beside it, mode 0600.`,
	}

	var listJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the sites; the default is marked with *",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			views := []siteView{}
			for _, s := range st.Sites() {
				views = append(views, viewSite(st, s))
			}
			if listJSON {
				return printJSON(cmd, views)
			}
			if len(views) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no sites: log in with wharf login --server URL --username NAME --password-stdin")
				return nil
			}
			var rows [][]string
			for _, v := range views {
				mark, tok, exp := " ", "(logged out)", ""
				if v.Default {
					mark = "*"
				}
				if v.LoggedIn {
					tok = fmt.Sprintf("%s (id %d)", v.TokenName, v.TokenID)
				}
				if v.TokenExpires != nil {
					exp = day(*v.TokenExpires)
				}
				rows = append(rows, []string{mark, v.Name, v.Server, v.Username, tok, exp})
			}
			table(cmd, " \tNAME\tSERVER\tUSER\tTOKEN\tEXPIRES", rows)
			return nil
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print the result as JSON")

	var useJSON bool
	use := &cobra.Command{
		Use:   "use NAME",
		Short: "Make a site the default",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			if err := st.SetDefault(args[0]); err != nil {
				return err
			}
			s, err := st.SiteInfo(args[0])
			if err != nil {
				return err
			}
			if useJSON {
				return printJSON(cmd, viewSite(st, s))
			}
			say(cmd, "default site is now %s (%s)", s.Name, s.Server)
			if !s.LoggedIn() {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: site %s has no token: log in with wharf login --site %s\n", s.Name, s.Name)
			}
			return nil
		},
	}
	use.Flags().BoolVar(&useJSON, "json", false, "print the result as JSON")

	var rmJSON bool
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Forget a site and its token (wharf logout first revokes the token on the server)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd)
			if err != nil {
				return err
			}
			s, err := st.SiteInfo(args[0])
			if err != nil {
				return err
			}
			wasDefault := st.Default() == s.Name
			if err := st.RemoveSite(s.Name); err != nil {
				return err
			}
			if s.LoggedIn() {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: token %s (id %d) still works on %s until it expires; revoke it with wharf auth --remove %d (wharf logout --site %s before site remove does that)\n", s.TokenName, s.TokenID, s.Server, s.TokenID, s.Name)
			}
			if rmJSON {
				return printJSON(cmd, map[string]any{"removed": s.Name, "server": s.Server, "was_default": wasDefault, "token_still_valid": s.LoggedIn()})
			}
			say(cmd, "forgot site %s (%s)", s.Name, s.Server)
			return nil
		},
	}
	remove.Flags().BoolVar(&rmJSON, "json", false, "print the result as JSON")

	cmd.AddCommand(list, use, remove)
	return cmd
}
