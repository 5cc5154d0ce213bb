package mail

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// roundTripCases are messages that must come back from formatMessage and parseMessage
// exactly as sent.
var roundTripCases = []struct {
	name string
	m    Message
}{
	{"ascii", Message{To: "alice@example.com", Subject: "Verify your email address", Text: "Hello,\n\nopen https://wharf.example/verify?token=abc\n"}},
	{"non-ascii subject and body", Message{To: "bob@example.com", Subject: "Vérifiez votre adresse — Wharf ✉", Text: "Grüße, 世界!\nLien : https://wharf.example/v?t=é\n"}},
	{"display name", Message{To: `"Alice Liddell" <alice@example.com>`, Subject: "hi", Text: "x"}},
	{"non-ascii display name", Message{To: `"Zoë Ünal" <zoe@example.com>`, Subject: "hi", Text: "x"}},
	{"empty subject and body", Message{To: "a@b", Subject: "", Text: ""}},
	{"subject whitespace kept", Message{To: "a@b", Subject: "  two  spaces and trailing ", Text: "x"}},
	{"subject looks encoded", Message{To: "a@b", Subject: "=?utf-8?q?not_really?=", Text: "x"}},
	{"long ascii subject folds", Message{To: "a@b", Subject: strings.Repeat("invitation to the wharf ", 12) + "end", Text: "x"}},
	{"long word subject", Message{To: "a@b", Subject: strings.Repeat("x", 200), Text: "x"}},
	{"long non-ascii subject", Message{To: "a@b", Subject: strings.Repeat("日本語のテキスト", 20), Text: "x"}},
	{"body without final newline", Message{To: "a@b", Subject: "s", Text: "no newline at the end"}},
	{"body line endings kept", Message{To: "a@b", Subject: "s", Text: "crlf\r\nlone cr\rcr at end\r\n\r\n"}},
	{"body trailing whitespace", Message{To: "a@b", Subject: "s", Text: "space \ntab\t\n \t \n"}},
	{"body long lines and equals", Message{To: "a@b", Subject: "s", Text: strings.Repeat("a=b ", 100) + "\n" + strings.Repeat("é", 300)}},
	{"body dots", Message{To: "a@b", Subject: "s", Text: ".\n..\n.leading dot\nFrom here\n"}},
	{"body control bytes", Message{To: "a@b", Subject: "s", Text: "nul\x00bell\x07del\x7f"}},
}

func TestFormatParseRoundTrip(t *testing.T) {
	from, err := parseFrom("Wharf <wharf@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range roundTripCases {
		t.Run(tc.name, func(t *testing.T) {
			to, err := checkMessage(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			raw := formatMessage(from, to, tc.m.Subject, tc.m.Text, time.Now(), newMessageID(from))
			checkWireForm(t, raw)
			got, err := parseMessage(raw)
			if err != nil {
				t.Fatalf("parse:\n%s\nerror: %v", raw, err)
			}
			if diff := cmp.Diff(tc.m, got); diff != "" {
				t.Errorf("round trip (-sent +read):\n%s\nwire form:\n%s", diff, raw)
			}
			// An SMTP server's DATA reader may hand on LF line endings.
			got, err = parseMessage(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.m, got); diff != "" {
				t.Errorf("round trip with LF line endings (-sent +read):\n%s", diff)
			}
		})
	}
}

// checkWireForm checks what every mail server takes: printable 7-bit bytes and tabs, CRLF line endings, lines
// of at most 78 characters (RFC 5322's recommendation; its hard limit is 998).
func checkWireForm(t *testing.T, raw []byte) {
	t.Helper()
	for i, b := range raw {
		if b > 0x7e || b < ' ' && b != '\t' && b != '\r' && b != '\n' {
			t.Fatalf("byte %#x at offset %d is not printable 7-bit", b, i)
		}
		if b == '\n' && (i == 0 || raw[i-1] != '\r') || b == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			t.Fatalf("bare CR or LF at offset %d", i)
		}
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
}

func TestFormatHeaders(t *testing.T) {
	from, err := parseFrom("Wharf <wharf@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	to, err := checkMessage(Message{To: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 30, 4, 46, 0, 0, time.UTC)
	raw := formatMessage(from, to, "Réinitialiser", "x", date, "<id@example.com>")
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"From":                      `"Wharf" <wharf@example.com>`,
		"To":                        "alice@example.com",
		"Subject":                   "=?utf-8?b?UsOpaW5pdGlhbGlzZXI=?=",
		"Date":                      "Mon, 30 Nov 2026 04:46:00 +0000",
		"Message-Id":                "<id@example.com>",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
	}
	got := map[string]string{}
	for k, v := range msg.Header {
		got[k] = strings.Join(v, " | ")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date header parses to %v, %v; want %v", d, err, date)
	}
}

func TestNewMessageIDIsUniqueAndInSenderDomain(t *testing.T) {
	from, err := parseFrom("wharf@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	a, b := newMessageID(from), newMessageID(from)
	if a == b {
		t.Errorf("two Message-IDs are both %s", a)
	}
	if !strings.HasPrefix(a, "<") || !strings.HasSuffix(a, "@mail.example.com>") {
		t.Errorf("Message-ID %s: want <…@mail.example.com>", a)
	}
}

func TestCheckMessageRefuses(t *testing.T) {
	const secret = "https://wharf.example/reset?token=SECRET"
	for _, tc := range []struct {
		name string
		m    Message
		want string // in the error
	}{
		{"CRLF in To", Message{To: "alice@example.com\r\nBcc: eve@example.com", Subject: "s"}, "line break"},
		{"LF in To", Message{To: "alice@example.com\nBcc: eve@example.com", Subject: "s"}, "line break"},
		{"CRLF in Subject", Message{To: "alice@example.com", Subject: "hi\r\nBcc: eve@example.com"}, "line break"},
		{"LF in Subject", Message{To: "alice@example.com", Subject: "hi\nBcc: eve@example.com"}, "line break"},
		{"CR in Subject", Message{To: "alice@example.com", Subject: "hi\rthere"}, "line break"},
		{"NUL in Subject", Message{To: "alice@example.com", Subject: "hi\x00"}, "control character U+0000"},
		{"tab in Subject", Message{To: "alice@example.com", Subject: "hi\tthere"}, "control character U+0009"},
		{"invalid UTF-8 Subject", Message{To: "alice@example.com", Subject: "\xff"}, "not valid UTF-8"},
		{"invalid UTF-8 body", Message{To: "alice@example.com", Subject: "s", Text: secret + "\xff"}, "body is not valid UTF-8"},
		{"empty To", Message{Subject: "s"}, "recipient"},
		{"two recipients", Message{To: "alice@example.com, eve@example.com"}, "recipient"},
		{"no domain", Message{To: "alice"}, "recipient"},
		{"quoted local part", Message{To: `"alice smith"@example.com`}, "only plain ASCII addresses"},
		{"IP literal", Message{To: "alice@[192.0.2.1]"}, "only plain ASCII addresses"},
		{"non-ASCII domain", Message{To: "alice@bücher.example"}, "only plain ASCII addresses"},
		{"encoded line break in name", Message{To: "=?utf-8?q?a=0D=0Ab?= <alice@example.com>"}, "line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkMessage(tc.m)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q shows the body", err)
			}
		})
	}
}

func TestParseMessageRefuses(t *testing.T) {
	valid := "To: a@b\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbody"
	if _, err := parseMessage([]byte(valid)); err != nil {
		t.Fatalf("the valid base case is refused: %v", err)
	}
	for _, tc := range []struct{ name, raw, want string }{
		{"not a message", "garbage", "not a mail message"},
		{"no To", strings.Replace(valid, "To: a@b\r\n", "", 1), "0 To headers"},
		{"two Subjects", strings.Replace(valid, "Subject: s\r\n", "Subject: s\r\nSubject: t\r\n", 1), "2 Subject headers"},
		{"HTML", strings.Replace(valid, "text/plain", "text/html", 1), "want text/plain"},
		{"other charset", strings.Replace(valid, "utf-8", "koi8-r", 1), "want text/plain; charset=utf-8"},
		{"base64 body", strings.Replace(valid, "quoted-printable", "base64", 1), "want quoted-printable"},
		{"bad quoted-printable", strings.Replace(valid, "body", "bad=\x01", 1), "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMessage([]byte(tc.raw))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want one saying %q", err, tc.want)
			}
		})
	}
}

// FuzzRoundTrip checks that every message checkMessage accepts is written in wire form and
// read back exactly.
func FuzzRoundTrip(f *testing.F) {
	for _, tc := range roundTripCases {
		f.Add(tc.m.To, tc.m.Subject, tc.m.Text)
	}
	from, err := parseFrom("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, to, subject, text string) {
		m := Message{To: to, Subject: subject, Text: text}
		addr, err := checkMessage(m)
		if err != nil {
			return
		}
		raw := formatMessage(from, addr, subject, text, time.Unix(0, 0), "<x@localhost>")
		checkWireForm(t, raw)
		got, err := parseMessage(raw)
		if err != nil {
			t.Fatalf("parse:\n%s\nerror: %v", raw, err)
		}
		m.To = addressText(addr)
		if diff := cmp.Diff(m, got); diff != "" {
			t.Fatalf("round trip (-sent +read):\n%s\nwire form:\n%q", diff, raw)
		}
	})
}

// FuzzParseMessage feeds parseMessage (ReadOutbox's parser) arbitrary files: it must not
// panic, and whatever it reads that could be sent must survive a second round trip.
func FuzzParseMessage(f *testing.F) {
	from, err := parseFrom("")
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range roundTripCases {
		to, err := checkMessage(tc.m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(formatMessage(from, to, tc.m.Subject, tc.m.Text, time.Unix(0, 0), "<x@localhost>"))
	}
	f.Add([]byte("To: a@b\nSubject: =?utf-8?q?=C3?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n=\n=0"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseMessage(raw)
		if err != nil {
			return
		}
		addr, err := checkMessage(m)
		if err != nil {
			return
		}
		again, err := parseMessage(formatMessage(from, addr, m.Subject, m.Text, time.Unix(0, 0), "<x@localhost>"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("second round trip (-first +second):\n%s", diff)
		}
	})
}
