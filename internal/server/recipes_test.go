package server_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/blob/blobtest"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/conda/condatest"
	"github.com/wharfhq/wharf/internal/fault"
	repodatapkg "github.com/wharfhq/wharf/internal/repodata"
	"github.com/wharfhq/wharf/internal/store"
)

// storeAsBefore stores a package as a server did before it read recipes: its recipe not
// read (NULL), its blob put only when withBlob.
func (e *env) storeAsBefore(channel string, filename string, data []byte, withBlob bool) {
	e.t.Helper()
	ctx := e.t.Context()
	ch, err := e.store.ChannelByName(ctx, channel)
	if err != nil {
		e.t.Fatal(err)
	}
	s, m := sha256.Sum256(data), md5.Sum(data)
	sha, md := hex.EncodeToString(s[:]), hex.EncodeToString(m[:])
	nf := store.NewFile{ChannelID: ch.ID, Kind: "conda", Filename: filename, SHA256: sha, MD5: md, Size: int64(len(data)), Labels: []string{"main"}}
	if p, err := conda.ReadPackage(bytes.NewReader(data), int64(len(data)), filename, conda.DefaultLimits()); err == nil {
		rec, err := p.Record(sha, md, int64(len(data)))
		if err != nil {
			e.t.Fatal(err)
		}
		nf.Package, nf.Subdir, nf.Version, nf.Build, nf.Timestamp, nf.Record, nf.About = p.Name, p.Subdir, p.Version, p.Build, p.Timestamp, rec.JSON, p.About
		if nf.RecordMsgpack, err = repodatapkg.EncodeShardRecord(rec.JSON); err != nil {
			e.t.Fatal(err)
		}
	} else { // bytes no longer read as a package
		nf.Package, nf.Subdir, nf.Version, nf.Build = "broken", "noarch", "1.0", "0"
		nf.Record = []byte(`{"build":"0","build_number":0,"depends":[],"name":"broken","subdir":"noarch","version":"1.0"}`)
	}
	if withBlob {
		if err := e.blobs.Put(ctx, blob.Key(sha), bytes.NewReader(data), int64(len(data))); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, _, err := e.store.AddFile(ctx, nf); err != nil {
		e.t.Fatal(err)
	}
}

// TestBackfillRecipes: packages stored before recipes were read get their source_url into
// channeldata.json once the server has read them from their blobs.
func TestBackfillRecipes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			e.createChannel("acme", false)
			withRecipe := func(name, url string) condatest.Spec {
				s := spec(name, "1.0", "0", "noarch", condatest.Conda)
				s.Noarch = "generic"
				s.Info = map[string][]byte{"recipe/meta.yaml": []byte("source:\n  url: " + url + "\n")}
				return s
			}
			old, lost := withRecipe("old", "https://example.org/old.tgz"), withRecipe("lost", "https://example.org/lost.tgz")
			oldData, lostData := condatest.Build(t, old), condatest.Build(t, lost)
			e.storeAsBefore("acme", old.Filename(), oldData, true)
			e.storeAsBefore("acme", lost.Filename(), lostData, false) // its blob is not there (yet)
			e.storeAsBefore("acme", "broken-1.0-0.conda", []byte("not a package"), true)

			sourceURL := func(name string) any {
				var cd struct {
					Packages map[string]map[string]any `json:"packages"`
				}
				e.do("GET", "/conda/acme/channeldata.json", "", nil).json(t, &cd)
				return cd.Packages[name]["source_url"]
			}
			if got := sourceURL("old"); got != nil {
				t.Fatalf("before the backfill: source_url = %v", got)
			}
			if _, err := e.server.BackfillRecipes(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := sourceURL("old"); got != "https://example.org/old.tgz" {
				t.Errorf("after the backfill: old's source_url = %v", got)
			}
			left, err := e.store.FilesWithoutRecipe(t.Context(), 0, 10)
			if err != nil || len(left) != 1 || left[0].Filename != lost.Filename() {
				t.Fatalf("left unread = %+v, %v; want only the file without a blob", left, err)
			}
			// Nothing changes until the blob is back; then it is read too.
			if n, err := e.server.BackfillRecipes(t.Context()); n != 0 || err != nil {
				t.Errorf("again without the blob: %d, %v", n, err)
			}
			s := sha256.Sum256(lostData)
			if err := e.blobs.Put(t.Context(), blob.Key(hex.EncodeToString(s[:])), bytes.NewReader(lostData), int64(len(lostData))); err != nil {
				t.Fatal(err)
			}
			if n, err := e.server.BackfillRecipes(t.Context()); n != 1 || err != nil {
				t.Errorf("with the blob back: %d, %v", n, err)
			}
			if got := sourceURL("lost"); got != "https://example.org/lost.tgz" {
				t.Errorf("lost's source_url = %v", got)
			}
			// Uploads read the recipe at once: nothing is left for a backfill.
			e.mustUpload("acme", withRecipe("fresh", "https://example.org/fresh.tgz"))
			if left, err := e.store.FilesWithoutRecipe(t.Context(), 0, 10); err != nil || len(left) != 0 {
				t.Errorf("left unread after an upload = %+v, %v", left, err)
			}
			if got := sourceURL("fresh"); got != "https://example.org/fresh.tgz" {
				t.Errorf("fresh's source_url = %v", got)
			}
		})
	}
}

// TestBackfillRecipesStopsWhileBlobStoreIsDown: with the object store unreachable, the
// backfill stops at the first file it cannot read and says why, rather than trying (and
// logging) every file of the server in turn; once the store is back, a run reads them all.
func TestBackfillRecipesStopsWhileBlobStoreIsDown(t *testing.T) {
	var s3 *blobtest.S3Server
	b := sqliteS3(&s3)
	opens := &openLog{}
	e := newEnvWrapped(t, b, func(b blob.Store) blob.Store { opens.Store = b; return opens })
	e.createChannel("acme", false)
	for _, name := range []string{"one", "two", "three"} {
		s := spec(name, "1.0", "0", "noarch", condatest.Conda)
		s.Noarch = "generic"
		s.Info = map[string][]byte{"recipe/meta.yaml": []byte("source:\n  url: https://example.org/" + name + ".tgz\n")}
		e.storeAsBefore("acme", s.Filename(), condatest.Build(t, s), true)
	}
	opens.take()
	s3.Stop()
	n, err := e.server.BackfillRecipes(t.Context())
	if n != 0 || fault.Of(err) != fault.Unavailable {
		t.Errorf("backfill with the object store down = %d, %v; want 0 and an error that says it is unavailable", n, err)
	}
	if got := len(opens.take()); got != 1 {
		t.Errorf("the backfill tried %d blobs with the object store down; want it to stop at the first", got)
	}
	if err := s3.Start(); err != nil {
		t.Fatal(err)
	}
	if n, err := e.server.BackfillRecipes(t.Context()); n != 3 || err != nil {
		t.Errorf("backfill once the object store is back = %d, %v; want 3", n, err)
	}
}
