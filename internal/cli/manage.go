package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/pypi"
)

// channelRemoveCmd is `wharf channel remove NAME --yes`.
func channelRemoveCmd() *cobra.Command {
	var yes bool
	// --yes is checked before any credentials are looked at.
	args := func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(1)(cmd, args); err != nil {
			return err
		}
		if !yes {
			return fmt.Errorf("removing channel %s deletes all its files for everyone and cannot be undone; run wharf channel remove %s --yes if you mean it", args[0], args[0])
		}
		return nil
	}
	cmd := remoteCmd("remove NAME --yes", "Remove a channel or subchannel with all its files (needs --yes; the own channel of an account or organization stays)", args,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if err := c.RemoveChannel(cmd.Context(), args[0]); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"channel": args[0], "removed": true})
			}
			say(cmd, "removed channel %s", args[0])
			return nil
		})
	cmd.Long = `Remove a channel or subchannel (PARENT/CHILD) with all its files, labels and grants; conda and
pip stop finding it at once, and it cannot be undone. The command always needs --yes, so that a
mistyped name or a script cannot remove a channel by accident. The own channel of an account or
an organization (the one named after it) cannot be removed; remove its files with wharf file
remove instead.`
	cmd.Flags().BoolVar(&yes, "yes", false, "really remove the channel and everything in it")
	return cmd
}

// packageView is what `wharf package show` prints: one package of a channel, from the
// channel's listing of files.
type packageView struct {
	Channel  string         `json:"channel"`
	Package  string         `json:"package"`
	Kinds    []string       `json:"kinds"`    // conda, pypi or both (a conda package and a Python project may share a name)
	Private  bool           `json:"private"`  // the package is private
	Versions []string       `json:"versions"` // in the order of the listing, each once
	Files    []api.FileInfo `json:"files"`
}

// packageShowCmd is `wharf package show CHANNEL PACKAGE`.
func packageShowCmd() *cobra.Command {
	return remoteCmd("show CHANNEL PACKAGE", "Show a package of a channel: its versions, files, labels and privacy", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			channel, name := args[0], args[1]
			files, err := c.Files(cmd.Context(), channel, "")
			if err != nil {
				return err
			}
			v := packageView{Channel: channel, Package: name, Kinds: []string{}, Versions: []string{}, Files: []api.FileInfo{}}
			for _, f := range files {
				if !samePackage(f, name) {
					continue
				}
				v.Package = f.Package
				v.Files = append(v.Files, f)
				v.Private = v.Private || f.PackagePrivate
				if !slices.Contains(v.Kinds, f.Kind) {
					v.Kinds = append(v.Kinds, f.Kind)
				}
				if !slices.Contains(v.Versions, f.Version) {
					v.Versions = append(v.Versions, f.Version)
				}
			}
			if len(v.Files) == 0 {
				return fmt.Errorf("channel %s has no files of package %s that you may see; wharf file list %s shows its files", channel, name, channel)
			}
			if r.asJSON {
				return printJSON(cmd, v)
			}
			say(cmd, "%s in %s (%s, %s): versions %s", v.Package, channel, strings.Join(v.Kinds, ", "), privacy(v.Private), strings.Join(v.Versions, ", "))
			var rows [][]string
			for _, f := range v.Files {
				state := ""
				if f.Yanked {
					state = "yanked"
				}
				rows = append(rows, []string{f.Subdir + "/" + f.Filename, f.Version, fmt.Sprint(f.Size), strings.Join(f.Labels, ","), orDash(state)})
			}
			table(cmd, "FILE\tVERSION\tSIZE\tLABELS\tSTATE", rows)
			return nil
		})
}

// samePackage reports whether f is of the package name: a conda package by its exact name,
// a Python project in any spelling (Demo_Lib is demo-lib).
func samePackage(f api.FileInfo, name string) bool {
	if f.Kind == client.KindPyPI {
		return pypi.NormalizeName(f.Package) == pypi.NormalizeName(name)
	}
	return f.Package == name
}
