package clientconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/atomicfile"
)

// Env is where a user's client configuration lives: the environment variables the clients
// read, passed in so that nothing here reads the process's own.
type Env struct {
	Home             string
	XDGConfigHome    string // $XDG_CONFIG_HOME; ~/.config when empty
	BinstarConfigDir string // $BINSTAR_CONFIG_DIR: conda then keeps tokens in its data/
	Netrc            string // $NETRC: the .netrc requests (pip, conda) reads
	AppData          string // %APPDATA% (Windows)
	GOOS             string
}

// EnvFrom reads an Env from getenv (os.Getenv).
func EnvFrom(getenv func(string) string, goos string) (Env, error) {
	e := Env{Home: getenv("HOME"), XDGConfigHome: getenv("XDG_CONFIG_HOME"), BinstarConfigDir: getenv("BINSTAR_CONFIG_DIR"),
		Netrc: getenv("NETRC"), AppData: getenv("APPDATA"), GOOS: goos}
	if goos == "windows" && e.Home == "" {
		e.Home = getenv("USERPROFILE")
	}
	if e.Home == "" {
		return e, errors.New("HOME is not set: no home directory to keep client settings in")
	}
	return e, nil
}

func (e Env) configHome() string {
	if x := strings.TrimSpace(e.XDGConfigHome); x != "" {
		return x
	}
	return filepath.Join(e.Home, ".config")
}

// CondaTokenDir is where conda reads token files: $BINSTAR_CONFIG_DIR/data, else
// platformdirs' user_config_dir("binstar", "ContinuumIO").
func (e Env) CondaTokenDir() string {
	switch {
	case e.BinstarConfigDir != "":
		return filepath.Join(e.BinstarConfigDir, "data")
	case e.GOOS == "darwin":
		return filepath.Join(e.Home, "Library", "Application Support", "binstar")
	case e.GOOS == "windows":
		return filepath.Join(e.Home, "AppData", "Local", "ContinuumIO", "binstar")
	}
	return filepath.Join(e.configHome(), "binstar")
}

// Condarc is the user's conda configuration file.
func (e Env) Condarc() string { return filepath.Join(e.Home, ".condarc") }

// PipConf is the user's pip configuration file that pip reads last, so wins: on Linux and
// macOS $XDG_CONFIG_HOME/pip/pip.conf (pip reads ~/.config/pip on macOS too when
// ~/Library/Application Support/pip does not exist), on Windows %APPDATA%\pip\pip.ini.
func (e Env) PipConf() string {
	if e.GOOS == "windows" && e.AppData != "" {
		return filepath.Join(e.AppData, "pip", "pip.ini")
	}
	if e.GOOS == "darwin" {
		lib := filepath.Join(e.Home, "Library", "Application Support", "pip")
		if st, err := os.Stat(lib); err == nil && st.IsDir() {
			return filepath.Join(lib, "pip.conf")
		}
	}
	return filepath.Join(e.configHome(), "pip", "pip.conf")
}

// Pypirc is twine's configuration file.
func (e Env) Pypirc() string { return filepath.Join(e.Home, ".pypirc") }

// NetrcPath is the .netrc pip and conda read.
func (e Env) NetrcPath() string {
	if e.Netrc != "" {
		return e.Netrc
	}
	if e.GOOS == "windows" {
		return filepath.Join(e.Home, "_netrc")
	}
	return filepath.Join(e.Home, ".netrc")
}

// Change is one file to write (or remove), as planned: what is there and what will be.
type Change struct {
	Path    string
	Keys    []string    // what changes in it, for people and --json: never a secret
	Old     []byte      // nil when the file does not exist
	Existed bool        // the file exists
	New     []byte      // the new contents; ignored when Delete
	Delete  bool        // remove the file
	Mode    fs.FileMode // the mode the file gets
	Secret  string      // a secret in the contents: shown as <token> in a diff
	Backup  bool        // keep the old contents beside the file before changing it
}

// Changed reports whether applying c changes anything.
func (c Change) Changed() bool {
	if c.Delete {
		return c.Existed
	}
	return !c.Existed || !bytes.Equal(c.Old, c.New)
}

// RemovedIfEmpty is for a Change whose New is what a removal left of Old: the file is to be
// deleted when nothing but white space is left (a file that is not there stays so, rather
// than made empty), and key, unless "", becomes c.Keys when anything changed.
func (c *Change) RemovedIfEmpty(key string) {
	c.Delete = blank(c.New)
	if key != "" && c.Changed() {
		c.Keys = []string{key}
	}
}

// Action is what applying c does: create, update, delete or unchanged.
func (c Change) Action() string {
	switch {
	case !c.Changed():
		return "unchanged"
	case c.Delete:
		return "delete"
	case !c.Existed:
		return "create"
	}
	return "update"
}

// ReadFile reads a file for a Change: its contents and mode, existed false when it is not
// there. A symbolic link is followed, so that the file it points at is the one edited.
func ReadFile(path string) (data []byte, mode fs.FileMode, existed bool, err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, false, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := os.ReadFile(path)
	return b, st.Mode().Perm(), true, err
}

// Apply makes the change: the old file backed up (when asked) as PATH.bak-YYYYMMDD-HHMMSS,
// readable by its owner only and with its tokens left out (backupOf), then the new contents written to a temporary file in the same
// directory with the final mode and renamed over it, so that a reader sees the old file or
// the new one, never half of one. Missing directories are created 0700. It returns the
// backup's path, if one was made.
func Apply(c Change, now time.Time) (backup string, err error) {
	if !c.Changed() {
		return "", nil
	}
	path := c.Path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if c.Existed && c.Backup {
		if backup, err = writeBackup(path, backupOf(c.Old, c.Secret), now); err != nil {
			return "", err
		}
	}
	if c.Delete {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return backup, err
		}
		return backup, nil
	}
	return backup, WriteAtomic(path, c.New, c.Mode)
}

// RemovedToken stands in a backup for each token of the file backed up.
const RemovedToken = "TOKEN-REMOVED-BY-WHARF"

// backupOf is what a backup keeps of a file's contents: all but its tokens, each Wharf token
// (and secret, the one being written) replaced with RemovedToken. A backup outlives the wharf
// auth logout, logout or setup --remove that takes a token out of the file, and nothing
// would take it out of the backup; setup writes the tokens again.
func backupOf(old []byte, secret string) []byte {
	if secret != "" {
		old = bytes.ReplaceAll(old, []byte(secret), []byte(RemovedToken))
	}
	return wharfToken.ReplaceAll(old, []byte(RemovedToken))
}

func writeBackup(path string, data []byte, now time.Time) (string, error) {
	base := path + ".bak-" + now.Format("20060102-150405")
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(name)
			return "", err
		}
		return name, f.Close()
	}
}

// WriteAtomic writes data to path through a temporary file renamed over it, with mode.
func WriteAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, mode)
}

// Diff shows the change line by line ("-" old, "+" new, two lines of context), the secret
// and any /t/TOKEN in a URL replaced by <token>.
func Diff(c Change) string {
	redact := func(b []byte) []string {
		s := string(b)
		if c.Secret != "" {
			s = strings.ReplaceAll(s, c.Secret, "<token>")
		}
		s = anacondaToken.ReplaceAllString(s, "/t/<token>")
		s = hideSecrets(s)
		if s == "" {
			return nil
		}
		return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	}
	a := redact(c.Old)
	var b []string
	if !c.Delete {
		b = redact(c.New)
	}
	return unifiedLines(a, b, 2)
}

// The secrets a diff of the files setup edits could show besides c.Secret: those of the lines
// taken out (the token file --remove deletes, an index-url with __token__:TOKEN@) and those of
// other entries shown as context (another machine of .netrc).
var (
	wharfToken   = regexp.MustCompile(`wrf[sr]-[A-Za-z0-9]+`) // token.New's alphabet
	urlPassword  = regexp.MustCompile(`(://[^/\s:@]*):[^/\s@]+@`)
	iniPassword  = regexp.MustCompile(`(?im)^(\s*password\s*[=:][ \t]*)[^<\s].*$`)
	netrcSecrets = regexp.MustCompile(`(?i)(\b(?:password|account)[ \t\n]+)[^<\s=:]\S*`)
)

// hideSecrets shows every other secret in s as <another token> (a Wharf token: not the one
// written, which is <token>, so that a token replaced shows as a change) or <secret>.
func hideSecrets(s string) string {
	s = wharfToken.ReplaceAllString(s, "<another token>")
	s = urlPassword.ReplaceAllString(s, "$1:<secret>@")
	s = iniPassword.ReplaceAllString(s, "$1<secret>")
	return netrcSecrets.ReplaceAllString(s, "$1<secret>")
}

// unifiedLines is a small line diff (longest common subsequence): the changed lines with ctx
// lines of context around them, "…" between far-apart changes.
func unifiedLines(a, b []string, ctx int) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		s    string
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, op{'+', b[j]})
			j++
		default:
			ops = append(ops, op{'-', a[i]})
			i++
		}
	}
	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind != ' ' {
			for x := max(0, k-ctx); x <= min(len(ops)-1, k+ctx); x++ {
				show[x] = true
			}
		}
	}
	var out strings.Builder
	gap := false
	for k, o := range ops {
		if !show[k] {
			gap = true
			continue
		}
		if gap && out.Len() > 0 {
			out.WriteString("  …\n")
		}
		gap = false
		out.WriteByte(o.kind)
		out.WriteByte(' ')
		out.WriteString(o.s)
		out.WriteByte('\n')
	}
	return out.String()
}
