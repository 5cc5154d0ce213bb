package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/clientconfig"
	"github.com/wharfhq/wharf/internal/credentials"
)

// setupOpts are the flags every `wharf setup` command takes.
type setupOpts struct {
	server, token, site string
	dryRun, remove      bool
	asJSON              bool

	// tokenOptional: the command can do without a login-wide token (conda, with the tokens
	// wharf auth login kept for its channels); the plan then says when there is none at all.
	tokenOptional bool
}

func addSetupFlags(cmd *cobra.Command, o *setupOpts) {
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "server `URL` (default: WHARF_SERVER, else the site wharf login stored) [WHARF_SERVER]")
	f.StringVar(&o.site, "site", "", "use the server and token that wharf login stored as site `NAME` [WHARF_SITE]")
	f.StringVar(&o.token, "token", "", "access `TOKEN`, or a file holding one (default: WHARF_TOKEN, else the site's, else the one wharf auth login kept for the channel) [WHARF_TOKEN]")
	f.BoolVar(&o.dryRun, "dry-run", false, "show the changes; write nothing")
	f.BoolVar(&o.remove, "remove", false, "undo: take out what setup put in")
	f.BoolVar(&o.asJSON, "json", false, "print what was (or would be) written as JSON")
}

// setupTarget is the server and token the client files get.
type setupTarget struct {
	server string // without credentials or a trailing slash
	token  string // "" with --remove
	owner  string // the token's owner, when the server said
}

// resolve finds the server and, unless removing, the token: --server, --token (or
// WHARF_SERVER, WHARF_TOKEN, a /t/ segment or __token__ password in the server URL), else the
// site wharf login stored (--site, WHARF_SITE, the one of the server given, the default
// site), else the token wharf auth login kept for the channel at keptPath under the server
// (or a URL above it; no channel when keptPath is ""). It checks the token with the server.
func (o *setupOpts) resolve(ctx context.Context, needToken bool, keptPath string, warn func(string)) (setupTarget, error) {
	r := remote{server: o.server, token: o.token, site: o.site}
	ep, site, err := r.resolve()
	if err != nil {
		return setupTarget{}, err
	}
	if site == nil && o.server == "" && os.Getenv("WHARF_SERVER") == "" {
		return setupTarget{}, errors.New("no server: log in with wharf login --server URL, or give --server URL and --token TOKEN (or WHARF_SERVER and WHARF_TOKEN)")
	}
	if u, _ := url.Parse(ep.Server); u != nil && (u.RawQuery != "" || u.Fragment != "") {
		return setupTarget{}, fmt.Errorf("--server %s: give the server's address without a query or fragment", ep.Server)
	}
	t := setupTarget{server: ep.Server}
	if !needToken {
		return t, nil
	}
	fromURL := ep.Token
	if fromURL == "" && ep.Username == clientconfig.TokenUser {
		fromURL = ep.Password
	}
	if t.token, err = r.resolveToken(fromURL); err != nil {
		return t, err
	}
	if t.token == "" && site != nil && site.LoggedIn() {
		if err := r.loadSiteToken(site); err != nil {
			return t, err
		}
		t.token = site.Token
	}
	if t.token == "" && keptPath != "" {
		if t.token, err = r.channelToken(ep.Server + "/" + keptPath); err != nil {
			return t, err
		}
	}
	if t.token == "" && o.tokenOptional {
		return t, nil
	}
	if t.token == "" {
		return t, errNoToken(ep.Server)
	}
	c := client.New(ep.Server, "", "")
	c.Token = t.token
	info, err := c.CurrentToken(ctx)
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr):
		return t, fmt.Errorf("%s refused the token: %w", ep.Server, err)
	case err != nil:
		warn(fmt.Sprintf("could not check the token with %s (%v); the settings are written all the same", ep.Server, err))
	default:
		t.owner = info.Owner
	}
	return t, nil
}

func errNoToken(server string) error {
	return fmt.Errorf("no token for %s: log in with wharf login, or give --token TOKEN (or a file holding it) or WHARF_TOKEN, or keep one for the channel with wharf auth login CHANNEL_URL --token; make one with wharf auth --create --name NAME --scopes …", server)
}

// channelToken is the token wharf auth login kept for a channel URL or the nearest URL above
// it, "" when none is kept. Basic credentials are refused: setup writes a token.
func (r *remote) channelToken(channelURL string) (string, error) {
	if r.store == nil {
		st, err := credentials.Open(credentials.Options{})
		if err != nil {
			return "", err
		}
		r.store = st
	}
	c, err := r.store.Channel(channelURL)
	switch {
	case c.URL == "": // none kept
		return "", nil
	case err != nil:
		return "", err
	case c.Kind != credentials.KindToken:
		return "", fmt.Errorf("wharf auth login kept a username and password for %s, and wharf setup writes a token: keep one with wharf auth login %s --token, or give --token", c.URL, c.URL)
	}
	return c.Secret, nil
}

// keptPath is the path under the server of the channel URL whose token, kept by wharf auth
// login, a setup command of client uses when it finds no other: the first channel named, as
// the client reads it; "" when none is named.
func keptPath(client string, args []string) string {
	if len(args) == 0 {
		return ""
	}
	channel := strings.Trim(args[0], "/")
	switch client {
	case "conda":
		// conda gets each kept token for its own channel (custom_channels), never as the
		// server's token: see conda_tokens.go.
		return ""
	case "pip":
		return "pypi/" + channel + "/simple"
	}
	return "pypi/" + channel // twine uploads to the channel's URL
}

// channelArg is the channel named on the command line, else the token owner's own.
func (t setupTarget) channelArg(args []string) (string, error) {
	if len(args) > 0 {
		return strings.Trim(args[0], "/"), nil
	}
	if t.owner != "" {
		return t.owner, nil
	}
	return "", errors.New("name the channel (wharf setup pip CHANNEL)")
}

// setupFile is one file in the --json answer.
type setupFile struct {
	Path   string   `json:"path"`
	Action string   `json:"action"` // create, update, delete or unchanged
	Mode   string   `json:"mode,omitempty"`
	Keys   []string `json:"keys"`
	Backup string   `json:"backup,omitempty"`
}

// setupResult is the --json answer of every setup command; it never holds the token.
type setupResult struct {
	Client   string      `json:"client"`
	Server   string      `json:"server"`
	DryRun   bool        `json:"dry_run"`
	Remove   bool        `json:"remove"`
	Files    []setupFile `json:"files"`
	Warnings []string    `json:"warnings"`
	Next     string      `json:"next,omitempty"`
}

func (res *setupResult) warn(s string) { res.Warnings = append(res.Warnings, s) }

// setupPlan plans what a setup command changes, given the server and token t and where the
// client's files are (env); it adds warnings and the next step to res.
type setupPlan func(args []string, t setupTarget, env clientconfig.Env, res *setupResult) ([]clientconfig.Change, error)

// setupClientCmd makes cmd (its Use, Short, Long and Args set) a setup command for client:
// it resolves the server and token, plans the changes, and writes or shows them.
func setupClientCmd(cmd *cobra.Command, o *setupOpts, client string, plan setupPlan) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		res := setupResult{Client: client}
		t, err := o.resolve(cmd.Context(), !o.remove, keptPath(client, args), res.warn)
		if err != nil {
			return err
		}
		res.Server = t.server
		env, err := clientEnv()
		if err != nil {
			return err
		}
		changes, err := plan(args, t, env, &res)
		if err != nil {
			return err
		}
		return o.finish(cmd, res, changes)
	}
	addSetupFlags(cmd, o)
	return cmd
}

func clientEnv() (clientconfig.Env, error) {
	return clientconfig.EnvFrom(os.Getenv, runtime.GOOS)
}

// plannedFile reads path for a Change: its contents, and the mode a new file gets (or the
// mode the file has, when not secret). A file that holds a secret is made 0600.
func plannedFile(path string, secret bool) (clientconfig.Change, error) {
	old, mode, existed, err := clientconfig.ReadFile(path)
	if err != nil {
		return clientconfig.Change{}, err
	}
	switch {
	case secret:
		mode = 0o600
	case !existed:
		mode = 0o644
	}
	return clientconfig.Change{Path: path, Old: old, Existed: existed, Mode: mode, Backup: true}, nil
}

// finish writes the changes (unless --dry-run) and reports them.
func (o *setupOpts) finish(cmd *cobra.Command, res setupResult, changes []clientconfig.Change) error {
	res.DryRun, res.Remove = o.dryRun, o.remove
	now := time.Now()
	out := cmd.OutOrStdout()
	for _, c := range changes {
		f := setupFile{Path: c.Path, Action: c.Action(), Keys: c.Keys}
		if f.Keys == nil {
			f.Keys = []string{}
		}
		if !c.Delete {
			f.Mode = fmt.Sprintf("%04o", c.Mode)
		}
		if !o.dryRun {
			b, err := clientconfig.Apply(c, now)
			if err != nil {
				return fmt.Errorf("writing %s: %w", c.Path, err)
			}
			f.Backup = b
		}
		res.Files = append(res.Files, f)
		if o.asJSON {
			continue
		}
		verb := map[string]string{"create": "created", "update": "updated", "delete": "removed", "unchanged": "unchanged"}[f.Action]
		if o.dryRun && f.Action != "unchanged" {
			verb = "would " + f.Action
		}
		line := verb + " " + c.Path
		if len(c.Keys) > 0 {
			line += " (" + strings.Join(c.Keys, "; ") + ")"
		}
		fmt.Fprintln(out, line)
		if f.Backup != "" {
			fmt.Fprintln(out, "  the previous version is in "+f.Backup)
		}
		if o.dryRun && c.Changed() {
			for _, l := range strings.Split(strings.TrimSuffix(clientconfig.Diff(c), "\n"), "\n") {
				fmt.Fprintln(out, "    "+l)
			}
		}
	}
	if res.Files == nil {
		res.Files = []setupFile{}
	}
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	if o.asJSON {
		return printJSON(cmd, res)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "wharf: warning: "+w)
	}
	if res.Next != "" && !o.dryRun {
		fmt.Fprintln(out, res.Next)
	}
	return nil
}

func setupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Make conda, pip and twine use a Wharf server and token",
		Long: `Write the settings conda, pip and twine read, so that they use a Wharf server with a token
and no credentials on their command lines. Existing files are edited (everything else in them
stays), backed up first as FILE.bak-YYYYMMDD-HHMMSS (with its tokens left out), and written
atomically; --dry-run shows the change, --remove undoes it.`,
	}
	cmd.AddCommand(setupCondaCmd(), setupPipCmd(), setupTwineCmd())
	return cmd
}
