package mail

import "fmt"

// Describer is a Sender that can say, for an administrator, where its mail goes. The
// description never holds a password.
type Describer interface {
	Describe() string
}

// Describe says where mail goes: what the server does with a sender it knows, or its type.
func Describe(s Sender) string {
	if d, ok := s.(Describer); ok {
		return d.Describe()
	}
	if s == nil {
		return "no mail sender"
	}
	return fmt.Sprintf("a sender of type %T", s)
}

var (
	_ Describer = (*Outbox)(nil)
	_ Describer = (*smtpSender)(nil)
)

// Describe says that mail is written into the outbox directory, and from which address.
func (o *Outbox) Describe() string {
	return fmt.Sprintf("the outbox directory %s: each mail is written there as an .eml file, nothing is sent over the network (from %s)", o.dir, o.from)
}

// Describe names the SMTP server, its TLS mode, the user signed in as and the sender address.
func (s *smtpSender) Describe() string {
	tls := map[string]string{TLSStartTLS: "STARTTLS", TLSImplicit: "TLS from the first byte", TLSNone: "no TLS (loopback only)"}[s.mode]
	auth := "without signing in"
	if s.user != "" {
		auth = fmt.Sprintf("signed in as %q", s.user)
	}
	return fmt.Sprintf("the SMTP server %s, with %s, %s (from %s)", s.addr, tls, auth, s.from)
}
