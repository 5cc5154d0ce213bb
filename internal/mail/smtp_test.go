package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSMTPServer is an in-process stand-in for an SMTP server, for tests only. It speaks just
// enough RFC 5321 (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to record
// what a client sends; it delivers nothing.
type fakeSMTPServer struct {
	// Set before start.
	implicitTLS   bool   // TLS from the first byte (port 465 style)
	startTLS      bool   // offer STARTTLS
	user, pass    string // non-empty: offer AUTH PLAIN and require it before MAIL
	authCleartext bool   // offer AUTH without TLS too (a loopback relay)
	rejectRcpt    bool   // answer every RCPT with 550
	stall         bool   // accept connections and never answer

	tlsConfig *tls.Config
	ln        net.Listener
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	mails []fakeMail
}

// fakeMail is one message the fake server accepted.
type fakeMail struct {
	TLS        bool   // sent over TLS
	User, Pass string // from AUTH PLAIN; "" = not authenticated
	From       string // MAIL FROM address
	To         []string
	Data       []byte // as read by a DATA reader: dot-stuffing undone, LF line endings
}

// start listens on a loopback port; the server stops when the test ends.
func (f *fakeSMTPServer) start(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	f.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return ln.Addr().String()
}

func (f *fakeSMTPServer) connCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *fakeSMTPServer) received() []fakeMail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mails)
}

func (f *fakeSMTPServer) serve(conn net.Conn) {
	defer conn.Close()
	if f.stall {
		_, _ = io.Copy(io.Discard, conn)
		return
	}
	isTLS := false
	if f.implicitTLS {
		conn = tls.Server(conn, f.tlsConfig)
		isTLS = true
	}
	tp := textproto.NewConn(conn)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 fake.smtp.test ESMTP fakeSMTPServer")
	var user, pass string
	var cur *fakeMail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"fake.smtp.test greets " + arg, "8BITMIME"}
			if f.startTLS && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if f.user != "" && (isTLS || f.authCleartext) {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, e)
			}
		case "STARTTLS":
			if !f.startTLS || isTLS {
				reply("502 5.5.1 STARTTLS not offered")
				continue
			}
			reply("220 2.0.0 ready to start TLS")
			tc := tls.Server(conn, f.tlsConfig)
			if err := tc.Handshake(); err != nil {
				return
			}
			// RFC 3207: the session starts over.
			conn, tp, isTLS, user, pass, cur = tc, textproto.NewConn(tc), true, "", "", nil
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || f.user == "" || !isTLS && !f.authCleartext {
				reply("504 5.5.4 mechanism not offered")
				continue
			}
			if resp == "" {
				reply("334 ")
				if resp, err = tp.ReadLine(); err != nil {
					return
				}
			}
			b, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if err != nil || len(parts) != 3 {
				reply("501 5.5.2 malformed AUTH PLAIN response")
				continue
			}
			if parts[1] != f.user || parts[2] != f.pass {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			user, pass = parts[1], parts[2]
			reply("235 2.7.0 authentication successful")
		case "MAIL":
			addr, ok := fakePath(arg, "FROM:")
			switch {
			case !ok:
				reply("501 5.5.4 syntax: MAIL FROM:<address>")
			case f.user != "" && user == "":
				reply("530 5.7.0 authentication required")
			default:
				cur = &fakeMail{TLS: isTLS, User: user, Pass: pass, From: addr}
				reply("250 2.1.0 sender ok")
			}
		case "RCPT":
			addr, ok := fakePath(arg, "TO:")
			switch {
			case cur == nil:
				reply("503 5.5.1 MAIL first")
			case !ok:
				reply("501 5.5.4 syntax: RCPT TO:<address>")
			case f.rejectRcpt:
				reply("550 5.1.1 no such mailbox here")
			default:
				cur.To = append(cur.To, addr)
				reply("250 2.1.5 recipient ok")
			}
		case "DATA":
			if cur == nil || len(cur.To) == 0 {
				reply("503 5.5.1 RCPT first")
				continue
			}
			reply("354 end data with <CR><LF>.<CR><LF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = data
			f.mu.Lock()
			f.mails = append(f.mails, *cur)
			f.mu.Unlock()
			cur = nil
			reply("250 2.0.0 queued")
		case "RSET":
			cur = nil
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("500 5.5.2 command not recognized")
		}
	}
}

// fakePath parses "FROM:<addr> params" or "TO:<addr> params".
func fakePath(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := arg[len(prefix):]
	end := strings.IndexByte(rest, '>')
	if !strings.HasPrefix(rest, "<") || end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// testCert returns a self-signed certificate for 127.0.0.1, ::1 and localhost, and a pool
// trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// newTestSMTP builds a sender through New, as Wharf does, trusting roots.
func newTestSMTP(t *testing.T, cfg Config, roots *x509.CertPool, log *slog.Logger) *smtpSender {
	t.Helper()
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := s.(*smtpSender)
	if !ok {
		t.Fatalf("New with SMTPAddr returned %T", s)
	}
	ss.rootCAs = roots
	return ss
}

var resetMail = Message{
	To:      "Zoë <zoe@example.com>",
	Subject: "Réinitialisez votre mot de passe",
	Text:    "Bonjour Zoë,\n\nhttps://wharf.example/reset?token=SECRET-TOKEN\n.\n..\n",
}

// checkDelivered checks the one mail the server took: envelope, headers, body.
func checkDelivered(t *testing.T, f *fakeSMTPServer, want fakeMail) {
	t.Helper()
	got := f.received()
	if len(got) != 1 {
		t.Fatalf("the server took %d mails, want 1", len(got))
	}
	data := got[0].Data
	got[0].Data = nil
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	m, err := parseMessage(data)
	if err != nil {
		t.Fatalf("the server got a message that does not parse: %v\n%s", err, data)
	}
	wantMsg := resetMail
	wantMsg.To = `"Zoë" <zoe@example.com>`
	if diff := cmp.Diff(wantMsg, m); diff != "" {
		t.Errorf("message (-sent +received):\n%s", diff)
	}
	for _, h := range []string{"From: \"Wharf\" <wharf@example.com>\n", "Date: ", "Message-ID: <", "MIME-Version: 1.0\n"} {
		if !bytes.Contains(data, []byte(h)) {
			t.Errorf("no %q header in\n%s", h, data)
		}
	}
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	cert, roots := testCert(t)
	f := &fakeSMTPServer{startTLS: true, user: "wharf", pass: "pa ss:wörd"}
	addr := f.start(t, cert)
	var logBuf bytes.Buffer
	s := newTestSMTP(t, Config{From: "Wharf <wharf@example.com>", SMTPAddr: addr, SMTPUser: "wharf", SMTPPass: "pa ss:wörd"},
		roots, slog.New(slog.NewJSONHandler(&logBuf, nil)))
	if err := s.Send(t.Context(), resetMail); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, f, fakeMail{TLS: true, User: "wharf", Pass: "pa ss:wörd", From: "wharf@example.com", To: []string{"zoe@example.com"}})

	if strings.Contains(logBuf.String(), "SECRET") || strings.Contains(logBuf.String(), "wörd") {
		t.Errorf("the log shows the body or the password: %s", logBuf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal(logBuf.Bytes(), &rec); err != nil {
		t.Fatalf("want one JSON log line: %v\n%s", err, logBuf.String())
	}
	if rec["msg"] != "mail sent over smtp" || rec["to"] != "zoe@example.com" || rec["subject"] != resetMail.Subject || rec["server"] != addr {
		t.Errorf("log record %v", rec)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	cert, roots := testCert(t)
	f := &fakeSMTPServer{implicitTLS: true, user: "wharf", pass: "secret"}
	addr := f.start(t, cert)
	s := newTestSMTP(t, Config{From: "Wharf <wharf@example.com>", SMTPAddr: addr, SMTPTLS: "tls", SMTPUser: "wharf", SMTPPass: "secret"}, roots, nil)
	if err := s.Send(t.Context(), resetMail); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, f, fakeMail{TLS: true, User: "wharf", Pass: "secret", From: "wharf@example.com", To: []string{"zoe@example.com"}})
}

func TestSMTPNoTLSToLoopback(t *testing.T) {
	cert, _ := testCert(t)
	t.Run("without auth", func(t *testing.T) {
		f := &fakeSMTPServer{}
		addr := f.start(t, cert)
		s := newTestSMTP(t, Config{From: "Wharf <wharf@example.com>", SMTPAddr: addr, SMTPTLS: "none"}, nil, nil)
		if err := s.Send(t.Context(), resetMail); err != nil {
			t.Fatal(err)
		}
		checkDelivered(t, f, fakeMail{From: "wharf@example.com", To: []string{"zoe@example.com"}})
	})
	t.Run("with auth", func(t *testing.T) {
		f := &fakeSMTPServer{user: "wharf", pass: "secret", authCleartext: true}
		addr := f.start(t, cert)
		s := newTestSMTP(t, Config{From: "Wharf <wharf@example.com>", SMTPAddr: addr, SMTPTLS: "none", SMTPUser: "wharf", SMTPPass: "secret"}, nil, nil)
		if err := s.Send(t.Context(), resetMail); err != nil {
			t.Fatal(err)
		}
		checkDelivered(t, f, fakeMail{User: "wharf", Pass: "secret", From: "wharf@example.com", To: []string{"zoe@example.com"}})
	})
}

func TestSMTPFailures(t *testing.T) {
	cert, roots := testCert(t)
	for _, tc := range []struct {
		name   string
		server *fakeSMTPServer
		cfg    Config
		roots  *x509.CertPool
		want   string
	}{
		{"STARTTLS not offered", &fakeSMTPServer{user: "wharf", pass: "secret", authCleartext: true},
			Config{SMTPUser: "wharf", SMTPPass: "secret"}, roots, "does not offer STARTTLS"},
		{"untrusted certificate", &fakeSMTPServer{startTLS: true},
			Config{}, nil, "certificate"},
		{"untrusted certificate, implicit TLS", &fakeSMTPServer{implicitTLS: true},
			Config{SMTPTLS: "tls"}, nil, "certificate"},
		{"AUTH not offered", &fakeSMTPServer{startTLS: true},
			Config{SMTPUser: "wharf", SMTPPass: "secret"}, roots, "does not offer AUTH PLAIN"},
		{"wrong password", &fakeSMTPServer{startTLS: true, user: "wharf", pass: "secret"},
			Config{SMTPUser: "wharf", SMTPPass: "guess"}, roots, "535"},
		{"auth required", &fakeSMTPServer{startTLS: true, user: "wharf", pass: "secret"},
			Config{}, roots, "530"},
		{"recipient refused", &fakeSMTPServer{startTLS: true, rejectRcpt: true},
			Config{}, roots, "RCPT TO: 550"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.server
			tc.cfg.SMTPAddr = f.start(t, cert)
			s := newTestSMTP(t, tc.cfg, tc.roots, nil)
			err := s.Send(t.Context(), resetMail)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q shows the password or the body", err)
			}
			if got := f.received(); len(got) != 0 {
				t.Errorf("the server took %d mails", len(got))
			}
		})
	}
}

func TestSMTPRefusesHeaderInjectionBeforeConnecting(t *testing.T) {
	cert, roots := testCert(t)
	f := &fakeSMTPServer{startTLS: true}
	addr := f.start(t, cert)
	s := newTestSMTP(t, Config{SMTPAddr: addr}, roots, nil)
	for _, m := range []Message{
		{To: "alice@example.com>\r\nRCPT TO:<eve@example.com", Subject: "s"},
		{To: "alice@example.com", Subject: "s\r\nBcc: eve@example.com"},
	} {
		if err := s.Send(t.Context(), m); err == nil || !strings.Contains(err.Error(), "line break") {
			t.Errorf("Send(%q, %q) = %v, want an error about a line break", m.To, m.Subject, err)
		}
	}
	if n := f.connCount(); n != 0 {
		t.Errorf("the server saw %d connections, want none", n)
	}
}

func TestSMTPContext(t *testing.T) {
	cert, _ := testCert(t)
	t.Run("cancelled while waiting for the server", func(t *testing.T) {
		f := &fakeSMTPServer{stall: true}
		s := newTestSMTP(t, Config{SMTPAddr: f.start(t, cert), SMTPTLS: "none"}, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := s.Send(ctx, resetMail)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v; want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send returned %v after the cancel", d)
		}
	})
	t.Run("deadline while waiting for the server", func(t *testing.T) {
		f := &fakeSMTPServer{stall: true}
		s := newTestSMTP(t, Config{SMTPAddr: f.start(t, cert), SMTPTLS: "none"}, nil, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Send(ctx, resetMail)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v; want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send returned after %v", d)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		f := &fakeSMTPServer{}
		s := newTestSMTP(t, Config{SMTPAddr: f.start(t, cert), SMTPTLS: "none"}, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Send(ctx, resetMail); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v; want context.Canceled", err)
		}
		if n := f.connCount(); n != 0 {
			t.Errorf("the server saw %d connections, want none", n)
		}
	})
}

func TestPlainAuthRefusesCleartext(t *testing.T) {
	a := plainAuth{user: "u", pass: "p"}
	if _, _, err := a.Start(&smtp.ServerInfo{Name: "smtp.example.com", Auth: []string{"PLAIN"}}); err == nil {
		t.Error("AUTH PLAIN started without TLS on a sender not configured for a loopback relay")
	}
}
