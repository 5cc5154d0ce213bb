package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func pypiFile(ch store.Channel, project, version, filename, seed string) store.NewFile {
	sum := sha256.Sum256([]byte(seed))
	sha := hex.EncodeToString(sum[:])
	return store.NewFile{ChannelID: ch.ID, Kind: "pypi", Package: project, Subdir: store.PyPISubdir, Filename: filename,
		SHA256: sha, MD5: sha[:32], Size: int64(len(seed)), Version: version, Record: []byte(`{}`),
		CoreMetadata: []byte("Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\n"), RequiresPython: ">=3.9"}
}

func testPyPI(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	whl := pypiFile(ch, "demo-lib", "1.0", "demo_lib-1.0-py3-none-any.whl", "w1")
	sd := pypiFile(ch, "demo-lib", "1.0", "demo_lib-1.0.tar.gz", "s1")
	w2 := pypiFile(ch, "demo-lib", "2.0", "demo_lib-2.0-py3-none-any.whl", "w2")
	other := pypiFile(ch, "other", "0.1", "other-0.1-py3-none-any.whl", "o1")
	for _, nf := range []store.NewFile{whl, sd, w2, other} {
		if _, created, err := s.AddFile(ctx, nf); err != nil || !created {
			t.Fatalf("AddFile(%s) = %v, %v", nf.Filename, created, err)
		}
	}
	// A conda package of the same name is not a Python project.
	if _, _, err := s.AddFile(ctx, file(ch, "noarch", "demo-lib", "1.0", "c1")); err != nil {
		t.Fatal(err)
	}
	projects, err := s.PyPIProjects(ctx, ch.ID)
	if err != nil || len(projects.Projects) != 2 || projects.Projects[0].Name != "demo-lib" || projects.Projects[1].Name != "other" {
		t.Errorf("PyPIProjects = %+v, %v", projects, err)
	}
	snap, err := s.PyPIProjectFiles(ctx, ch.ID, "demo-lib")
	if err != nil || len(snap.Files) != 3 {
		t.Fatalf("PyPIProjectFiles = %+v, %v", snap, err)
	}
	f := snap.Files[0]
	if f.Filename != "demo_lib-1.0-py3-none-any.whl" || f.SHA256 != whl.SHA256 || f.Size != 2 || f.RequiresPython != ">=3.9" || len(f.MetadataSHA256) != 64 || f.UploadedAt.IsZero() || f.Yanked {
		t.Errorf("file = %+v", f)
	}
	if _, err := s.PyPIProjectFiles(ctx, ch.ID, "nope"); !store.IsNotFound(err) {
		t.Errorf("missing project: %v", err)
	}
	if md, err := s.CoreMetadata(ctx, ch.ID, whl.Filename); err != nil || string(md) != string(whl.CoreMetadata) {
		t.Errorf("CoreMetadata = %q, %v", md, err)
	}
	// Yank a release (both files of 1.0), then unyank one file.
	rev := revision(t, s, "acme")
	if n, err := s.SetYanked(ctx, ch.ID, "demo-lib", []string{"1.0"}, "", true, "broken build", 0); err != nil || n != 2 {
		t.Errorf("yank release = %d, %v", n, err)
	}
	if revision(t, s, "acme") <= rev {
		t.Error("yanking did not move the revision")
	}
	if n, err := s.SetYanked(ctx, ch.ID, "demo-lib", nil, sd.Filename, false, "", 0); err != nil || n != 1 {
		t.Errorf("unyank file = %d, %v", n, err)
	}
	snap, _ = s.PyPIProjectFiles(ctx, ch.ID, "demo-lib")
	if !snap.Files[0].Yanked || snap.Files[0].YankedReason != "broken build" || snap.Files[1].Yanked || snap.Files[1].YankedReason != "" {
		t.Errorf("after yanks: %+v", snap.Files)
	}
	if f, err := s.File(ctx, ch.ID, store.FileRef{Subdir: store.PyPISubdir, Filename: whl.Filename}, ""); err != nil || !f.Yanked || f.YankedReason != "broken build" {
		t.Errorf("File after a yank = %+v, %v", f, err)
	}
	if _, err := s.SetYanked(ctx, ch.ID, "demo-lib", []string{"9.9"}, "", true, "", 0); !store.IsNotFound(err) {
		t.Errorf("yank of a missing release: %v", err)
	}
	// Removed: the name may come back only with the same bytes.
	if err := s.RemoveFile(ctx, ch.ID, store.FileRef{Subdir: store.PyPISubdir, Filename: w2.Filename}, 0); err != nil {
		t.Fatal(err)
	}
	changed := pypiFile(ch, "demo-lib", "2.0", w2.Filename, "w2-other")
	if _, _, err := s.AddFile(ctx, changed); !store.IsConflict(err) {
		t.Errorf("removed filename with other bytes: %v, want conflict", err)
	}
	if _, created, err := s.AddFile(ctx, w2); err != nil || !created {
		t.Errorf("removed filename with the same bytes: %v, %v", created, err)
	}

	// A copy to another channel keeps what the Simple API serves besides the bytes, and a
	// removed filename comes back by copy only with the same bytes too.
	other2 := mustChannel(t, s, "other")
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: other2.ID, Files: []store.FileRef{{Subdir: store.PyPISubdir, Filename: whl.Filename}}}); err != nil {
		t.Fatal(err)
	}
	if md, err := s.CoreMetadata(ctx, other2.ID, whl.Filename); err != nil || string(md) != string(whl.CoreMetadata) {
		t.Errorf("core metadata of the copy = %q, %v", md, err)
	}
	cp, err := s.PyPIProjectFiles(ctx, other2.ID, "demo-lib")
	if err != nil || len(cp.Files) != 1 || cp.Files[0].RequiresPython != ">=3.9" || cp.Files[0].MetadataSHA256 != snap.Files[0].MetadataSHA256 ||
		!cp.Files[0].Yanked || cp.Files[0].YankedReason != "broken build" {
		t.Errorf("the copy = %+v, %v; want the source's requires-python, metadata hash and yank", cp, err)
	}
	third := mustChannel(t, s, "third")
	if _, _, err := s.AddFile(ctx, pypiFile(third, "demo-lib", "1.5", "demo_lib-1.5-py3-none-any.whl", "third-bytes")); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFile(ctx, third.ID, store.FileRef{Subdir: store.PyPISubdir, Filename: "demo_lib-1.5-py3-none-any.whl"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddFile(ctx, pypiFile(ch, "demo-lib", "1.5", "demo_lib-1.5-py3-none-any.whl", "other-bytes")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: third.ID, Files: []store.FileRef{{Subdir: store.PyPISubdir, Filename: "demo_lib-1.5-py3-none-any.whl"}}}); !store.IsConflict(err) {
		t.Errorf("a removed filename copied back with other bytes: %v, want conflict", err)
	}
}

// testPyPILookalikes: a Python distribution's identity is its normalized name, version and
// tags. Another spelling of a stored distribution gets the stored file back (same bytes) or a
// conflict that names it (other bytes), on upload, after a removal and on copy; what is stored
// is the canonical filename.
func testPyPILookalikes(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	add := func(ch store.Channel, fn, seed string, labels ...string) (store.File, bool, error) {
		t.Helper()
		nf := pypiFile(ch, "col-lide", "1.0", fn, seed)
		nf.Labels = labels
		return s.AddFile(ctx, nf)
	}
	const canonical = "col_lide-1.0-py3-none-any.whl"
	f, created, err := add(ch, "Col_Lide-1.0-py3-none-any.whl", "a")
	if err != nil || !created || f.Filename != canonical {
		t.Fatalf("first upload = %q, %v, %v; want %s created", f.Filename, created, err, canonical)
	}
	for _, fn := range []string{canonical, "col.lide-1.0-py3-none-any.whl", "COL__lide-1.0-py3-none-any.whl", "col_lide-1.0.0-py3-none-any.whl", "Col.Lide-01.0-PY3-None-Any.whl"} {
		_, created, err := add(ch, fn, "b-"+fn)
		var ce *store.ConflictError
		if !errors.As(err, &ce) || created || !strings.Contains(err.Error(), fn) || (fn != canonical && !strings.Contains(ce.Reason, canonical)) {
			t.Errorf("%s with other bytes: created %v, %v; want a conflict naming the stored %s", fn, created, err, canonical)
		}
		got, created, err := add(ch, fn, "a")
		if err != nil || created || got.ID != f.ID || got.Filename != canonical {
			t.Errorf("%s with the same bytes = %q, %v, %v; want the stored file", fn, got.Filename, created, err)
		}
	}
	// The same bytes under another spelling, with a label: the stored file gets the label.
	if got, created, err := add(ch, "COL.LIDE-1.0-py3-none-any.whl", "a", "dev"); err != nil || created || !slices.Equal(got.Labels, []string{"dev", "main"}) {
		t.Errorf("same bytes with a label = %+v, %v, %v", got, created, err)
	}
	// Other tags or a build tag are other distributions; a release has one sdist.
	for _, c := range []struct {
		fn, stored string
		conflict   bool
	}{
		{"col_lide-1.0-py2.py3-none-any.whl", "col_lide-1.0-py2.py3-none-any.whl", false},
		{"Col.Lide-1.0-PY3.py2-none-any.whl", "", true},
		{"col_lide-1.0-1-py3-none-any.whl", "col_lide-1.0-1-py3-none-any.whl", false},
		{"Col.Lide-1.0.tar.gz", "col_lide-1.0.tar.gz", false},
		{"col-lide-1.0.zip", "", true},
		{"col-lide-1.0.0.tar.gz", "", true},
	} {
		got, created, err := add(ch, c.fn, c.fn)
		if c.conflict != store.IsConflict(err) || !c.conflict && (err != nil || !created || got.Filename != c.stored) {
			t.Errorf("%s = %q, %v, %v; want conflict %v", c.fn, got.Filename, created, err, c.conflict)
		}
	}
	snap, err := s.PyPIProjectFiles(ctx, ch.ID, "col-lide")
	var names []string
	for _, f := range snap.Files {
		names = append(names, f.Filename)
	}
	if want := []string{"col_lide-1.0-1-py3-none-any.whl", "col_lide-1.0-py2.py3-none-any.whl", canonical, "col_lide-1.0.tar.gz"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("the project page lists %q, %v; want %q", names, err, want)
	}
	if _, err := s.File(ctx, ch.ID, store.FileRef{Subdir: store.PyPISubdir, Filename: canonical}, ""); err != nil {
		t.Errorf("File(%s): %v", canonical, err)
	}
	if md, err := s.CoreMetadata(ctx, ch.ID, canonical); err != nil || len(md) == 0 {
		t.Errorf("CoreMetadata(%s) = %q, %v", canonical, md, err)
	}
	// A filename that is no distribution's is refused, and nothing is stored.
	if _, _, err := add(ch, "col-lide.txt", "x"); err == nil || store.IsConflict(err) {
		t.Errorf("a non-distribution filename: %v", err)
	}

	// Removed: any spelling of it comes back only with the same bytes.
	py23 := store.FileRef{Subdir: store.PyPISubdir, Filename: "col_lide-1.0-py2.py3-none-any.whl"}
	if err := s.RemoveFile(ctx, ch.ID, py23, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := add(ch, "COL.LIDE-1.0-py3.py2-none-any.whl", "other"); !store.IsConflict(err) || !strings.Contains(err.Error(), py23.Filename) {
		t.Errorf("a removed distribution under another spelling with other bytes: %v; want a conflict naming %s", err, py23.Filename)
	}
	if got, created, err := add(ch, "COL.LIDE-1.0-py3.py2-none-any.whl", py23.Filename); err != nil || !created || got.Filename != "col_lide-1.0-py3.py2-none-any.whl" {
		t.Errorf("a removed distribution under another spelling with its bytes = %q, %v, %v", got.Filename, created, err)
	}

	// Copies: into a channel that holds the distribution under another spelling, the same
	// bytes are that file, other bytes a conflict naming it.
	same, other := mustChannel(t, s, "same"), mustChannel(t, s, "other")
	if _, _, err := add(same, "col_lide-1.0.0-py3-none-any.whl", "a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := add(other, "col.lide-1.0.0-py3-none-any.whl", "c"); err != nil {
		t.Fatal(err)
	}
	ref := store.FileRef{Subdir: store.PyPISubdir, Filename: canonical}
	out, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: same.ID, Files: []store.FileRef{ref}, ToLabels: []string{"copied"}})
	if err != nil || len(out) != 1 || out[0].Filename != "col_lide-1.0.0-py3-none-any.whl" || !slices.Contains(out[0].Labels, "copied") {
		t.Errorf("copy onto the same bytes under another spelling = %+v, %v", out, err)
	}
	_, err = s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: other.ID, Files: []store.FileRef{ref}})
	if !store.IsConflict(err) || !strings.Contains(err.Error(), "col_lide-1.0.0-py3-none-any.whl") {
		t.Errorf("copy onto other bytes under another spelling: %v; want a conflict naming the stored file", err)
	}
	if snap, err := s.PyPIProjectFiles(ctx, other.ID, "col-lide"); err != nil || len(snap.Files) != 1 || snap.Files[0].SHA256 != pypiFile(other, "col-lide", "1.0", "x", "c").SHA256 {
		t.Errorf("after the refused copy: %+v, %v", snap.Files, err)
	}
}

// testConcurrentLookalikes: spellings of one distribution uploaded at once with different
// bytes: the database lets one win, the others are conflicts.
func testConcurrentLookalikes(t *testing.T, s store.Store) {
	ch := mustChannel(t, s, "acme")
	spellings := []string{"Col_Lide-1.0-py3-none-any.whl", "col_lide-1.0-py3-none-any.whl", "col.lide-1.0-py3-none-any.whl", "COL__lide-1.0-py3-none-any.whl",
		"col.lide-1.0.0-py3-none-any.whl", "Col.Lide-v1.0-py3-none-any.whl", "cOl_LiDe-1.0-py3-none-any.whl", "col_lide-01-py3-none-any.whl"}
	var wg sync.WaitGroup
	errs := make([]error, len(spellings))
	created := make([]bool, len(spellings))
	for i, fn := range spellings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, created[i], errs[i] = s.AddFile(t.Context(), pypiFile(ch, "col-lide", "1.0", fn, fn))
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil && created[i]:
			wins++
		case !store.IsConflict(err):
			t.Errorf("%s: created %v, %v; want created or a conflict", spellings[i], created[i], err)
		}
	}
	snap, err := s.PyPIProjectFiles(t.Context(), ch.ID, "col-lide")
	if wins != 1 || err != nil || len(snap.Files) != 1 {
		t.Errorf("%d uploads won, the page lists %d files (%v); want one", wins, len(snap.Files), err)
	}
}

// testConcurrentCopyAndUpload: one distribution reaching a channel at once under two
// spellings, by an upload and by a copy from another channel: with other bytes one wins and
// the other is a conflict; with the same bytes both answer with the one stored file.
func testConcurrentCopyAndUpload(t *testing.T, s store.Store) {
	ctx := t.Context()
	src := mustChannel(t, s, "src")
	for round := range 8 {
		dst := mustChannel(t, s, fmt.Sprintf("dst%d", round))
		version := fmt.Sprintf("1.%d", round)
		copied := fmt.Sprintf("Col.Lide-%s-py3-none-any.whl", version)
		srcFile, _, err := s.AddFile(ctx, pypiFile(src, "col-lide", version, copied, "copied"+version))
		if err != nil {
			t.Fatal(err)
		}
		sameBytes := round%2 == 1
		seed := "uploaded" + version
		if sameBytes {
			seed = "copied" + version
		}
		var wg sync.WaitGroup
		var upErr, copyErr error
		var upCreated bool
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, upCreated, upErr = s.AddFile(ctx, pypiFile(dst, "col-lide", version, fmt.Sprintf("COL__lide-%s.0-py3-none-any.whl", version), seed))
		}()
		go func() {
			defer wg.Done()
			_, copyErr = s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, ToChannelID: dst.ID,
				Files: []store.FileRef{{Subdir: store.PyPISubdir, Filename: srcFile.Filename}}})
		}()
		wg.Wait()
		snap, err := s.PyPIProjectFiles(ctx, dst.ID, "col-lide")
		if err != nil || len(snap.Files) != 1 {
			t.Fatalf("round %d: the channel lists %+v, %v; want one file", round, snap.Files, err)
		}
		if sameBytes {
			if upErr != nil || copyErr != nil || snap.Files[0].SHA256 != srcFile.SHA256 {
				t.Errorf("round %d, same bytes: upload %v (created %v), copy %v; want both to find the one file", round, upErr, upCreated, copyErr)
			}
			continue
		}
		if (upErr == nil) == (copyErr == nil) || upErr != nil && !store.IsConflict(upErr) || copyErr != nil && !store.IsConflict(copyErr) {
			t.Errorf("round %d, other bytes: upload %v, copy %v; want one to win and the other a conflict", round, upErr, copyErr)
		}
		if won := snap.Files[0].SHA256 == srcFile.SHA256; won != (copyErr == nil) {
			t.Errorf("round %d: the channel holds the %s bytes, but the copy answered %v", round, map[bool]string{true: "copied", false: "uploaded"}[won], copyErr)
		}
	}
}
