package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/client"
)

// authOpts are the flags of wharf auth, which follows anaconda's `auth` command: one action
// flag (--create, --list, --info, --remove, --list-scopes, --edit) and the options of that action.
type authOpts struct {
	create, list, info, listScopes bool
	remove                         []string
	edit                           string

	name, description, expires, strength, org, out, rename string
	scopes, resources                                      []string
	reissue                                                bool
}

// The actions of wharf auth, named after their flags.
const (
	authCreate     = "create"
	authList       = "list"
	authInfo       = "info"
	authRemove     = "remove"
	authListScopes = "list-scopes"
	authEdit       = "edit"
)

// authOptionFlags says which actions each option flag goes with.
var authOptionFlags = []struct {
	flag    string
	actions []string
}{
	{"name", []string{authCreate}},
	{"description", []string{authCreate}},
	{"scopes", []string{authCreate}},
	{"resource", []string{authCreate}},
	{"strength", []string{authCreate}},
	{"expires", []string{authCreate, authEdit}},
	{"org", []string{authCreate, authList, authRemove, authEdit}},
	{"out", []string{authCreate, authEdit}},
	{"rename", []string{authEdit}},
	{"reissue", []string{authEdit}},
}

const authActions = "--create, --list, --info, --remove NAME…, --list-scopes or --edit NAME"

// action checks the flags and positional arguments of a wharf auth command line and returns
// the one action it asks for, and the names of the tokens to remove.
func (o *authOpts) action(cmd *cobra.Command, args []string) (string, []string, error) {
	var chosen []string
	for _, a := range []string{authCreate, authList, authInfo, authRemove, authListScopes, authEdit} {
		if cmd.Flags().Changed(a) {
			chosen = append(chosen, a)
		}
	}
	switch len(chosen) {
	case 0:
		if len(args) > 0 && len(cmd.SuggestionsFor(args[0])) > 0 {
			return "", nil, unknownCommand(cmd, args[0]) // wharf auth lgin: a subcommand mistyped
		}
		return "", nil, fmt.Errorf("say what to do with one of %s (see wharf auth --help)", authActions)
	case 1:
	default:
		return "", nil, fmt.Errorf("--%s: give only one of %s", strings.Join(chosen, " and --"), authActions)
	}
	action := chosen[0]
	// A boolean action flag set to false (--list=false) asks for nothing.
	if (action == authCreate && !o.create) || (action == authList && !o.list) || (action == authInfo && !o.info) || (action == authListScopes && !o.listScopes) {
		return "", nil, fmt.Errorf("say what to do with one of %s (see wharf auth --help)", authActions)
	}
	for _, of := range authOptionFlags {
		if cmd.Flags().Changed(of.flag) && !slices.Contains(of.actions, action) {
			return "", nil, fmt.Errorf("--%s goes with --%s, not --%s", of.flag, strings.Join(of.actions, " or --"), action)
		}
	}
	var names []string
	if action == authRemove {
		names = append(append(names, o.remove...), args...)
		for _, n := range names {
			if strings.TrimSpace(n) == "" {
				return "", nil, errors.New("--remove: name each token to remove (its name or id)")
			}
		}
	} else if len(args) > 0 {
		return "", nil, fmt.Errorf("unexpected argument %q: only --remove takes more than one name", args[0])
	}
	switch action {
	case authCreate:
		if strings.TrimSpace(o.name) == "" {
			return "", nil, errors.New("--create: name the token with --name NAME (names are unique per owner)")
		}
	case authEdit:
		if strings.TrimSpace(o.edit) == "" {
			return "", nil, errors.New("--edit: name the token to change (its name or id)")
		}
		if o.rename == "" && o.expires == "" && !o.reissue {
			return "", nil, errors.New("--edit: say what to change with --rename NEW, --expires WHEN or --reissue")
		}
		if o.out != "" && !o.reissue {
			return "", nil, errors.New("--out is where the new secret of --reissue goes; add --reissue, or leave --out out")
		}
	}
	if cmd.Flags().Changed("strength") && o.strength != "strong" && o.strength != "weak" {
		return "", nil, fmt.Errorf("--strength %q: want strong or weak", o.strength)
	}
	return action, names, nil
}

// checkScopes refuses a scope name that is not one before anything is sent, with the one it
// most likely meant.
func checkScopes(scopes []string) error {
	for _, sc := range scopes {
		if access.KnownScope(sc) {
			continue
		}
		msg := fmt.Sprintf("--scopes: unknown scope %q;", sc)
		if near := access.NearestScope(sc); near != "" {
			msg += fmt.Sprintf(" did you mean %q?", near)
		}
		return errors.New(msg + " wharf auth --list-scopes lists them")
	}
	return nil
}

// newToken is the request --create makes.
func (o *authOpts) newToken() (client.NewToken, error) {
	req := client.NewToken{Name: strings.TrimSpace(o.name), Description: o.description, Expires: o.expires, Strength: o.strength, Org: o.org, Scopes: splitScopes(o.scopes)}
	if err := checkScopes(req.Scopes); err != nil {
		return req, err
	}
	for _, r := range o.resources {
		res, err := parseTokenResource(r)
		if err != nil {
			return req, err
		}
		req.Resources = append(req.Resources, res)
	}
	return req, nil
}

// parseTokenResource reads CHANNEL:LEVEL; the channel may be a subchannel PARENT/CHILD.
func parseTokenResource(s string) (client.TokenResource, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return client.TokenResource{}, fmt.Errorf("--resource %q: want CHANNEL:LEVEL, e.g. acme:read or acme/dev:write", s)
	}
	ch, level := s[:i], s[i+1:]
	switch level {
	case "read", "write", "manage":
	default:
		return client.TokenResource{}, fmt.Errorf("--resource %q: the level is read, write or manage", s)
	}
	return client.TokenResource{Channel: ch, Level: level}, nil
}

func authCmd() *cobra.Command {
	var r remote
	var o authOpts
	cmd := &cobra.Command{
		Use:   "auth (--create --name NAME | --list | --info | --remove NAME... | --list-scopes | --edit NAME) [flags]",
		Short: "Create, list, change and remove access tokens",
		Long: `Create, list, change and remove access tokens, in the manner of anaconda's auth command.

A token acts for its owner (you, or with --org an organization you own) and never does more
than the owner may: scopes (--scopes) limit what it may do, resources (--resource) the channels
it reaches. Its secret is shown once, by --create and by --edit --reissue: printed alone on
standard output, or written with mode 0600 to --out.

Use a token with --token or WHARF_TOKEN for wharf commands, and with conda as
https://HOST/t/TOKEN/conda/CHANNEL (or channel_alias: https://HOST/t/TOKEN/conda).

wharf auth login CHANNEL_URL and wharf auth logout CHANNEL_URL keep and forget credentials
for one channel, as the conda-auth plugin does (see wharf auth login --help).`,
		Example: `  wharf auth --create --name ci --scopes conda:download --resource acme:read --out ci.token
  wharf auth --list
  WHARF_TOKEN=$(cat ci.token) wharf auth --info
  wharf auth --edit ci --expires 90d --reissue --out ci.token
  wharf auth --remove ci`,
		// Names to remove may follow; action checks them. (Said outright: with the login and
		// logout subcommands, cobra would take them for unknown commands.)
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			action, names, err := o.action(cmd, args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if action == authListScopes { // public: no credentials needed, none checked
				ep, _, err := r.resolve()
				if err != nil {
					return err
				}
				r.server = ep.Server
				return listScopes(cmd, &r, client.New(ep.Server, "", ""))
			}
			var req client.NewToken
			if action == authCreate {
				if req, err = o.newToken(); err != nil {
					return err
				}
			}
			// The file for the secret is opened before the token is made: a secret that
			// cannot be written is a secret lost.
			var out *secretFile
			if o.out != "" {
				if out, err = openSecretFile(o.out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer out.abandon()
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			switch action {
			case authCreate:
				secret, info, err := c.CreateToken(ctx, req)
				if err != nil {
					return err
				}
				return showSecret(cmd, &r, out, secret, info, fmt.Sprintf("created token %s (%s)", info.Name, tokenSummary(info)))
			case authList:
				toks, err := c.Tokens(ctx, o.org)
				if err != nil {
					return err
				}
				if toks == nil {
					toks = []client.TokenInfo{} // --json: [], not null
				}
				now := time.Now()
				return printList(cmd, r.asJSON, toks, "ID\tNAME\tOWNER\tKIND\tMAY\tSTRENGTH\tEXPIRES\tLAST USED", func(t client.TokenInfo) []string {
					return []string{fmt.Sprint(t.ID), t.Name, t.Owner, t.Kind, t.Allowance(), t.Strength, expires(t, now), lastUsed(t)}
				})
			case authInfo:
				if c.Token == "" {
					return errors.New("--info shows the token you sign in with: give it with --token or WHARF_TOKEN, or sign in with wharf login")
				}
				t, err := c.CurrentToken(ctx)
				if err != nil {
					return err
				}
				if r.asJSON {
					return printJSON(cmd, t)
				}
				printTokenInfo(cmd, t)
				return nil
			case authRemove:
				var removed []string
				for _, n := range names {
					if err := c.RemoveToken(ctx, n, o.org); err != nil {
						if len(removed) > 0 {
							return fmt.Errorf("%s: %w; removed before it: %s", n, err, strings.Join(removed, ", "))
						}
						return fmt.Errorf("%s: %w", n, err)
					}
					removed = append(removed, n)
					if !r.asJSON {
						say(cmd, "removed token %s", n)
					}
				}
				if r.asJSON {
					return printJSON(cmd, map[string]any{"removed": removed})
				}
				return nil
			case authEdit:
				info, secret, err := c.EditToken(ctx, o.edit, o.org, client.TokenEdit{Name: o.rename, Expires: o.expires, Reissue: o.reissue})
				if err != nil {
					return err
				}
				if o.reissue {
					if secret == "" {
						return fmt.Errorf("the server reissued token %s but sent no new secret", info.Name)
					}
					return showSecret(cmd, &r, out, secret, info, fmt.Sprintf("reissued token %s (%s); the old secret no longer works", info.Name, tokenSummary(info)))
				}
				if r.asJSON {
					return printJSON(cmd, info)
				}
				say(cmd, "token %s: %s", info.Name, tokenSummary(info))
				return nil
			}
			return nil
		},
	}
	cmd.SuggestionsMinimumDistance = 2 // wharf auth lgin: did you mean login?
	addRemoteFlags(cmd, &r)
	f := cmd.Flags()
	f.BoolVarP(&o.create, authCreate, "c", false, "create a token; its secret is printed once")
	f.BoolVarP(&o.list, authList, "l", false, "list your tokens (or with --org an organization's)")
	f.BoolVarP(&o.info, authInfo, "i", false, "show the token you sign in with (--token or WHARF_TOKEN)")
	f.StringArrayVarP(&o.remove, authRemove, "r", nil, "remove the token `NAME` (a name or id; more names may follow, or repeat -r)")
	f.BoolVarP(&o.listScopes, authListScopes, "x", false, "list the scopes a token may carry")
	f.StringVar(&o.edit, authEdit, "", "change the token `NAME` (a name or id): --rename, --expires, --reissue")

	f.StringVarP(&o.name, "name", "n", "", "the new token's `NAME`, unique among the owner's tokens")
	f.StringVar(&o.description, "description", "", "`TEXT` saying what the token is for")
	f.StringArrayVarP(&o.scopes, "scopes", "s", nil, "`SCOPES` the token is limited to, space- or comma-separated, e.g. 'repos conda:download' (repeatable; see --list-scopes)")
	f.StringArrayVar(&o.resources, "resource", nil, "a channel the token is limited to, as `CHANNEL:LEVEL` with LEVEL read, write or manage (repeatable)")
	f.StringVar(&o.expires, "expires", "", "`WHEN` the token expires: days (30d) or a duration (12h), a date (2027-01-31) or an RFC 3339 time (default a year from now)")
	f.StringVar(&o.strength, "strength", "", "`STRENGTH`: strong (256 random bits, the default) or weak (a shorter token, 128 bits)")
	f.StringVarP(&o.org, "org", "o", "", "the organization `ORG` whose tokens these are (its owners manage them)")
	f.StringVar(&o.out, "out", "", "write the secret to `FILE` (mode 0600) instead of standard output")
	f.StringVar(&o.rename, "rename", "", "with --edit: the token's `NEW` name")
	f.BoolVar(&o.reissue, "reissue", false, "with --edit: give the token a new secret (printed once); the old one stops working at once")
	cmd.AddCommand(authLoginCmd(), authLogoutCmd()) // per-channel credentials, in login_auth.go
	return cmd
}

func listScopes(cmd *cobra.Command, r *remote, c *client.Client) error {
	scopes, err := c.Scopes(cmd.Context())
	if err != nil {
		return err
	}
	if scopes == nil {
		scopes = []client.Scope{} // --json: [], not null
	}
	return printList(cmd, r.asJSON, scopes, "SCOPE\tWHAT", func(s client.Scope) []string { return []string{s.Scope, s.Description} })
}

// showSecret prints a new secret alone on standard output, or writes it to out with mode
// 0600; what happened goes to standard error, so that $(wharf auth --create …) is the secret.
// With --json the answer is {"token","info"}, or {"info","out"} when written to a file.
func showSecret(cmd *cobra.Command, r *remote, out *secretFile, secret string, info client.TokenInfo, note string) error {
	if out != nil {
		if err := out.write(secret); err != nil {
			return fmt.Errorf("--out %s: %w; token %s exists without its secret: reissue it with wharf auth --edit %s --reissue", out.path, err, info.Name, info.Name)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s\nwrote its secret to %s (mode 0600)\n", note, out.path)
		if r.asJSON {
			return printJSON(cmd, map[string]any{"info": info, "out": out.path})
		}
		return nil
	}
	if r.asJSON {
		return printJSON(cmd, map[string]any{"token": secret, "info": info})
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s\nits secret, shown only this once:\n", note)
	fmt.Fprintln(cmd.OutOrStdout(), secret)
	return nil
}

// secretFile is the --out file, opened before the request so that a path that cannot be
// written fails before a token is made, and left as it was when no secret comes.
type secretFile struct {
	f       *os.File
	path    string
	created bool
	done    bool
}

func openSecretFile(path string) (*secretFile, error) {
	_, err := os.Lstat(path)
	created := errors.Is(err, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &secretFile{f: f, path: path, created: created}, nil
}

// write replaces the file's contents with the secret, narrowing its mode to 0600 first when
// the file was there with a wider one.
func (s *secretFile) write(secret string) error {
	s.done = true
	defer s.f.Close()
	if err := s.f.Chmod(0o600); err != nil {
		return err
	}
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	if _, err := s.f.WriteString(secret + "\n"); err != nil {
		return err
	}
	return s.f.Close()
}

// abandon closes the file when no secret was written, and removes it if it was made for this.
func (s *secretFile) abandon() {
	if s.done {
		return
	}
	s.f.Close()
	if s.created {
		os.Remove(s.path)
	}
}

// expires is a token's expiry day, marked when it is past (as the web's token list does).
func expires(t client.TokenInfo, now time.Time) string {
	if t.IsExpired(now) {
		return day(t.ExpiresAt) + " (expired)"
	}
	return day(t.ExpiresAt)
}

func tokenSummary(t client.TokenInfo) string {
	owner := t.Owner
	if t.Org {
		owner = "organization " + t.Owner
	}
	return fmt.Sprintf("id %d, of %s, may: %s, expires %s", t.ID, owner, t.Allowance(), expires(t, time.Now()))
}

func printTokenInfo(cmd *cobra.Command, t client.TokenInfo) {
	owner := t.Owner
	if t.Org {
		owner += " (organization)"
	}
	say(cmd, "name:        %s", t.Name)
	say(cmd, "id:          %d", t.ID)
	if t.Description != "" {
		say(cmd, "description: %s", t.Description)
	}
	say(cmd, "owner:       %s", owner)
	say(cmd, "kind:        %s", t.Kind)
	say(cmd, "may:         %s", t.Allowance())
	if len(t.Scopes) > 0 {
		say(cmd, "scopes:      %s", strings.Join(t.Scopes, " "))
	}
	for _, r := range t.Resources {
		say(cmd, "resource:    %s:%s", r.Channel, r.Level)
	}
	say(cmd, "strength:    %s", t.Strength)
	say(cmd, "created:     %s", stamp(t.CreatedAt))
	exp := stamp(t.ExpiresAt)
	if t.IsExpired(time.Now()) {
		exp += " (expired)"
	}
	say(cmd, "expires:     %s", exp)
	say(cmd, "last used:   %s", lastUsed(t))
}

func day(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

func lastUsed(t client.TokenInfo) string {
	if t.LastUsedAt == nil || t.LastUsedAt.IsZero() {
		return "never"
	}
	return t.LastUsedAt.Local().Format("2006-01-02 15:04")
}
