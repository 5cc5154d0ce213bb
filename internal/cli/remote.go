package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/credentials"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/token"
)

// remote holds the flags of every command that talks to a server.
type remote struct {
	server   string // --server; WHARF_SERVER, then the stored site's, when empty
	username string
	token    string // --token: a token, or a file holding one; WHARF_TOKEN when empty
	site     string // --site: a site stored by wharf login; WHARF_SITE when empty
	asJSON   bool

	// used is the stored site whose token client() signs in with, nil when the credentials
	// came from the command line, the environment or the server URL (or there are none).
	used  *credentials.Site
	store *credentials.Store // opened by resolve when it was needed
}

func addRemoteFlags(cmd *cobra.Command, r *remote) {
	f := cmd.Flags()
	// No default here: an empty --server is WHARF_SERVER, else the stored site's server
	// (wharf login), else http://127.0.0.1:8080; see remote.resolve.
	f.StringVar(&r.server, "server", "", "server `URL` (default: WHARF_SERVER, else the site wharf login stored, else "+defaultServer+") [WHARF_SERVER]")
	f.StringVar(&r.site, "site", "", "use the server and token that wharf login stored as site `NAME` (see wharf site list) [WHARF_SITE]")
	f.StringVarP(&r.username, "username", "u", os.Getenv("WHARF_USERNAME"), "account name; the password comes from WHARF_PASSWORD [WHARF_USERNAME]")
	// No default from the environment here: help would print it.
	f.StringVar(&r.token, "token", "", "access `TOKEN`, or a file holding one; wins over --username [WHARF_TOKEN]")
	f.BoolVar(&r.asJSON, "json", false, "print the result as JSON")
}

func (r *remote) client() (*client.Client, error) {
	ep, site, err := r.resolve()
	if err != nil {
		return nil, err
	}
	r.server = ep.Server // from here on, messages show the URL without credentials
	tok, err := r.resolveToken(ep.Token)
	if err != nil {
		return nil, err
	}
	if tok != "" {
		c := client.New(ep.Server, "", "")
		c.Token = tok
		return c, nil
	}
	user, pw := r.username, os.Getenv("WHARF_PASSWORD")
	if user == "" && ep.Username != "" {
		user, pw = ep.Username, ep.Password
	}
	if user == "" && site != nil && site.LoggedIn() {
		// Nothing on the command line or in the environment: the token wharf login stored.
		if err := r.loadSiteToken(site); err != nil {
			return nil, err
		}
		c := client.New(ep.Server, "", "")
		c.Token, c.TokenFrom = site.Token, "site "+site.Name
		return c, nil
	}
	if user != "" && pw == "" {
		return nil, fmt.Errorf("set WHARF_PASSWORD to the password of %s", user)
	}
	return client.New(ep.Server, user, pw), nil
}

// resolveToken finds the token to sign in with: --token (the token itself, or a file that
// holds it), else WHARF_TOKEN, else one in the server URL. It checks the token's format and
// checksum, so that a token cut short when copied is reported before any request, and never
// shows the token in an error.
func (r *remote) resolveToken(fromURL string) (string, error) {
	tok, from := r.token, "--token"
	switch {
	case tok != "":
		if !token.Looks(tok) {
			b, err := os.ReadFile(tok)
			if err != nil {
				return "", errors.New("--token: give a token (wrfs-… or wrfr-…), or a file that holds one; the value is neither")
			}
			tok, from = strings.TrimSpace(string(b)), "the file "+r.token
		}
	case os.Getenv("WHARF_TOKEN") != "":
		tok, from = strings.TrimSpace(os.Getenv("WHARF_TOKEN")), "WHARF_TOKEN"
	case fromURL != "":
		tok, from = fromURL, "the /t/ segment of --server"
	default:
		return "", nil
	}
	if _, err := token.Parse(tok); err != nil {
		return "", fmt.Errorf("%s: %w; copy the token whole (it starts with wrfs- or wrfr-)", from, err)
	}
	return tok, nil
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList ends a listing command: the items as JSON with --json, else a table of header
// and one row(item) a line.
func printList[T any](cmd *cobra.Command, asJSON bool, items []T, header string, row func(T) []string) error {
	if asJSON {
		return printJSON(cmd, items)
	}
	var rows [][]string
	for _, it := range items {
		rows = append(rows, row(it))
	}
	table(cmd, header, rows)
	return nil
}

func table(cmd *cobra.Command, header string, rows [][]string) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

func channelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "channel", Short: "Create, list, inspect and remove channels"}

	var private bool
	var org string
	create := remoteCmd("create NAME [--private] [--org ORG]", "Create a channel, or a subchannel as PARENT/CHILD", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			ch, err := c.CreateChannel(cmd.Context(), api.NewChannelRequest{Name: args[0], Private: private, Org: org})
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, ch)
			}
			say(cmd, "created channel %s", ch.Name)
			channelURLs(cmd, r.server, ch.Name)
			return nil
		})
	create.Flags().BoolVar(&private, "private", false, "only its owners, grantees and admins may see it")
	create.Flags().StringVar(&org, "org", "", "make the organization ORG own the channel (its owners may)")

	list := remoteCmd("list", "List the channels you may see", cobra.NoArgs,
		func(cmd *cobra.Command, c *client.Client, r *remote, _ []string) error {
			chs, err := c.Channels(cmd.Context())
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, chs, "NAME\tPRIVACY\tREVISION", func(ch api.ChannelInfo) []string {
				return []string{ch.Name, privacy(ch.Private), fmt.Sprint(ch.Revision)}
			})
		})

	show := remoteCmd("show NAME", "Show a channel and its labels", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			ch, err := c.Channel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			labels, err := c.Labels(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"channel": ch, "labels": labels})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s, revision %d)\n", ch.Name, privacy(ch.Private), ch.Revision)
			for _, l := range labels {
				fmt.Fprintf(cmd.OutOrStdout(), "  label %s: %d files\n", l.Label, l.Files)
			}
			return nil
		})

	var limit int
	history := remoteCmd("history NAME", "Show what happened to a channel, newest first", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			evs, err := c.History(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, evs, "TIME\tWHO\tWHAT\tDETAIL", eventRow)
		})
	history.Flags().IntVar(&limit, "limit", 100, "how many events")

	cmd.AddCommand(create, list, show, history, channelPrivacyCmd(true), channelPrivacyCmd(false), channelRemoveCmd())
	return cmd
}

// eventRow is a line of a history table.
func eventRow(e store.Event) []string {
	return []string{e.CreatedAt.Format("2006-01-02 15:04:05"), e.Actor, e.Action, compactJSON(e.Detail)}
}

func privacy(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

// parseRef reads SUBDIR/FILENAME; a Python distribution's subdir is "pypi".
func parseRef(s string) (store.FileRef, error) {
	sub, fn, ok := strings.Cut(s, "/")
	if !ok || sub == "" || fn == "" || strings.Contains(fn, "/") {
		return store.FileRef{}, fmt.Errorf("%q: name a file as SUBDIR/FILENAME, e.g. noarch/demo-1.0-0.conda, or pypi/demo_lib-1.0-py3-none-any.whl for a Python distribution", s)
	}
	return store.FileRef{Subdir: sub, Filename: fn}, nil
}

func fileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "file", Short: "List and remove files of a channel"}

	var label string
	list := remoteCmd("list CHANNEL [--label LABEL]", "List a channel's files", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			files, err := c.Files(cmd.Context(), args[0], label)
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, files, "FILE\tSIZE\tLABELS\tSHA256", func(f api.FileInfo) []string {
				return []string{f.Subdir + "/" + f.Filename, fmt.Sprint(f.Size), strings.Join(f.Labels, ","), f.SHA256[:12]}
			})
		})
	list.Flags().StringVarP(&label, "label", "l", "", "only files with this label")

	remove := remoteCmd("remove CHANNEL SUBDIR/FILENAME...", "Remove files from a channel (they leave its repodata or PyPI index at once)", cobra.MinimumNArgs(2),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			var removed []string
			for _, a := range args[1:] {
				ref, err := parseRef(a)
				if err != nil {
					return err
				}
				if err := c.RemoveFile(cmd.Context(), args[0], ref); err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
				removed = append(removed, ref.String())
				if !r.asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s from %s\n", ref, args[0])
				}
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"channel": args[0], "removed": removed})
			}
			return nil
		})
	remove.Long = `Remove files from a channel; they leave its repodata, or its PyPI index, at once.
Name each file as wharf file list shows it: SUBDIR/FILENAME for a conda package
(noarch/demo-1.0-0.conda), pypi/FILENAME for a Python distribution
(pypi/demo_lib-1.0-py3-none-any.whl). A removed Python filename may come back only with the
same bytes; to hide a Python release from pip without removing it, see wharf yank.`
	cmd.AddCommand(list, remove)
	return cmd
}

func labelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "label", Short: "List a channel's labels (copy and move files with wharf copy / wharf move)"}
	list := remoteCmd("list CHANNEL", "List a channel's labels and how many files carry each", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			labels, err := c.Labels(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, labels, "LABEL\tFILES", func(l store.LabelCount) []string {
				return []string{l.Label, fmt.Sprint(l.Files)}
			})
		})
	cmd.AddCommand(list)
	return cmd
}

func copyCmd(move bool) *cobra.Command {
	var req api.CopyRequest
	verb, short := "copy", "Copy files to other labels or another channel"
	if move {
		verb, short = "move", "Move files to other labels or another channel"
	}
	// The files named are checked before any credentials are looked at.
	args := func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(1)(cmd, args); err != nil {
			return err
		}
		for _, a := range args[1:] {
			if _, err := parseRef(a); err != nil {
				return err
			}
		}
		return nil
	}
	cmd := remoteCmd(verb+" CHANNEL [SUBDIR/FILENAME...] [--from-label L] [--to-label L]... [--to-channel C]", short, args,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			for _, a := range args[1:] {
				ref, _ := parseRef(a) // checked by args
				req.Files = append(req.Files, ref)
			}
			req.Move = move
			files, err := c.Copy(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, files)
			}
			for _, f := range files {
				fmt.Fprintf(cmd.OutOrStdout(), "%s/%s/%s [%s]\n", f.Channel, f.Subdir, f.Filename, strings.Join(f.Labels, ", "))
			}
			return nil
		})
	cmd.Long = short + `. With no files named, every file of --from-label is taken.
Within one channel, copy adds the labels and move also takes --from-label off. Across channels,
the files are created in the target (sharing storage) with the --to-label labels (default main);
move then takes them out of the source: only --from-label when given, the whole file otherwise.`
	f := cmd.Flags()
	f.StringVar(&req.FromLabel, "from-label", "", "label to take the files from")
	f.StringArrayVar(&req.ToLabels, "to-label", nil, "label to put on the files (repeatable; default main)")
	f.StringVar(&req.ToChannel, "to-channel", "", "channel to copy or move the files to (default: the same channel)")
	return cmd
}

// compactJSON puts a JSON value on one line, for a table cell.
func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
