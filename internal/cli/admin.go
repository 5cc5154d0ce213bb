package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/passwords"
	"github.com/wharfhq/wharf/internal/store"
)

func adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer the server's data directly (no server needed)"}
	cmd.AddCommand(createUserCmd(), outboxCmd())
	return cmd
}

func createUserCmd() *cobra.Command {
	cfg := loadConfig()
	var email string
	var admin, passwordStdin, asJSON bool
	cmd := &cobra.Command{
		Use:   "create-user NAME --email EMAIL [--admin] [--password-stdin]",
		Short: "Create a user account in the data directory or database",
		Long: `Create a user account, working on the data directory (or --database) directly.
The password is read from standard input with --password-stdin; otherwise one is generated
and printed once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := names.Account(name); err != nil {
				return fmt.Errorf("username: %w", err)
			}
			if err := names.Email(email); err != nil {
				return fmt.Errorf("give the user's email address with --email: %w", err)
			}
			password, generated := "", false
			if passwordStdin {
				var err error
				if password, err = readPassword(cmd); err != nil {
					return err
				}
				if err := passwords.Check(name, password); err != nil {
					return fmt.Errorf("the password on standard input: %w", err)
				}
			} else {
				password, generated = access.GeneratePassword(), true
			}
			hash, err := access.HashPassword(password)
			if err != nil {
				return err
			}
			cfg, err := cfg.Resolve()
			if err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.CreateUser(cmd.Context(), store.NewUser{Name: name, Email: email, EmailVerified: true, PasswordHash: hash, Admin: admin})
			if err != nil {
				return err
			}
			out := map[string]any{"name": u.Name, "email": u.Email, "admin": u.Admin}
			if generated {
				out["password"] = password
			}
			if asJSON {
				return printJSON(cmd, out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (admin: %v)\n", u.Name, u.Admin)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password (shown once): %s\n", password)
			}
			return nil
		},
	}
	storageFlags(cmd, &cfg)
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the user's email address")
	f.BoolVar(&admin, "admin", false, "make the user a server administrator")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
