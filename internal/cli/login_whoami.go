package cli

import (
	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
)

// whoami is what wharf whoami shows: the account, and how the command signed in.
type whoami struct {
	client.Account
	Server string `json:"server"`
	// Site is the stored site whose token signed in, "" when the credentials came from the
	// command line, the environment or the server URL.
	Site string `json:"site,omitempty"`
	// SignedInWith is "site" (the token wharf login stored), "token" (--token, WHARF_TOKEN
	// or /t/ in --server) or "password".
	SignedInWith string            `json:"signed_in_with"`
	Token        *client.TokenInfo `json:"token,omitempty"` // the token used, never its secret
}

func whoamiOf(cmd *cobra.Command, c *client.Client, r *remote, a client.Account) whoami {
	w := whoami{Account: a, Server: c.Server, SignedInWith: "password"}
	if c.Token == "" {
		return w
	}
	w.SignedInWith = "token"
	if r.used != nil {
		w.Site, w.SignedInWith = r.used.Name, "site"
	}
	if t, err := c.CurrentToken(cmd.Context()); err == nil {
		w.Token = &t
	}
	return w
}

func printWhoami(cmd *cobra.Command, w whoami) {
	say(cmd, "%s <%s>", w.Name, w.Email)
	if w.Admin {
		say(cmd, "administrator")
	}
	say(cmd, "server: %s", w.Server)
	if w.Site != "" {
		say(cmd, "site:   %s (stored by wharf login)", w.Site)
	}
	switch {
	case w.Token != nil:
		say(cmd, "token:  %s (%s)", w.Token.Name, tokenSummary(*w.Token))
	case w.SignedInWith == "token":
		say(cmd, "token:  given on the command line or in the environment")
	default:
		say(cmd, "signed in with a password")
	}
}
