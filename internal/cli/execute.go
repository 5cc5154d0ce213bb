package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/version"
)

// Execute runs the command line args on root and reports an error in one place, for every
// command: with --json as one JSON object on standard output, {"error": MESSAGE} (with the
// server's "status" and "code" when it answered), else as "wharf: MESSAGE" on standard error.
// It returns the exit status: 0, or 1 on an error.
func Execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if cmd == nil {
		cmd = root
	}
	var shown *shownError
	var reported *reportedError
	switch {
	case errors.As(err, &reported):
		// The answer printed is the whole report; the exit status says it failed.
	case errors.As(err, &shown):
		// The command printed its answer, with what failed in it, already.
		fmt.Fprintln(cmd.ErrOrStderr(), "wharf:", err)
	case jsonMode(cmd, args):
		out := jsonError{Error: err.Error()}
		var ae *client.APIError
		if errors.As(err, &ae) {
			out.Status, out.Code = ae.Status, ae.Code
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if enc.Encode(out) != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "wharf:", err)
		}
	default:
		fmt.Fprintln(cmd.ErrOrStderr(), "wharf:", err)
	}
	return 1
}

// jsonError is what a failed command prints with --json.
type jsonError struct {
	Error  string `json:"error"`
	Status int    `json:"status,omitempty"` // the server's HTTP status, when it answered
	Code   string `json:"code,omitempty"`   // and its error code
}

// shownError is an error a --json command has already put in the answer it printed (as
// wharf upload does, file by file): Execute then prints no second JSON document.
type shownError struct{ error }

func (e *shownError) Unwrap() error { return e.error }

// reportedError is the failure of a --json command whose answer is the whole report of it (wharf
// admin fsck, whose report lists what is wrong): Execute prints nothing else, not even on
// standard error, and exits 1.
type reportedError struct{ error }

func (e *reportedError) Unwrap() error { return e.error }

// jsonMode says whether the command line asked for --json: the command's flag once parsed,
// else (the flags could not be parsed, or the command has no such flag) --json among args.
func jsonMode(cmd *cobra.Command, args []string) bool {
	if f := cmd.Flags().Lookup("json"); f != nil && f.Changed {
		v, _ := strconv.ParseBool(f.Value.String())
		return v
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--json"); ok && (v == "" || strings.HasPrefix(v, "=")) {
			b, err := strconv.ParseBool(strings.TrimPrefix(v, "="))
			return v == "" || (err == nil && b)
		}
	}
	return false
}

// refuseUnknownSubcommands makes every command that only groups others (wharf channel, wharf
// site, …) refuse an unknown subcommand, with the names it might have meant, as cobra does for
// the top level: by default cobra shows such a command's help and exits 0 (wharf channel lst).
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	c.SuggestionsMinimumDistance = 2 // cobra sets it on the top level only
	if c.HasParent() && c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		// wharf site lst --json: the unknown subcommand is the error, not the flag that
		// belongs to the subcommand meant.
		c.FParseErrWhitelist.UnknownFlags = true
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
	}
}

// refuseUnknownHelpTopics makes wharf help fail for a topic that is not a command, with the
// names it might have meant, as the command would: cobra's help says "Unknown help topic" and
// exits 0 (wharf help chanel).
func refuseUnknownHelpTopics(root *cobra.Command) {
	root.InitDefaultHelpCmd() // cobra's, kept for its help text and completion
	for _, h := range root.Commands() {
		if h.Name() != "help" || h.Run == nil {
			continue
		}
		show := h.Run
		h.RunE = func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return err // unknown at the top level, with cobra's suggestions
			}
			if len(rest) > 0 && cmd.HasSubCommands() {
				return unknownCommand(cmd, rest[0])
			}
			show(c, args)
			return nil
		}
	}
}

// unknownCommand is cobra's error for an unknown subcommand, with its suggestions.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return errors.New(msg + "\nRun '" + cmd.CommandPath() + " --help' for its commands.")
}

func versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show wharf's version, the commit it was built from and the Go that built it",
		Long: `Show wharf's version, the commit it was built from and the Go that built it (also
wharf --version). A server says its own at GET /api/v1/version and in its pages' footer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return printJSON(cmd, version.Get())
			}
			say(cmd, "%s", version.String())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
