package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/wharfhq/wharf/internal/clientconfig"
)

// Where a secret is kept: the values of Site.SecretStore and Channel.SecretStore.
const (
	InKeyring = "keyring" // the operating system's keyring
	InFile    = "file"    // credentials.json in the config directory, mode 0600
)

// keyringService is the service name of every Wharf item in the OS keyring; the item's user
// is the secret's key ("site:NAME", "channel:URL").
const keyringService = "wharf"

// errNoSecret says a backend has no secret under a key.
var errNoSecret = errors.New("no secret")

// secrets is one place secrets are kept, by key.
type secrets interface {
	get(key string) (string, error) // errNoSecret when there is none
	set(key, secret string) error
	delete(key string) error // no error when there is none
}

// keyringSecrets keeps secrets in the OS keyring through go-keyring.
type keyringSecrets struct{}

func (keyringSecrets) get(key string) (string, error) {
	s, err := keyring.Get(keyringService, key)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", errNoSecret
	}
	return s, err
}

func (keyringSecrets) set(key, secret string) error { return keyring.Set(keyringService, key, secret) }

func (keyringSecrets) delete(key string) error {
	if err := keyring.Delete(keyringService, key); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	return nil
}

// probeTimeout bounds the keyring probe: a keyring daemon that does not answer is no keyring.
const probeTimeout = 5 * time.Second

// probeKeyring reports whether the OS keyring answers: looking up an item that is not there
// must say "not found". On Linux without a D-Bus secret service it fails at once.
func probeKeyring() error {
	done := make(chan error, 1)
	go func() {
		_, err := keyring.Get(keyringService, "probe:absent")
		if errors.Is(err, keyring.ErrNotFound) {
			err = nil
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(probeTimeout):
		return fmt.Errorf("no answer within %s", probeTimeout)
	}
}

// fileSecrets keeps secrets in a JSON object {key: secret} in one file of mode 0600. It refuses
// to read the file when others may read or write it.
type fileSecrets struct {
	path string
}

// ModeError says a credentials file may be read or written by others than its owner: it is
// not read, and what to do is said.
type ModeError struct {
	Path string
	Mode fs.FileMode
}

func (e *ModeError) Error() string {
	return fmt.Sprintf("%s has mode %04o: others may read it, so wharf does not use it; the secrets in it may have been seen: run chmod 600 %s, then log in again (wharf login) to replace them", e.Path, e.Mode.Perm(), e.Path)
}

func (f fileSecrets) load() (map[string]string, error) {
	fi, err := os.Lstat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file; remove it, and log in again", f.path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &ModeError{Path: f.path, Mode: fi.Mode()}
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			// The parser's message may quote the file's bytes: secrets. It is left out.
			return nil, fmt.Errorf("%s is not valid JSON; remove it, and log in again", f.path)
		}
	}
	return m, nil
}

func (f fileSecrets) save(m map[string]string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return clientconfig.WriteAtomic(f.path, append(b, '\n'), 0o600)
}

func (f fileSecrets) get(key string) (string, error) {
	m, err := f.load()
	if err != nil {
		return "", err
	}
	s, ok := m[key]
	if !ok {
		return "", errNoSecret
	}
	return s, nil
}

func (f fileSecrets) set(key, secret string) error {
	m, err := f.load()
	if err != nil {
		return err
	}
	m[key] = secret
	return f.save(m)
}

func (f fileSecrets) delete(key string) error {
	m, err := f.load()
	if err != nil {
		return err
	}
	if _, ok := m[key]; !ok {
		return nil
	}
	delete(m, key)
	return f.save(m)
}
