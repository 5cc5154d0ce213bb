// Package mail sends Wharf's account mails: email verification links, password reset links and
// invitations. A deployment either relays through an SMTP server or, with none configured,
// writes each mail as an .eml file into an outbox directory that an administrator can read.
//
// Bodies carry secret links, so nothing here ever logs or returns a body in an error.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
)

// Message is one mail.
type Message struct {
	To      string // one address: "alice@example.com" or "Alice <alice@example.com>"
	Subject string
	Text    string // plain-text body, lines separated by "\n"
}

// Sender sends mail.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Config chooses a sender: SMTP when SMTPAddr is set, else the outbox directory.
type Config struct {
	From      string // e.g. "Wharf <wharf@localhost>"; default "wharf@localhost"
	SMTPAddr  string // host:port; "" = no SMTP
	SMTPUser  string
	SMTPPass  string
	SMTPTLS   string // "starttls" (default when SMTPAddr set), "tls" (implicit, port 465), "none" (only allowed to loopback addresses)
	OutboxDir string // used when SMTPAddr == ""
}

// DefaultFrom is the sender address used when Config.From is empty.
const DefaultFrom = "wharf@localhost"

// The SMTPTLS values.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// New returns the sender cfg asks for. A nil log discards.
func New(cfg Config, log *slog.Logger) (Sender, error) {
	// Each return converts a typed pointer to Sender only on success: a nil *Outbox in a
	// Sender would not compare equal to nil.
	if cfg.SMTPAddr != "" {
		s, err := newSMTP(cfg, log)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	// Credentials without a server are a configuration mistake that would otherwise go
	// unnoticed until someone wonders why no mail arrives.
	if cfg.SMTPUser != "" || cfg.SMTPPass != "" {
		return nil, errors.New("mail: an SMTP user or password is set but no SMTP address")
	}
	if cfg.SMTPTLS != "" {
		if _, err := parseTLSMode(cfg.SMTPTLS); err != nil {
			return nil, err
		}
	}
	if cfg.OutboxDir == "" {
		return nil, errors.New("mail: neither an SMTP address nor an outbox directory is set")
	}
	o, err := NewOutbox(cfg.OutboxDir, cfg.From, log)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func parseTLSMode(s string) (string, error) {
	switch s {
	case "":
		return TLSStartTLS, nil
	case TLSStartTLS, TLSImplicit, TLSNone:
		return s, nil
	}
	return "", fmt.Errorf("mail: SMTP TLS mode %q: want %q, %q or %q", s, TLSStartTLS, TLSImplicit, TLSNone)
}

// parseFrom checks the sender address, "" meaning DefaultFrom.
func parseFrom(from string) (*mail.Address, error) {
	if from == "" {
		from = DefaultFrom
	}
	a, err := parseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender: %w", err)
	}
	return a, nil
}

func discardIfNil(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
