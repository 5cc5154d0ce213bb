package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/client"
	"github.com/wharfhq/wharf/internal/store"
)

// What became of one file of `wharf upload`, as --json prints it.
const (
	uploadCreated  = "created"  // stored now
	uploadExists   = "exists"   // the same bytes were already there (they got the labels they lacked)
	uploadSkipped  = "skipped"  // other bytes are stored under the filename; --skip-existing left them
	uploadReplaced = "replaced" // other bytes were stored under the filename; --force removed them first
	uploadFailed   = "failed"
)

// progressMin is the size from which an upload shows a progress bar on a terminal.
const progressMin = 1 << 20

// uploadResult is one file's line of `wharf upload --json`: the path given, what became of
// it, and the stored file as the server described it (when it did).
type uploadResult struct {
	Path   string `json:"path"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	*api.FileInfo
}

// uploader uploads the files of one `wharf upload`.
type uploader struct {
	c            *client.Client
	channel      string
	labels       []string
	private      bool
	skipExisting bool
	force        bool
	bars         *progressBars // nil: no progress bars

	// stored lists the channel's files for --force, once a run (run sets it).
	stored func() ([]api.FileInfo, error)
}

func uploadCmd() *cobra.Command {
	var u uploader
	var parallel int
	// The flags are checked before any credentials are looked at.
	args := func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(1)(cmd, args); err != nil {
			return err
		}
		switch {
		case u.channel == "":
			return errors.New("name the channel to upload to with -c CHANNEL")
		case u.skipExisting && u.force:
			return errors.New("--skip-existing and --force exclude each other: on other bytes under a stored filename, keep the stored file (--skip-existing) or replace it (--force)")
		case parallel < 1:
			return fmt.Errorf("--parallel %d: upload at least 1 file at a time", parallel)
		}
		return nil
	}
	cmd := remoteCmd("upload FILE... -c CHANNEL [-l LABEL]... [--private] [--skip-existing | --force] [--parallel N]",
		"Upload conda packages (.conda, .tar.bz2) and Python distributions (.whl, .tar.gz, .zip) to a channel", args,
		func(cmd *cobra.Command, c *client.Client, r *remote, args []string) error {
			u.c = c
			if isTerminal(cmd.ErrOrStderr()) {
				u.bars = &progressBars{w: cmd.ErrOrStderr()}
			}
			results := u.run(cmd.Context(), args, parallel, func(res uploadResult) {
				u.bars.above(func() { u.print(cmd, res, r.asJSON) })
			})
			if r.asJSON {
				if err := printJSON(cmd, results); err != nil {
					return err
				}
			}
			failed := 0
			for _, res := range results {
				if res.Status == uploadFailed {
					failed++
				}
			}
			if failed > 0 {
				err := fmt.Errorf("%d of %d uploads failed", failed, len(args))
				if r.asJSON {
					return &shownError{err} // each failure is in the answer, with its error
				}
				return err
			}
			return nil
		})
	cmd.Long = `Upload conda packages (.conda, .tar.bz2) and Python distributions (wheels, .whl; sdists,
.tar.gz or .zip) to a channel; one command may mix them, and several files go up at once
(--parallel, default 4). Each file is checked by the server (a Python distribution's name and
version come from its metadata, which must agree with the filename). The same bytes again are
"already there", and get the labels they lacked; other bytes under a stored filename are
refused (409), unless --skip-existing (leave the stored file, and go on) or --force.

--force removes the stored conda package and uploads the new bytes (you need the right to
remove files; its old labels go, the new file gets -l's). It cannot replace a Python
distribution: as on PyPI, a Python filename once used may come back only with the same bytes,
so the server would refuse the new ones even after a removal; wharf leaves the stored file and
reports a failure. Give the new bytes a new version (or a wheel a build tag) instead.

--private makes each file's package private as it is uploaded (you need package:manage).
Labels (default main) apply to both kinds; pip's index (/pypi/CHANNEL/simple/) shows only
the Python files labelled main. twine uploads to the same channels: its repository URL is
SERVER/pypi/CHANNEL/.

Files larger than 1 MiB show a progress bar on standard error when it is a terminal. The exit
status is non-zero when any file failed; --json prints one object per file, with "status"
created, exists, skipped, replaced or failed, and "error".`
	f := cmd.Flags()
	f.StringVarP(&u.channel, "channel", "c", "", "channel to upload to (PARENT/CHILD for a subchannel)")
	f.StringArrayVarP(&u.labels, "label", "l", nil, "label to put on the files (repeatable; default main)")
	f.BoolVar(&u.private, "private", false, "make each file's package private (needs package:manage)")
	f.BoolVar(&u.skipExisting, "skip-existing", false, "when other bytes are stored under a filename, leave them and report the file skipped")
	f.BoolVar(&u.force, "force", false, "when other bytes are stored under a conda package's filename, remove that file and upload again (not for Python files)")
	f.IntVar(&parallel, "parallel", 4, "how many files to upload at once")
	return cmd
}

// run uploads paths, at most parallel at a time, calls done as each one ends, and returns
// the results in the order of paths.
func (u *uploader) run(ctx context.Context, paths []string, parallel int, done func(uploadResult)) []uploadResult {
	results := make([]uploadResult, len(paths))
	u.stored = sync.OnceValues(func() ([]api.FileInfo, error) { return u.c.Files(ctx, u.channel, "") })
	var g errgroup.Group
	g.SetLimit(parallel)
	for i, path := range paths {
		g.Go(func() error {
			results[i] = u.one(ctx, path)
			done(results[i])
			return nil
		})
	}
	g.Wait()
	return results
}

// one uploads one file and says what became of it.
func (u *uploader) one(ctx context.Context, path string) uploadResult {
	opts := client.UploadOptions{Labels: u.labels, Private: u.private}
	if u.bars != nil {
		if st, err := os.Stat(path); err == nil && st.Size() > progressMin {
			update, done := u.bars.track(filepath.Base(path), st.Size())
			defer done()
			opts.Progress = update
		}
	}
	info, created, err := u.upload(ctx, path, opts)
	switch {
	case err == nil && created:
		return uploadResult{Path: path, Status: uploadCreated, FileInfo: &info}
	case err == nil:
		return uploadResult{Path: path, Status: uploadExists, FileInfo: &info}
	case client.IsConflict(err) && u.skipExisting:
		return uploadResult{Path: path, Status: uploadSkipped}
	case client.IsConflict(err) && u.force:
		return u.replace(ctx, path, opts, err)
	case client.IsConflict(err):
		return failed(path, fmt.Errorf("%w (leave the stored file and go on with --skip-existing; replace a conda package with --force)", err))
	}
	return failed(path, err)
}

// replace removes the conda package stored under path's filename, whose bytes differ, and
// uploads path again. A Python distribution is left as it is: its filename may come back only
// with the same bytes, so the new ones would be refused after the removal too.
func (u *uploader) replace(ctx context.Context, path string, opts client.UploadOptions, conflict error) uploadResult {
	name := filepath.Base(path)
	if client.FileKind(name) == client.KindPyPI {
		return failed(path, fmt.Errorf("%w; --force cannot replace a Python distribution: a removed Python filename may come back only with the same bytes, so the server would answer 409 again. The stored file was left as it is; upload the new bytes as a new version (or, for a wheel, with a build tag)", conflict))
	}
	files, err := u.stored()
	if err != nil {
		return failed(path, fmt.Errorf("--force: listing %s to find the stored file: %w", u.channel, err))
	}
	var refs []store.FileRef
	for _, f := range files {
		if f.Filename == name && f.Kind != client.KindPyPI {
			refs = append(refs, store.FileRef{Subdir: f.Subdir, Filename: f.Filename})
		}
	}
	if len(refs) != 1 {
		return failed(path, fmt.Errorf("%w; --force found %d files named %s in %s, not one: remove the one to replace with wharf file remove %s SUBDIR/%s and upload again", conflict, len(refs), name, u.channel, u.channel, name))
	}
	if err := u.c.RemoveFile(ctx, u.channel, refs[0]); err != nil {
		return failed(path, fmt.Errorf("--force: removing the stored %s: %w", refs[0], err))
	}
	info, _, err := u.upload(ctx, path, opts)
	if err != nil {
		return failed(path, fmt.Errorf("--force removed the stored %s, but the upload of the new bytes failed: %w; upload the file again", refs[0], err))
	}
	return uploadResult{Path: path, Status: uploadReplaced, FileInfo: &info}
}

// busyTries bounds how often one file is sent again when the server has as many uploads from
// this address in progress as it takes (429 too_many_uploads): --parallel above its
// --uploads-per-client, or other uploads from the same address (CI jobs behind one NAT).
const busyTries = 30

// busyWait is how long to wait before sending a file again, given the server's Retry-After
// (0: none sent); tests shorten it.
var busyWait = func(retryAfter time.Duration) time.Duration { return cmp.Or(retryAfter, 10*time.Second) }

// upload sends one file, again after the server's Retry-After while it has too many uploads
// from this address in progress.
func (u *uploader) upload(ctx context.Context, path string, opts client.UploadOptions) (api.FileInfo, bool, error) {
	for try := 1; ; try++ {
		info, created, err := u.c.Upload(ctx, u.channel, path, opts)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Code != "too_many_uploads" || try == busyTries {
			return info, created, err
		}
		select {
		case <-ctx.Done():
			return info, created, err
		case <-time.After(busyWait(ae.RetryAfter)):
		}
	}
}

func failed(path string, err error) uploadResult {
	return uploadResult{Path: path, Status: uploadFailed, Error: err.Error()}
}

// print tells what became of one file: failures and notes on standard error, the rest on
// standard output unless --json.
func (u *uploader) print(cmd *cobra.Command, res uploadResult, asJSON bool) {
	if res.Status == uploadFailed {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", res.Path, res.Error)
		return
	}
	if res.FileInfo != nil && res.Kind == client.KindPyPI && !slices.Contains(res.Labels, "main") {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: note: pip does not see it: its index shows only files labelled main (upload it again with -l main to add that label)\n", res.Path)
	}
	if asJSON {
		return
	}
	var state string
	switch res.Status {
	case uploadSkipped:
		fmt.Fprintf(cmd.OutOrStdout(), "%s: skipped: other bytes are stored under this filename in %s (--skip-existing)\n", res.Path, u.channel)
		return
	case uploadCreated:
		state = "uploaded"
	case uploadExists:
		state = "already there (same bytes)"
	case uploadReplaced:
		state = "replaced (the stored file with other bytes was removed)"
	}
	private := ""
	if res.PackagePrivate {
		private = " (package private)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s to %s/%s/%s [%s]%s\n", res.Path, state, u.channel, res.Subdir, res.Filename, strings.Join(res.Labels, ", "), private)
}

// isTerminal reports whether f is a terminal (an *os.File on one).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// progressBars draws the uploads in flight on one line of a terminal, redrawn in place with
// a carriage return. A nil *progressBars draws nothing.
type progressBars struct {
	mu    sync.Mutex
	w     io.Writer
	bars  []*progressBar // in the order they started
	drawn int            // length of the line on the terminal now
	last  time.Time
	now   func() time.Time // time.Now when nil
}

type progressBar struct {
	name        string
	sent, total int64
}

// lineWidth is the longest line drawn: a terminal of 80 columns never wraps it.
const lineWidth = 79

// track adds a bar; update moves it, done takes it away.
func (p *progressBars) track(name string, total int64) (update func(sent, total int64), done func()) {
	b := &progressBar{name: name, total: total}
	p.mu.Lock()
	p.bars = append(p.bars, b)
	p.draw(true)
	p.mu.Unlock()
	update = func(sent, total int64) {
		p.mu.Lock()
		b.sent, b.total = sent, total
		p.draw(sent == total)
		p.mu.Unlock()
	}
	done = func() {
		p.mu.Lock()
		p.bars = slices.DeleteFunc(p.bars, func(x *progressBar) bool { return x == b })
		p.draw(true)
		p.mu.Unlock()
	}
	return update, done
}

// above runs print (which writes whole lines) with the bars out of the way, then draws them
// again under what it printed.
func (p *progressBars) above(print func()) {
	if p == nil {
		print()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	print()
	p.draw(true)
}

// draw redraws the line, at most every 100ms unless force. The caller holds mu.
func (p *progressBars) draw(force bool) {
	now := time.Now
	if p.now != nil {
		now = p.now
	}
	t := now()
	if !force && t.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = t
	line := renderBars(p.bars, lineWidth)
	pad := ""
	if n := p.drawn - len(line); n > 0 {
		pad = strings.Repeat(" ", n) + "\r" + line
	}
	fmt.Fprint(p.w, "\r"+line+pad)
	p.drawn = len(line)
}

// clear blanks the line. The caller holds mu.
func (p *progressBars) clear() {
	if p.drawn > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.drawn)+"\r")
		p.drawn = 0
	}
}

// renderBars draws bars side by side in at most width columns: each gets an equal share,
// with its name, a bar when there is room, and the percentage sent.
func renderBars(bars []*progressBar, width int) string {
	if len(bars) == 0 {
		return ""
	}
	share := width/len(bars) - 1
	var parts []string
	for _, b := range bars {
		pct := 100
		if b.total > 0 {
			pct = int(b.sent * 100 / b.total)
		}
		p := fmt.Sprintf("%3d%%", pct)
		room := share - len(p) - 1
		name := b.name
		if len(name) > min(room, 24) {
			name = name[:max(min(room, 24)-1, 0)] + "~"
		}
		if w := room - len(name) - 3; w >= 5 {
			done := w * pct / 100
			parts = append(parts, fmt.Sprintf("%s [%s%s] %s", name, strings.Repeat("#", done), strings.Repeat("-", w-done), p))
		} else {
			parts = append(parts, name+" "+p)
		}
	}
	return strings.Join(parts, " ")
}
