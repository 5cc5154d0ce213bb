package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/mail"
)

// outboxCmd prints the mails a server without SMTP wrote to <data>/outbox, decoded: the raw
// .eml files are quoted-printable, where a link's "=" reads "=3D" and long lines are cut.
func outboxCmd() *cobra.Command {
	cfg, envErr := loadConfig()
	var to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "outbox [--to ADDRESS] [--data DIR]",
		Short: "Print the account mails in <data>/outbox (servers without --smtp-addr), oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			msgs, err := mail.ReadOutbox(cfg.OutboxDir())
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no outbox at %s: a server started with this --data and without --smtp-addr creates it", cfg.OutboxDir())
			} else if err != nil {
				return err
			}
			type mailJSON struct {
				To      string `json:"to"`
				Subject string `json:"subject"`
				Text    string `json:"text"`
			}
			out := []mailJSON{}
			for _, m := range msgs {
				if to == "" || strings.EqualFold(m.To, to) || strings.HasSuffix(strings.ToLower(m.To), "<"+strings.ToLower(to)+">") {
					out = append(out, mailJSON{m.To, m.Subject, m.Text})
				}
			}
			if len(out) == 0 && to != "" {
				// A server writes account mail a moment after it answers (the work that
				// depends on the address is queued): right after wharf signup it may not be there yet.
				fmt.Fprintf(cmd.ErrOrStderr(), "no mail to %s in %s yet: the server writes it a moment after it answers; run this again\n", to, cfg.OutboxDir())
			}
			if asJSON {
				return printJSON(cmd, out)
			}
			for _, m := range out {
				say(cmd, "--- to %s: %s", m.To, m.Subject)
				say(cmd, "%s", strings.TrimRight(m.Text, "\n"))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory [WHARF_DATA]")
	f.StringVar(&to, "to", "", "only the mails to this address")
	f.BoolVar(&asJSON, "json", false, "print the mails as JSON")
	return failIf(envErr, cmd)
}
