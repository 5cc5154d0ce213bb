package storetest

import (
	"crypto/sha256"
	"encoding/hex"
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
