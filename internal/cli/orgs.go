package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/store"
)

func orgCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Create organizations and manage their members"}

	create := remoteCmd("create NAME", "Create an organization, with you as its owner (it gets a channel of its name)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			o, err := c.CreateOrg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, o)
			}
			say(cmd, "created organization %s", o.Name)
			channelURLs(cmd, r.server, o.Name)
			return nil
		})

	show := remoteCmd("show NAME", "Show an organization's members, groups and grants", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			o, err := c.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, o)
			}
			say(cmd, "organization %s", o.Name)
			for _, m := range o.Members {
				say(cmd, "%s %s", m.Role, memberName(m.Name, m.Unconfirmed))
			}
			for _, g := range o.Groups {
				printGroup(cmd, g)
			}
			return nil
		})

	var limit int
	history := remoteCmd("history NAME [--limit N]", "Show what happened to an organization's members and groups, newest first", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			evs, err := c.OrgHistory(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, evs, "TIME\tWHO\tWHAT\tDETAIL", eventRow)
		})
	history.Flags().IntVar(&limit, "limit", 100, "how many events")

	member := &cobra.Command{Use: "member", Short: "Add, change and remove an organization's members"}
	var role string
	set := remoteCmd("set ORG USER --role owner|member", "Add a member to an organization or change their role", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if role != store.RoleOwner && role != store.RoleMember {
				return errors.New("give the role with --role owner or --role member")
			}
			o, err := c.SetOrgMember(cmd.Context(), args[0], args[1], role)
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, o)
			}
			say(cmd, "%s is %s of %s", args[1], role, o.Name)
			warn(cmd, o.Warning)
			return nil
		})
	set.Flags().StringVar(&role, "role", "", "owner (manages members, groups, grants and the organization's channels) or member")
	remove := remoteCmd("remove ORG USER", "Take a member out of an organization and all its groups", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if err := c.RemoveOrgMember(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"org": args[0], "user": args[1], "removed": true})
			}
			say(cmd, "removed %s from %s", args[1], args[0])
			return nil
		})
	member.AddCommand(set, remove)

	cmd.AddCommand(create, show, history, member)
	return cmd
}

// grantTarget formats what a grant is on: "acme" or "acme:demo".
func grantTarget(g store.Grant) string {
	if g.Package != "" {
		return g.Channel + ":" + g.Package
	}
	return g.Channel
}

// unconfirmedMark follows the name of an account that has not confirmed its address, as the
// web's organization page marks it.
const unconfirmedMark = " (address not confirmed)"

// memberName is a member's name as the lists show it: marked when unconfirmed.
func memberName(name string, unconfirmed bool) string {
	if unconfirmed {
		return name + unconfirmedMark
	}
	return name
}

// groupMembers are g's members as the lists show them, joined with sep.
func groupMembers(g store.Group, sep string) string {
	names := make([]string, len(g.Members))
	for i, m := range g.Members {
		names[i] = memberName(m, g.IsUnconfirmed(m))
	}
	return strings.Join(names, sep)
}

func printGroup(cmd *cobra.Command, g store.Group) {
	if len(g.Members) == 0 {
		say(cmd, "group %s: no members", g.Name)
	} else {
		say(cmd, "group %s: members %s", g.Name, groupMembers(g, ", "))
	}
	if len(g.Grants) == 0 {
		say(cmd, "group %s: no grants", g.Name)
	}
	for _, gr := range g.Grants {
		say(cmd, "group %s: %s on %s", g.Name, gr.LevelName, grantTarget(gr))
	}
}

// parseGrantTarget reads CHANNEL[:PACKAGE].
func parseGrantTarget(s string) (channel, pkg string, err error) {
	channel, pkg, ok := strings.Cut(s, ":")
	if channel == "" || ok && pkg == "" {
		return "", "", fmt.Errorf("%q: name a channel, or one package of it as CHANNEL:PACKAGE", s)
	}
	return channel, pkg, nil
}

func groupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage an organization's groups and what they may do",
		Long: `Groups belong to an organization; their owners manage them. A group's grants give its
members read, write or manage on the organization's channels, or on one package of a channel
(CHANNEL:PACKAGE). A grant on a channel reaches its subchannels.`}

	create := remoteCmd("create ORG GROUP", "Create a group", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			g, err := c.CreateGroup(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, g)
			}
			say(cmd, "created group %s in %s", g.Name, args[0])
			return nil
		})

	del := remoteCmd("delete ORG GROUP", "Delete a group and its grants", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if err := c.DeleteGroup(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"org": args[0], "group": args[1], "deleted": true})
			}
			say(cmd, "deleted group %s of %s", args[1], args[0])
			return nil
		})

	list := remoteCmd("list ORG", "List an organization's groups with their members and grants", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			groups, err := c.Groups(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, groups, "GROUP\tMEMBERS\tGRANTS", func(g store.Group) []string {
				var grants []string
				for _, gr := range g.Grants {
					grants = append(grants, gr.LevelName+" on "+grantTarget(gr))
				}
				return []string{g.Name, orDash(groupMembers(g, ",")), orDash(strings.Join(grants, ", "))}
			})
		})

	add := remoteCmd("add ORG GROUP USER", "Add a user to a group (and to the organization, as a member, if need be)", cobra.ExactArgs(3),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			warning, err := c.AddGroupMember(cmd.Context(), args[0], args[1], args[2])
			if err != nil {
				return err
			}
			if r.asJSON {
				out := map[string]any{"org": args[0], "group": args[1], "user": args[2], "added": true}
				if warning != "" {
					out["warning"] = warning
				}
				return printJSON(cmd, out)
			}
			say(cmd, "added %s to group %s of %s", args[2], args[1], args[0])
			warn(cmd, warning)
			return nil
		})

	remove := remoteCmd("remove ORG GROUP USER", "Take a user out of a group", cobra.ExactArgs(3),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if err := c.RemoveGroupMember(cmd.Context(), args[0], args[1], args[2]); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"org": args[0], "group": args[1], "user": args[2], "removed": true})
			}
			say(cmd, "removed %s from group %s of %s", args[2], args[1], args[0])
			return nil
		})

	grant := remoteCmd("grant ORG GROUP CHANNEL[:PACKAGE] read|write|manage", "Give a group a level on one of the organization's channels, or on one package of it", cobra.ExactArgs(4),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			channel, pkg, err := parseGrantTarget(args[2])
			if err != nil {
				return err
			}
			groups, err := c.SetGrant(cmd.Context(), args[0], args[1], channel, pkg, args[3])
			if err != nil {
				return err
			}
			if r.asJSON {
				for _, g := range groups {
					if g.Name == args[1] {
						return printJSON(cmd, g)
					}
				}
				return printJSON(cmd, groups)
			}
			// As kept: a package's name lowercase, which names the conda package of that
			// name and the Python project it spells (Yankee_Lib: yankee_lib and yankee-lib).
			target := args[2]
			for _, g := range groups {
				for _, gr := range g.Grants {
					if g.Name == args[1] && pkg != "" && strings.EqualFold(gr.Package, pkg) {
						target = grantTarget(gr)
					}
				}
			}
			say(cmd, "group %s of %s: %s on %s", args[1], args[0], args[3], target)
			return nil
		})
	grant.Long = `Give a group a level on one of the organization's channels, or on one package of it
(CHANNEL:PACKAGE), replacing the level it had there. read: see and download; write: also
upload, label, copy; manage: also remove files, change privacy, read history. A package is
named in any spelling: a grant on Yankee_Lib reaches the conda package yankee_lib (conda
names are lowercase) and the Python project yankee-lib (PEP 503), now or once uploaded.`

	revoke := remoteCmd("revoke ORG GROUP CHANNEL[:PACKAGE]", "Take a group's grant on a channel (or one package of it) away", cobra.ExactArgs(3),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			channel, pkg, err := parseGrantTarget(args[2])
			if err != nil {
				return err
			}
			if err := c.RemoveGrant(cmd.Context(), args[0], args[1], channel, pkg); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"org": args[0], "group": args[1], "channel": channel, "package": pkg, "revoked": true})
			}
			say(cmd, "group %s of %s: no grant on %s", args[1], args[0], args[2])
			return nil
		})

	cmd.AddCommand(create, del, list, add, remove, grant, revoke)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// channelPrivacyCmd is `wharf channel set-private` or `set-public`.
func channelPrivacyCmd(private bool) *cobra.Command {
	use, short := "set-public NAME", "Make a channel public: anyone may see and download its public packages"
	if private {
		use, short = "set-private NAME", "Make a channel private: only its owners and grantees may see it; others get 404"
	}
	return remoteCmd(use, short, cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			ch, err := c.SetChannelPrivate(cmd.Context(), args[0], private)
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, ch)
			}
			say(cmd, "%s is %s", ch.Name, privacy(ch.Private))
			if ch.Parent != "" && !ch.Private {
				say(cmd, "(a subchannel stays private while its parent %s is)", ch.Parent)
			}
			return nil
		})
}

func packageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "package", Short: "Show one package of a channel, and make it private or public"}
	privacyCmd := func(private bool) *cobra.Command {
		use, short := "set-public CHANNEL PACKAGE", "Make a package public again (as public as its channel)"
		if private {
			use, short = "set-private CHANNEL PACKAGE", "Make a package private: it leaves repodata and listings for those who may not read it"
		}
		return remoteCmd(use, short, cobra.ExactArgs(2),
			func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
				p, err := c.SetPackagePrivate(cmd.Context(), args[0], args[1], private)
				if err != nil {
					return err
				}
				if r.asJSON {
					return printJSON(cmd, p)
				}
				say(cmd, "package %s of %s is %s", p.Package, p.Channel, privacy(p.Private))
				return nil
			})
	}
	cmd.AddCommand(packageShowCmd(), privacyCmd(true), privacyCmd(false))
	return cmd
}
