package mail_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/mail"
)

type customSender struct{}

func (customSender) Send(context.Context, mail.Message) error { return nil }

func TestDescribeSaysWhereMailGoesWithoutThePassword(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	tests := []struct {
		name    string
		cfg     mail.Config
		want    []string
		wantNot []string
	}{
		{"outbox", mail.Config{OutboxDir: dir, From: "Wharf <wharf@example.com>"},
			[]string{"outbox directory " + dir, ".eml", "wharf@example.com"}, []string{"SMTP"}},
		{"starttls with a user", mail.Config{SMTPAddr: "smtp.example.com:587", SMTPUser: "relay", SMTPPass: "hunter2-secret"},
			[]string{"SMTP server smtp.example.com:587", "STARTTLS", `signed in as "relay"`, mail.DefaultFrom}, []string{"hunter2-secret", "outbox"}},
		{"implicit tls", mail.Config{SMTPAddr: "smtp.example.com:465", SMTPTLS: mail.TLSImplicit},
			[]string{"smtp.example.com:465", "TLS from the first byte", "without signing in"}, nil},
		{"loopback without tls", mail.Config{SMTPAddr: "127.0.0.1:25", SMTPTLS: mail.TLSNone},
			[]string{"127.0.0.1:25", "no TLS"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := mail.New(tt.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := s.(mail.Describer); !ok {
				t.Fatalf("%T is not a mail.Describer", s)
			}
			got := mail.Describe(s)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Describe = %q, want it to hold %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("Describe = %q, holds %q", got, w)
				}
			}
		})
	}
	if got := mail.Describe(customSender{}); !strings.Contains(got, "customSender") {
		t.Errorf("Describe of a sender of its own = %q, want its type", got)
	}
	if got := mail.Describe(nil); got != "no mail sender" {
		t.Errorf("Describe(nil) = %q", got)
	}
}
