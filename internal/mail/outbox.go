package mail

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/atomicfile"
)

// Outbox writes each message as an RFC 5322 .eml file into a directory.
//
// File names are <UTC time to the nanosecond>-<random>.eml, so their lexical order is the
// order in which this Outbox sent them. Each file is written to a hidden temp file, fsynced
// and renamed, so a reader sees a whole message or none; files are readable by their owner
// only, since bodies carry secret links.
type Outbox struct {
	dir  string
	from *mail.Address
	log  *slog.Logger

	mu   sync.Mutex
	last time.Time // newest time stamp handed out
}

var _ Sender = (*Outbox)(nil)

// stampLayout has fixed-width fields so that names sort like times.
const stampLayout = "20060102T150405.000000000Z"

// NewOutbox creates dir (mode 0700) if it is missing and returns an Outbox writing into it
// with the given sender address ("" = DefaultFrom). A nil log discards.
func NewOutbox(dir, from string, log *slog.Logger) (*Outbox, error) {
	log = discardIfNil(log)
	if dir == "" {
		return nil, errors.New("mail: the outbox directory may not be empty")
	}
	f, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: create outbox directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: outbox directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("mail: outbox %s is not a directory", dir)
	}
	// An existing directory is the operator's to set; say so rather than change it.
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("outbox directory is open to other users", "dir", dir, "mode", fi.Mode().Perm().String())
	}
	// The directory may just have been created: make its entry durable before mail goes in.
	if err := atomicfile.SyncDir(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("mail: outbox directory: %w", err)
	}
	return &Outbox{dir: dir, from: f, log: log}, nil
}

// Send writes m as a new file in the outbox.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	to, err := checkMessage(m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: write mail to %s into the outbox: %w", to.Address, err)
	}
	now := o.stamp()
	name := now.Format(stampLayout) + "-" + rand.Text() + ".eml"
	data := formatMessage(o.from, to, m.Subject, m.Text, now, newMessageID(o.from))
	if err := atomicfile.Write(filepath.Join(o.dir, name), data, 0o600); err != nil {
		return fmt.Errorf("mail: write mail to %s into the outbox: %w", to.Address, err)
	}
	o.log.InfoContext(ctx, "mail written to outbox", "to", to.Address, "subject", m.Subject, "file", filepath.Join(o.dir, name))
	return nil
}

// stamp returns the current UTC time, moved on by a nanosecond when the clock has not
// advanced (or went back) since the previous call, so that every name sorts after the last.
func (o *Outbox) stamp() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	// Round(0) drops the monotonic reading: names follow the wall clock, so must the check.
	t := time.Now().UTC().Round(0)
	if !t.After(o.last) {
		t = o.last.Add(time.Nanosecond)
	}
	o.last = t
	return t
}

// ReadOutbox reads back every message in an outbox directory, oldest first (for tests and
// for `wharf` admins). To comes back as the bare address, or as `"Name" <address>` with the
// name decoded to UTF-8. Temp files of writes in progress are skipped.
func ReadOutbox(dir string) ([]Message, error) {
	entries, err := os.ReadDir(dir) // sorted by name, which is send order
	if err != nil {
		return nil, fmt.Errorf("mail: read outbox: %w", err)
	}
	msgs := []Message{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".eml") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing, by an admin who has dealt with it
		} else if err != nil {
			return nil, fmt.Errorf("mail: read outbox: %w", err)
		}
		m, err := parseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("mail: outbox file %s: %w", path, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}
