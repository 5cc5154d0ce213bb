package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// checkMessage refuses what could not be sent faithfully or could smuggle headers in, and
// returns the parsed recipient. Errors quote the recipient and subject but never the body.
func checkMessage(m Message) (*mail.Address, error) {
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: recipient: %w", err)
	}
	if err := checkHeaderText(m.Subject); err != nil {
		return nil, fmt.Errorf("mail: subject %q: %w", m.Subject, err)
	}
	if !utf8.ValidString(m.Text) {
		return nil, errors.New("mail: body is not valid UTF-8")
	}
	return to, nil
}

// checkHeaderText refuses line breaks (header injection), other control characters and
// invalid UTF-8 in text bound for a header.
func checkHeaderText(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return errors.New("contains a line break")
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// parseAddress parses one address and keeps it to what every SMTP server takes unquoted in
// MAIL FROM and RCPT TO: an ASCII local part without quoting, @, an ASCII host name.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("address %q contains a line break", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", s, err)
	}
	if err := checkHeaderText(a.Name); err != nil {
		return nil, fmt.Errorf("address %q: display name %w", s, err)
	}
	if !plainAddrSpec(a.Address) {
		return nil, fmt.Errorf("address %q: only plain ASCII addresses (local-part@host.name, no quotes, no IP literal) are supported", s)
	}
	return a, nil
}

// Deliverable reports whether an address is one this package sends to: a plain ASCII
// local-part@host.name (no quotes, no IP literal). Sign-up checks addresses with it, so that an
// account is never made for an address its confirmation mail cannot go to.
func Deliverable(addr string) bool { return plainAddrSpec(addr) }

// plainAddrSpec reports whether s is dot-atom@host-name within RFC 5321's length limits.
func plainAddrSpec(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 0 || len(s) > 254 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) == 0 || len(local) > 64 {
		return false
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			if !isAtext(atom[i]) {
				return false
			}
		}
	}
	return hostName(domain)
}

// hostName reports whether s is a host name: dot-separated letter-digit-hyphen labels.
func hostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// addressHeader is how an address is written in From and To: the bare address, or
// `"Name" <address>` with a non-ASCII name RFC 2047-encoded.
func addressHeader(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// addressText is how ReadOutbox returns an address: the bare address, or `"Name" <address>`
// with the name as UTF-8 text. It parses back to the same address.
func addressText(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a.Name) + `" <` + a.Address + ">"
}

// newMessageID returns a unique Message-ID in the sender's domain.
func newMessageID(from *mail.Address) string {
	return "<" + rand.Text() + "@" + from.Address[strings.LastIndexByte(from.Address, '@')+1:] + ">"
}

// formatMessage renders an RFC 5322 message: 7-bit headers (subject RFC 2047-encoded when it
// needs to be) and a quoted-printable UTF-8 body, CRLF line endings throughout.
func formatMessage(from, to *mail.Address, subject, text string, date time.Time, messageID string) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", addressHeader(from))
	header("To", addressHeader(to))
	header("Subject", encodeSubject(subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: asks vacation responders not to answer a machine.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	writeBody(&b, text)
	return b.Bytes()
}

const (
	maxLine       = 78 // RFC 5322's recommended line length
	subjectPrefix = len("Subject: ")
	// Raw bytes per encoded word: 42 bytes are 56 base64 characters, and
	// "=?utf-8?b?" + 56 + "?=" after "Subject: " or a folding space stays within maxLine.
	wordBytes = 42
)

// encodeSubject returns the Subject header value. Plain ASCII text is written as is (folded
// at its spaces when long); anything else is written as RFC 2047 "B" encoded words, one per
// line. The plain form is only used when unfolding and decoding give back exactly s: single
// spaces (unfolding collapses runs and trims the ends) and no "=?" (which decoders take
// for the start of an encoded word).
func encodeSubject(s string) string {
	if plainSubject(s) {
		var b strings.Builder
		n := subjectPrefix
		for i, w := range strings.Split(s, " ") {
			switch {
			case i == 0:
			case n+1+len(w) > maxLine:
				b.WriteString("\r\n")
				n = 0
			}
			if i > 0 {
				b.WriteByte(' ')
				n++
			}
			b.WriteString(w)
			n += len(w)
		}
		return b.String()
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n > 0 && n+size > wordBytes {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	// Decoders drop the folding whitespace between adjacent encoded words.
	return strings.Join(words, "\r\n ")
}

func plainSubject(s string) bool {
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") || strings.Contains(s, "=?") {
		return false
	}
	for _, w := range strings.Split(s, " ") {
		if len(w) > maxLine-subjectPrefix {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// writeBody writes text quoted-printable with each "\n" as a CRLF hard line break and every
// other byte, a lone "\r" included, encoded so that decoding gives back exactly text. The
// quoted-printable writer in text mode would turn a "\r" into a line break, so each line
// goes through its own writer in binary mode.
func writeBody(b *bytes.Buffer, text string) {
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteString("\r\n")
		}
		w := quotedprintable.NewWriter(b)
		w.Binary = true
		// Writes to a bytes.Buffer cannot fail.
		_, _ = w.Write([]byte(line))
		_ = w.Close()
	}
}

// parseMessage reads back a message written by formatMessage. It also accepts LF line
// endings, which is what an SMTP server's DATA reader may hand on.
func parseMessage(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("not a mail message: %w", err)
	}
	one := func(key string) (string, error) {
		if v := msg.Header[key]; len(v) != 1 {
			return "", fmt.Errorf("%d %s headers, want 1", len(v), key)
		}
		return msg.Header[key][0], nil
	}
	var m Message
	v, err := one("To")
	if err != nil {
		return Message{}, err
	}
	to, err := mail.ParseAddress(v)
	if err != nil {
		return Message{}, fmt.Errorf("To %q: %w", v, err)
	}
	m.To = addressText(to)

	if v, err = one("Subject"); err != nil {
		return Message{}, err
	}
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(v); err != nil {
		return Message{}, fmt.Errorf("Subject %q: %w", v, err)
	}

	if v, err = one("Content-Type"); err != nil {
		return Message{}, err
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return Message{}, fmt.Errorf("Content-Type %q: %w", v, err)
	}
	if cs := strings.ToLower(params["charset"]); mt != "text/plain" || cs != "utf-8" && cs != "us-ascii" {
		return Message{}, fmt.Errorf("Content-Type %q: want text/plain; charset=utf-8", v)
	}
	if v, err = one("Content-Transfer-Encoding"); err != nil {
		return Message{}, err
	}
	if !strings.EqualFold(strings.TrimSpace(v), "quoted-printable") {
		return Message{}, fmt.Errorf("Content-Transfer-Encoding %q: want quoted-printable", v)
	}

	enc, err := io.ReadAll(msg.Body)
	if err != nil {
		return Message{}, fmt.Errorf("body: %w", err)
	}
	// Line endings become "\n" before decoding: an encoded "\r" (=0D) is data and must stay.
	enc = bytes.ReplaceAll(enc, []byte("\r\n"), []byte("\n"))
	text, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(enc)))
	if err != nil {
		return Message{}, fmt.Errorf("body: %w", err)
	}
	m.Text = string(text)
	return m, nil
}
