package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	dialTimeout = 10 * time.Second
	// sessionTimeout bounds one whole delivery when ctx has no earlier deadline, so a server
	// that stops answering cannot hold a request forever.
	sessionTimeout = time.Minute
)

// smtpSender relays each message through an SMTP server on a connection of its own: account
// mail is rare, and a pooled connection would need keep-alive and reconnect logic.
type smtpSender struct {
	addr, host string
	mode       string // TLSStartTLS, TLSImplicit or TLSNone
	user, pass string
	from       *mail.Address
	helo       string
	log        *slog.Logger
	rootCAs    *x509.CertPool // nil = the system's; tests trust their own
}

var _ Sender = (*smtpSender)(nil)

func newSMTP(cfg Config, log *slog.Logger) (*smtpSender, error) {
	mode, err := parseTLSMode(cfg.SMTPTLS)
	if err != nil {
		return nil, err
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(cfg.SMTPAddr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("mail: SMTP address %q: want host:port, e.g. smtp.example.com:587", cfg.SMTPAddr)
	}
	// Without TLS the password and the secret links cross the network in the clear; that is
	// only acceptable to a relay on this machine.
	if mode == TLSNone && !loopbackHost(host) {
		return nil, fmt.Errorf("mail: SMTP TLS mode %q is only allowed to a loopback address (localhost, 127.0.0.1, ::1), not %q; use %q or %q",
			TLSNone, host, TLSStartTLS, TLSImplicit)
	}
	if cfg.SMTPPass != "" && cfg.SMTPUser == "" {
		return nil, errors.New("mail: an SMTP password is set without an SMTP user")
	}
	// AUTH PLAIN separates its fields with NUL bytes.
	if strings.ContainsRune(cfg.SMTPUser, 0) || strings.ContainsRune(cfg.SMTPPass, 0) {
		return nil, errors.New("mail: the SMTP user or password contains a NUL byte")
	}
	return &smtpSender{
		addr: cfg.SMTPAddr, host: host, mode: mode,
		user: cfg.SMTPUser, pass: cfg.SMTPPass,
		from: from, helo: helloName(), log: discardIfNil(log),
	}, nil
}

// loopbackHost reports whether host names this machine without a DNS look-up that could
// say otherwise: "localhost" or a loopback IP. Send checks the connected address again.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// helloName is the name given in EHLO: this machine's host name when it is a valid one.
func helloName() string {
	if h, err := os.Hostname(); err == nil && hostName(h) {
		return h
	}
	return "localhost"
}

// Send delivers m to the server. A nil error means the server accepted the message.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	to, err := checkMessage(m)
	if err != nil {
		return err
	}
	data := formatMessage(s.from, to, m.Subject, m.Text, time.Now(), newMessageID(s.from))
	if err := s.deliver(ctx, to.Address, data); err != nil {
		return fmt.Errorf("mail: send mail to %s via %s: %w", to.Address, s.addr, err)
	}
	s.log.InfoContext(ctx, "mail sent over smtp", "to", to.Address, "subject", m.Subject, "server", s.addr)
	return nil
}

func (s *smtpSender) deliver(ctx context.Context, rcpt string, data []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	// Whatever step failed, a cancelled or expired ctx is the reason the caller needs to see
	// (and test with errors.Is).
	defer func() {
		if err == nil {
			return
		}
		// The connection deadline is ctx's, and a read can time out just before ctx's own
		// timer marks it done; once the deadline has passed, that is a matter of moments.
		if dl, ok := ctx.Deadline(); ok && ctx.Err() == nil && !time.Now().Before(dl) {
			<-ctx.Done()
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}

	d := net.Dialer{Timeout: dialTimeout}
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	if s.mode == TLSNone {
		if ip := raw.RemoteAddr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			return fmt.Errorf("refusing SMTP without TLS: %s is %s, not a loopback address", s.host, ip)
		}
	}
	// net/smtp takes no ctx: the deadline bounds every read and write, and cancellation moves
	// it into the past, which fails the blocked call at once.
	deadline, _ := ctx.Deadline()
	if err := raw.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsConfig := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}
	conn := raw
	if s.mode == TLSImplicit {
		tc := tls.Client(raw, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if s.mode == TLSStartTLS {
		// Never fall back to plain text: the message carries secret links.
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("the server does not offer STARTTLS; set the SMTP TLS mode to %q if it expects TLS from the first byte", TLSImplicit)
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.user != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return fmt.Errorf("the server does not offer AUTH PLAIN (AUTH mechanisms offered: %q)", mechs)
		}
		if err := c.Auth(plainAuth{user: s.user, pass: s.pass, cleartextOK: s.mode == TLSNone}); err != nil {
			return fmt.Errorf("AUTH PLAIN as %q: %w", s.user, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// Close sends the final "." and reads the server's verdict on the message.
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The server has taken the mail. A failed QUIT changes nothing, and reporting it would
	// make the caller send the mail twice.
	_ = c.Quit()
	return nil
}

// plainAuth is AUTH PLAIN (RFC 4616). net/smtp's PlainAuth would do, but it allows clear
// text only to the literal names localhost, 127.0.0.1 and ::1; this one allows it exactly
// when the sender was configured for (and has checked) a loopback server without TLS.
type plainAuth struct {
	user, pass  string
	cleartextOK bool
}

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.cleartextOK {
		return "", nil, errors.New("refusing to send the SMTP password over a connection without TLS")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("the server sent a challenge after AUTH PLAIN")
	}
	return nil, nil
}
