package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/client"
)

// remoteCmd is a command that talks to a server with the credentials remote.client finds:
// --token or WHARF_TOKEN, else the account named by -u (or WHARF_USERNAME) with the password
// in WHARF_PASSWORD, else the token of the site wharf login stored (--site, WHARF_SITE, the
// site of --server, the default site). It adds the remote flags; run gets the client.
func remoteCmd(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error) *cobra.Command {
	var r remote
	cmd := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		c, err := r.client()
		if err != nil {
			return err
		}
		return run(cmd, c, &r, args)
	}}
	addRemoteFlags(cmd, &r)
	return cmd
}

// anonymousCmd is a command that talks to a server without credentials: sign-up and the
// mailed links are for people who cannot sign in (yet), and WHARF_USERNAME may well name
// the account that does not exist yet.
func anonymousCmd(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error) *cobra.Command {
	var r remote
	cmd := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		ep, _, err := r.resolve() // the server only: no credentials are sent
		if err != nil {
			return err
		}
		r.server = ep.Server
		return run(cmd, client.New(ep.Server, "", ""), &r, args)
	}}
	f := cmd.Flags()
	f.StringVar(&r.server, "server", "", "server `URL` (default: WHARF_SERVER, else the default site's, else "+defaultServer+") [WHARF_SERVER]")
	f.BoolVar(&r.asJSON, "json", false, "print the result as JSON")
	return cmd
}

func say(cmd *cobra.Command, format string, a ...any) {
	fmt.Fprintf(cmd.OutOrStdout(), format+"\n", a...)
}

// warn prints a server's warning, if any, on standard error.
func warn(cmd *cobra.Command, warning string) {
	if warning != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "wharf: warning: "+warning)
	}
}

// readPassword reads a password as one line of standard input.
func readPassword(cmd *cobra.Command) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), access.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input: send it as one line, e.g. printf '%s\\n' \"$PASSWORD\" | wharf …")
	}
	if len(pw) > access.MaxPasswordBytes {
		return "", fmt.Errorf("the password on standard input is longer than %d bytes", access.MaxPasswordBytes)
	}
	return pw, nil
}

// tokenArg takes the token out of a mailed link (…?token=T), or returns s as it is.
func tokenArg(s string) string {
	if u, err := url.Parse(s); err == nil {
		if t := u.Query().Get("token"); t != "" {
			return t
		}
	}
	return s
}

func signupCmd() *cobra.Command {
	var email, invite string
	var passwordStdin bool
	cmd := anonymousCmd("signup USERNAME --email ADDRESS [--invite TOKEN] [--password-stdin]", "Sign up for an account",
		func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("name the account to create: wharf signup USERNAME --email ADDRESS [--invite TOKEN]")
			}
			return nil
		},
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if email == "" {
				return errors.New("give the account's email address with --email; the confirmation link goes there")
			}
			var pw string
			switch {
			case passwordStdin:
				var err error
				if pw, err = readPassword(cmd); err != nil {
					return err
				}
			case os.Getenv("WHARF_PASSWORD") != "":
				pw = os.Getenv("WHARF_PASSWORD")
			default:
				return errors.New("give the new account's password on standard input with --password-stdin, or in WHARF_PASSWORD")
			}
			msg, active, err := c.Signup(cmd.Context(), client.Signup{Username: args[0], Email: email, Password: pw, Invite: invite})
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"username": args[0], "email": email, "active": active, "message": msg})
			}
			say(cmd, "%s", msg)
			if !active {
				say(cmd, "then confirm the address: wharf account verify TOKEN (the token= part of the mailed link, or the whole link)")
			}
			return nil
		})
	cmd.Long = `Sign up for an account on a server that allows it (wharf serve --signup open, or
--signup invite with the token of an invitation mail). The password is read from standard
input with --password-stdin, or else taken from WHARF_PASSWORD. The server answers the same
whether or not the address has an account already; a link to confirm the address is mailed
to it, unless the invitation went to that very address, which makes the account active at once.`
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the account's email address")
	f.StringVar(&invite, "invite", "", "the token of an invitation mail, on servers that ask for one")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (default: WHARF_PASSWORD)")
	return cmd
}

func accountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Confirm an account's email address"}

	verify := anonymousCmd("verify TOKEN", "Confirm an address with the token (or the whole link) from the sign-up mail", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			msg, err := c.VerifyEmail(cmd.Context(), tokenArg(args[0]))
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]string{"message": msg})
			}
			say(cmd, "%s", msg)
			return nil
		})

	var email string
	resend := anonymousCmd("resend-verification --email ADDRESS", "Mail a new confirmation link", cobra.NoArgs,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if email == "" {
				return errors.New("give the account's address with --email")
			}
			msg, err := c.ResendVerification(cmd.Context(), email)
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]string{"message": msg})
			}
			say(cmd, "%s", msg)
			return nil
		})
	resend.Flags().StringVar(&email, "email", "", "the account's email address")

	cmd.AddCommand(verify, resend)
	return cmd
}

func passwordCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "password", Short: "Reset or change a password"}

	var email string
	reset := anonymousCmd("reset --email ADDRESS", "Mail a password-reset link", cobra.NoArgs,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if email == "" {
				return errors.New("give the account's address with --email")
			}
			msg, err := c.RequestPasswordReset(cmd.Context(), email)
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]string{"message": msg})
			}
			say(cmd, "%s", msg)
			say(cmd, "then: wharf password reset-confirm TOKEN --password-stdin (the token= part of the mailed link, or the whole link)")
			return nil
		})
	reset.Flags().StringVar(&email, "email", "", "the account's email address")

	var confirmStdin bool
	confirm := anonymousCmd("reset-confirm TOKEN --password-stdin", "Set a new password with the token (or the whole link) from the reset mail", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if !confirmStdin {
				return errors.New("give the new password on standard input with --password-stdin")
			}
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			if err := c.ConfirmPasswordReset(cmd.Context(), tokenArg(args[0]), pw); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]bool{"changed": true})
			}
			say(cmd, "password changed: sign in with the new one")
			return nil
		})
	confirm.Flags().BoolVar(&confirmStdin, "password-stdin", false, "read the new password from standard input")

	var changeStdin bool
	change := remoteCmd("change --password-stdin", "Change your password: the old one from WHARF_PASSWORD, the new one from standard input", cobra.NoArgs,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if c.Username == "" {
				return errors.New("name your account with -u or WHARF_USERNAME, and put its current password in WHARF_PASSWORD")
			}
			if !changeStdin {
				return errors.New("give the new password on standard input with --password-stdin")
			}
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			if err := c.ChangePassword(cmd.Context(), c.Password, pw); err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]any{"user": c.Username, "changed": true})
			}
			say(cmd, "password of %s changed: put the new one in WHARF_PASSWORD", c.Username)
			return nil
		})
	change.Flags().BoolVar(&changeStdin, "password-stdin", false, "read the new password from standard input")

	cmd.AddCommand(reset, confirm, change)
	return cmd
}

func whoamiCmd() *cobra.Command {
	return remoteCmd("whoami", "Show the account you are signed in as, the server, and the site and token used", cobra.NoArgs,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			a, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			w := whoamiOf(cmd, c, r, a)
			if r.asJSON {
				return printJSON(cmd, w)
			}
			printWhoami(cmd, w)
			return nil
		})
}

func userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage accounts over the API (administrators)",
		Long: `Manage accounts on a running server, as an administrator: signed in with wharf login, a
token (--token or WHARF_TOKEN), or -u and WHARF_PASSWORD. (wharf admin create-user works on
the data directory instead, without a server.)`}

	list := remoteCmd("list", "List every account", cobra.NoArgs,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			users, err := c.Users(cmd.Context())
			if err != nil {
				return err
			}
			return printList(cmd, r.asJSON, users, "NAME\tEMAIL\tCONFIRMED\tADMIN\tDISABLED", func(u client.User) []string {
				return []string{u.Name, u.Email, yesNo(u.EmailVerified), yesNo(u.Admin), yesNo(u.Disabled)}
			})
		})

	var email string
	var admin, passwordStdin bool
	create := remoteCmd("create NAME --email ADDRESS [--admin] [--password-stdin]", "Create an account (confirmed at once)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			if email == "" {
				return errors.New("give the account's email address with --email")
			}
			req := client.NewUser{Name: args[0], Email: email, Admin: admin}
			if passwordStdin {
				pw, err := readPassword(cmd)
				if err != nil {
					return err
				}
				req.Password = pw
			}
			u, generated, err := c.CreateUser(cmd.Context(), req)
			if err != nil {
				return err
			}
			if r.asJSON {
				out := map[string]any{"user": u}
				if generated != "" {
					out["password"] = generated
				}
				return printJSON(cmd, out)
			}
			say(cmd, "created user %s (admin: %v)", u.Name, u.Admin)
			if generated != "" {
				say(cmd, "password (shown once): %s", generated)
			}
			return nil
		})
	create.Long = "Create an account, confirmed at once. The password is read from standard input with\n--password-stdin; otherwise the server generates one, printed once."
	f := create.Flags()
	f.StringVar(&email, "email", "", "the account's email address")
	f.BoolVar(&admin, "admin", false, "make the account a server administrator")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")

	t, no := true, false
	update := func(use, short string, up client.UserUpdate, done string) *cobra.Command {
		return remoteCmd(use+" NAME", short, cobra.ExactArgs(1),
			func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
				u, err := c.UpdateUser(cmd.Context(), args[0], up)
				if err != nil {
					return err
				}
				if r.asJSON {
					return printJSON(cmd, u)
				}
				say(cmd, "%s %s", u.Name, done)
				return nil
			})
	}
	cmd.AddCommand(list, create,
		update("disable", "Disable an account: it can no longer sign in", client.UserUpdate{Disabled: &t}, "is disabled"),
		update("enable", "Enable a disabled account", client.UserUpdate{Disabled: &no}, "is enabled"),
		update("promote", "Make an account a server administrator", client.UserUpdate{Admin: &t}, "is an administrator"),
		update("demote", "Make an administrator an ordinary account", client.UserUpdate{Admin: &no}, "is no longer an administrator"),
	)
	return cmd
}

func inviteCmd() *cobra.Command {
	return remoteCmd("invite EMAIL", "Mail an invitation to sign up (administrators; for wharf serve --signup invite)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			msg, err := c.Invite(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if r.asJSON {
				return printJSON(cmd, map[string]string{"email": args[0], "message": msg})
			}
			say(cmd, "%s", msg)
			return nil
		})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
