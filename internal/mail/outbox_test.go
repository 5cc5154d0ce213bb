package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/mail"
)

func newOutbox(t *testing.T) (*mail.Outbox, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := mail.NewOutbox(dir, "Wharf <wharf@example.com>", nil)
	if err != nil {
		t.Fatal(err)
	}
	return o, dir
}

func TestOutboxRoundTrip(t *testing.T) {
	o, dir := newOutbox(t)
	sent := []mail.Message{
		{To: "alice@example.com", Subject: "Verify your email address", Text: "Open https://wharf.example/verify?token=abc\n"},
		{To: `"Zoë Ünal" <zoe@example.com>`, Subject: "Réinitialisez votre mot de passe ✉", Text: "Grüße, 世界 — https://wharf.example/reset?t=é\r\nend"},
		{To: "bob@example.com", Subject: "", Text: ""},
	}
	for _, m := range sent {
		if err := o.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := mail.ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sent, got); diff != "" {
		t.Errorf("outbox (-sent +read):\n%s", diff)
	}
}

func TestOutboxFilesAndModes(t *testing.T) {
	o, dir := newOutbox(t)
	if err := o.Send(t.Context(), mail.Message{To: "alice@example.com", Subject: "s", Text: "secret link"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("outbox directory mode %v, want 0700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("outbox holds %d entries, want one file (no temp files left)", len(entries))
	}
	name := regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[A-Z2-7]{26}\.eml$`)
	if !name.MatchString(entries[0].Name()) {
		t.Errorf("file name %q does not match %v", entries[0].Name(), name)
	}
	info, err := entries[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mail file mode %v, want 0600", perm)
	}
}

func TestOutboxOrderIsSendOrder(t *testing.T) {
	o, dir := newOutbox(t)
	var sent []mail.Message
	for i := range 50 {
		m := mail.Message{To: "alice@example.com", Subject: fmt.Sprintf("mail %02d", i), Text: "x"}
		if err := o.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	got, err := mail.ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sent, got); diff != "" {
		t.Errorf("outbox order (-sent +read):\n%s", diff)
	}
}

func TestOutboxConcurrentSends(t *testing.T) {
	o, dir := newOutbox(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("mail %02d", i))
		wg.Go(func() {
			errs <- o.Send(t.Context(), mail.Message{To: "alice@example.com", Subject: fmt.Sprintf("mail %02d", i), Text: strings.Repeat("body ", i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := mail.ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range got {
		subjects = append(subjects, m.Subject)
		var i int
		if _, err := fmt.Sscanf(m.Subject, "mail %d", &i); err != nil || m.Text != strings.Repeat("body ", i) {
			t.Errorf("%q came with the body %q", m.Subject, m.Text)
		}
	}
	slices.Sort(subjects)
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("subjects (-sent +read):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Errorf("outbox holds %d entries, want %d (temp files left behind or names shared)", len(entries), n)
	}
}

func TestOutboxLogsOneLineWithoutBody(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := mail.NewOutbox(dir, "", log)
	if err != nil {
		t.Fatal(err)
	}
	m := mail.Message{To: "alice@example.com", Subject: "Reset your password", Text: "https://wharf.example/reset?token=SECRET-TOKEN"}
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "SECRET-TOKEN") {
		t.Fatalf("the log shows the body: %s", buf.String())
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	file, _ := rec["file"].(string)
	if rec["level"] != "INFO" || rec["msg"] != "mail written to outbox" || rec["to"] != m.To || rec["subject"] != m.Subject ||
		filepath.Dir(file) != dir {
		t.Errorf("log record %v: want level INFO, msg %q, to, subject and a file in %s", rec, "mail written to outbox", dir)
	}
}

func TestOutboxRefusesHeaderInjection(t *testing.T) {
	o, dir := newOutbox(t)
	for _, m := range []mail.Message{
		{To: "alice@example.com\r\nBcc: eve@example.com", Subject: "s"},
		{To: "alice@example.com", Subject: "s\r\nBcc: eve@example.com"},
		{To: "alice@example.com", Subject: "s\nBcc: eve@example.com"},
	} {
		if err := o.Send(t.Context(), m); err == nil || !strings.Contains(err.Error(), "line break") {
			t.Errorf("Send(%q, %q) = %v, want an error about a line break", m.To, m.Subject, err)
		}
	}
	if got, err := mail.ReadOutbox(dir); err != nil || len(got) != 0 {
		t.Errorf("outbox holds %v, %v; want nothing", got, err)
	}
}

func TestOutboxCancelledContext(t *testing.T) {
	o, dir := newOutbox(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := o.Send(ctx, mail.Message{To: "alice@example.com"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled ctx = %v, want context.Canceled", err)
	}
	if got, err := mail.ReadOutbox(dir); err != nil || len(got) != 0 {
		t.Errorf("outbox holds %v, %v; want nothing", got, err)
	}
}

func TestReadOutbox(t *testing.T) {
	t.Run("skips temp and other files", func(t *testing.T) {
		o, dir := newOutbox(t)
		m := mail.Message{To: "alice@example.com", Subject: "s", Text: "x"}
		if err := o.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{".0123.eml.tmp", "README", ".hidden.eml"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "sub.eml"), 0o700); err != nil {
			t.Fatal(err)
		}
		got, err := mail.ReadOutbox(dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]mail.Message{m}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("names a broken file", func(t *testing.T) {
		_, dir := newOutbox(t)
		if err := os.WriteFile(filepath.Join(dir, "broken.eml"), []byte("To: a@b\r\n\r\nno subject"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := mail.ReadOutbox(dir)
		if err == nil || !strings.Contains(err.Error(), "broken.eml") || !strings.Contains(err.Error(), "Subject") {
			t.Errorf("error %v; want one naming broken.eml and the missing Subject", err)
		}
	})
	t.Run("empty is an empty list", func(t *testing.T) {
		_, dir := newOutbox(t)
		got, err := mail.ReadOutbox(dir)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("ReadOutbox = %#v, %v; want an empty non-nil list", got, err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		_, err := mail.ReadOutbox(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v; want fs.ErrNotExist", err)
		}
	})
}

func TestNew(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox")
	for _, tc := range []struct {
		name string
		cfg  mail.Config
		want string // "" = accepted; else in the error
	}{
		{"outbox", mail.Config{OutboxDir: outbox}, ""},
		{"SMTP wins over the outbox", mail.Config{SMTPAddr: "smtp.example.com:587", OutboxDir: outbox}, ""},
		{"starttls", mail.Config{SMTPAddr: "smtp.example.com:587", SMTPTLS: "starttls", SMTPUser: "u", SMTPPass: "p"}, ""},
		{"implicit tls", mail.Config{SMTPAddr: "smtp.example.com:465", SMTPTLS: "tls"}, ""},
		{"none to 127.0.0.1", mail.Config{SMTPAddr: "127.0.0.1:25", SMTPTLS: "none"}, ""},
		{"none to localhost", mail.Config{SMTPAddr: "localhost:25", SMTPTLS: "none", SMTPUser: "u", SMTPPass: "p"}, ""},
		{"none to ::1", mail.Config{SMTPAddr: "[::1]:25", SMTPTLS: "none"}, ""},
		{"none to a host name", mail.Config{SMTPAddr: "smtp.example.com:25", SMTPTLS: "none"}, `"none" is only allowed to a loopback address`},
		{"none to a public IP", mail.Config{SMTPAddr: "192.0.2.1:25", SMTPTLS: "none"}, `"none" is only allowed to a loopback address`},
		{"none to a public IPv6", mail.Config{SMTPAddr: "[2001:db8::1]:25", SMTPTLS: "none"}, `"none" is only allowed to a loopback address`},
		{"none to all interfaces", mail.Config{SMTPAddr: "0.0.0.0:25", SMTPTLS: "none"}, `"none" is only allowed to a loopback address`},
		{"unknown TLS mode", mail.Config{SMTPAddr: "smtp.example.com:25", SMTPTLS: "ssl"}, `TLS mode "ssl"`},
		{"unknown TLS mode with outbox", mail.Config{OutboxDir: outbox, SMTPTLS: "yes"}, `TLS mode "yes"`},
		{"no port", mail.Config{SMTPAddr: "smtp.example.com"}, "want host:port"},
		{"no host", mail.Config{SMTPAddr: ":25"}, "want host:port"},
		{"password without user", mail.Config{SMTPAddr: "smtp.example.com:587", SMTPPass: "p"}, "password is set without an SMTP user"},
		{"NUL in password", mail.Config{SMTPAddr: "smtp.example.com:587", SMTPUser: "u", SMTPPass: "p\x00"}, "NUL byte"},
		{"user without SMTP", mail.Config{OutboxDir: outbox, SMTPUser: "u"}, "no SMTP address"},
		{"nothing", mail.Config{}, "neither an SMTP address nor an outbox directory"},
		{"bad sender", mail.Config{OutboxDir: outbox, From: "Wharf"}, "sender"},
		{"sender with line break", mail.Config{OutboxDir: outbox, From: "wharf@example.com\r\nBcc: eve@example.com"}, "line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := mail.New(tc.cfg, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && s == nil:
				t.Fatal("nil sender without an error")
			case tc.want != "" && err == nil:
				t.Fatalf("accepted; want an error saying %q", tc.want)
			case tc.want != "" && s != nil:
				t.Errorf("a non-nil sender %#v with the error", s)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestNewOutboxDefaultSender(t *testing.T) {
	dir := t.TempDir()
	s, err := mail.New(mail.Config{OutboxDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*mail.Outbox); !ok {
		t.Fatalf("New without SMTPAddr returned %T, want *mail.Outbox", s)
	}
	if err := s.Send(t.Context(), mail.Message{To: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("outbox files %v, %v; want one", files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("From: wharf@localhost\r\n")) {
		t.Errorf("mail starts %q; want From: wharf@localhost", raw[:min(len(raw), 40)])
	}
}
