// Package storetest is the conformance suite every store.Store backend must pass.
package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/store"
)

// Run runs the whole suite; newStore returns an empty, migrated store for one test.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"Channels", testChannels},
		{"AddFileIsIdempotentAndImmutable", testAddFile},
		{"ConcurrentSameFilename", testConcurrentSameFilename},
		{"ConcurrentDifferentFiles", testConcurrentDifferentFiles},
		{"SnapshotsFollowLabelsAndSubdirs", testSnapshots},
		{"RemoveFile", testRemoveFile},
		{"CopyAndMoveBetweenLabels", testCopyMoveLabels},
		{"CopyAndMoveBetweenChannels", testCopyMoveChannels},
		{"History", testHistory},
		{"SubchannelInheritsPrivacy", testSubchannelPrivacy},
		{"ReuploadAddsLabels", testReuploadAddsLabels},
		{"ByteWiseOrder", testByteWiseOrder},
		{"UsersOwnTheirNameAndChannel", testUserNamespace},
		{"LookAlikeNames", testLookAlikeNames},
		{"ConcurrentLookAlikes", testConcurrentLookAlikes},
		{"UpdateUser", testUpdateUser},
		{"RehashPassword", testRehashPassword},
		{"UnconfirmedOwners", testUnconfirmedOwners},
		{"EmailTokensAreSingleUse", testEmailTokens},
		{"Orgs", testOrgs},
		{"GroupsAndGrants", testGroupsAndGrants},
		{"PackageGrantSpellings", testPackageGrantSpellings},
		{"GroupsByteWiseOrder", testGroupOrder},
		{"Privacy", testPrivacy},
		{"LastOwnerUnderConcurrency", testLastOwnerRace},
		{"CopyKeepsPrivacy", testCopyKeepsPrivacy},
		{"Tokens", testTokens},
		{"AccessEpoch", testAccessEpoch},
		{"PyPI", testPyPI},
		{"PyPILookalikes", testPyPILookalikes},
		{"ConcurrentPyPILookalikes", testConcurrentLookalikes},
		{"ConcurrentCopyAndUpload", testConcurrentCopyAndUpload},
		{"DeleteChannel", testDeleteChannel},
		{"Sessions", testSessions},
		{"Settings", testSettings},
		{"Browse", testBrowse},
		{"RecheckAtCommit", testRecheck},
		{"RecheckHoldsOffChanges", testRecheckHoldsOff},
		{"BlobsListsWhatFilesName", testBlobs},
		{"RecipeBackfill", testRecipeBackfill},
		{"IndexRevisions", testIndexRevisions},
		{"WatchChanges", testWatchChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func mustUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), store.NewUser{Name: name, Email: name + "@example.com", EmailVerified: true, PasswordHash: "x", Admin: true})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// mustOrgGroup makes the org acme, owned by owner, with the group devs of which member is a
// member; it returns the org and its channel.
func mustOrgGroup(t *testing.T, s store.Store, owner, member store.User) (store.Org, store.Channel) {
	t.Helper()
	ctx := t.Context()
	org, err := s.CreateOrg(ctx, "acme", owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.ChannelByName(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGroup(ctx, org.ID, "devs", owner.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, org.ID, "devs", member.ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	return org, ch
}

func mustChannel(t *testing.T, s store.Store, name string) store.Channel {
	t.Helper()
	c, err := s.CreateChannel(t.Context(), store.NewChannel{Name: name})
	if err != nil {
		t.Fatalf("CreateChannel(%s): %v", name, err)
	}
	return c
}

// testRecipeBackfill: files stored without a recipe (as before recipes were read) are listed
// until one is set, and setting one bumps its channel's revision, once.
func testRecipeBackfill(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	other := mustChannel(t, s, "other")
	var ids []int64
	for i, c := range []store.Channel{ch, ch, other} {
		nf := file(c, "noarch", fmt.Sprintf("old%d", i), "1.0", fmt.Sprint("old", i))
		nf.RecipeSource = nil // stored before recipes were read
		f, _, err := s.AddFile(ctx, nf)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	if _, _, err := s.AddFile(ctx, file(ch, "noarch", "new", "1.0", "new")); err != nil { // read: not listed
		t.Fatal(err)
	}
	got, err := s.FilesWithoutRecipe(ctx, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] || got[0].Filename != "old0-1.0-0.conda" || got[0].Subdir != "noarch" ||
		got[0].SHA256 == "" || got[0].Size != int64(len("old0")) {
		t.Fatalf("FilesWithoutRecipe(0, 2) = %+v", got)
	}
	if rest, err := s.FilesWithoutRecipe(ctx, ids[1], 10); err != nil || len(rest) != 1 || rest[0].ID != ids[2] {
		t.Fatalf("FilesWithoutRecipe(after %d) = %+v, %v", ids[1], rest, err)
	}
	revA, revO := revision(t, s, "acme"), revision(t, s, "other")
	n, err := s.SetRecipeSources(ctx, map[int64]json.RawMessage{ids[0]: json.RawMessage(`{"url":"u"}`), ids[1]: json.RawMessage(`{}`)})
	if err != nil || n != 2 {
		t.Fatalf("SetRecipeSources = %d, %v", n, err)
	}
	if revision(t, s, "acme") != revA+1 || revision(t, s, "other") != revO {
		t.Errorf("revisions %d -> %d (acme), %d -> %d (other); want acme bumped once", revA, revision(t, s, "acme"), revO, revision(t, s, "other"))
	}
	// Set once: a second pass changes nothing, and bumps nothing.
	if n, err := s.SetRecipeSources(ctx, map[int64]json.RawMessage{ids[0]: json.RawMessage(`{"url":"other"}`)}); err != nil || n != 0 || revision(t, s, "acme") != revA+1 {
		t.Errorf("setting again = %d, %v; revision %d", n, err, revision(t, s, "acme"))
	}
	if left, err := s.FilesWithoutRecipe(ctx, 0, 10); err != nil || len(left) != 1 || left[0].ID != ids[2] {
		t.Errorf("left = %+v, %v", left, err)
	}
	cs, err := s.ChannelSnapshot(ctx, ch.ID, "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cs.Packages {
		if p.Name == "old0" && string(p.RecipeSource) != `{"url":"u"}` {
			t.Errorf("old0 RecipeSource = %s", p.RecipeSource)
		}
	}
}

// file builds a NewFile whose content is named by seed.
func file(ch store.Channel, subdir, name, version, seed string, labels ...string) store.NewFile {
	sum := sha256.Sum256([]byte(seed))
	sha := hex.EncodeToString(sum[:])
	fn := fmt.Sprintf("%s-%s-0.conda", name, version)
	rec, _ := json.Marshal(map[string]any{"name": name, "version": version, "build": "0", "build_number": 0,
		"depends": []string{}, "subdir": subdir, "sha256": sha, "md5": sha[:32], "size": len(seed)})
	return store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: name, Subdir: subdir, Filename: fn,
		SHA256: sha, MD5: sha[:32], Size: int64(len(seed)), Version: version, Build: "0",
		Record: rec, RecordMsgpack: []byte{0x80}, RunExports: json.RawMessage(`{"weak":["` + name + `"]}`), About: json.RawMessage(`{"summary":"s"}`),
		RecipeSource: json.RawMessage(`{"url":"https://example.org/` + name + `.tgz"}`), Labels: labels}
}

func revision(t *testing.T, s store.Store, name string) int64 {
	t.Helper()
	c, err := s.ChannelByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Revision
}

func filenames(t *testing.T, s store.Store, ch store.Channel, label, subdir string) []string {
	t.Helper()
	snap, err := s.SubdirSnapshot(t.Context(), ch.ID, label, subdir)
	if err != nil {
		t.Fatalf("SubdirSnapshot: %v", err)
	}
	out := []string{}
	for _, r := range snap.Records {
		out = append(out, r.Filename)
	}
	return out
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	if !u.Admin || u.ID == 0 || u.CreatedAt.IsZero() {
		t.Errorf("created user = %+v", u)
	}
	if _, err := s.CreateUser(ctx, store.NewUser{Name: "alice", Email: "x@y", PasswordHash: "h"}); !store.IsConflict(err) {
		t.Errorf("second alice: err = %v, want conflict", err)
	}
	got, err := s.UserByName(ctx, "alice")
	if err != nil || got.ID != u.ID || got.Email != "alice@example.com" {
		t.Errorf("UserByName = %+v, %v", got, err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Name != "alice" {
		t.Errorf("UserByID = %+v, %v", got, err)
	}
	if _, err := s.UserByName(ctx, "bob"); !store.IsNotFound(err) {
		t.Errorf("UserByName(bob) err = %v, want not found", err)
	}
}

func testChannels(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	c, err := s.CreateChannel(ctx, store.NewChannel{Name: "acme", OwnerUserID: u.ID, ActorID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if c.Revision < 1 || c.OwnerUserID != u.ID || c.Private {
		t.Errorf("channel = %+v", c)
	}
	if _, err := s.CreateChannel(ctx, store.NewChannel{Name: "acme"}); !store.IsConflict(err) {
		t.Errorf("duplicate channel: err = %v, want conflict", err)
	}
	sub, err := s.CreateChannel(ctx, store.NewChannel{Name: "acme/dev", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ParentID != c.ID || !sub.Private {
		t.Errorf("subchannel = %+v, want parent %d and private", sub, c.ID)
	}
	if _, err := s.CreateChannel(ctx, store.NewChannel{Name: "nope/dev"}); !store.IsNotFound(err) {
		t.Errorf("subchannel without parent: err = %v, want not found", err)
	}
	list, err := s.ListChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"acme", "acme/dev", "alice"}, names); diff != "" {
		t.Errorf("ListChannels (-want +got):\n%s", diff)
	}
	if _, err := s.ChannelByName(ctx, "other"); !store.IsNotFound(err) {
		t.Errorf("ChannelByName(other) err = %v", err)
	}
}

func testAddFile(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	rev0 := revision(t, s, "acme")
	nf := file(ch, "linux-64", "demo", "1.0", "bytes-1")
	f, created, err := s.AddFile(ctx, nf)
	if err != nil || !created {
		t.Fatalf("AddFile = %v, created %v", err, created)
	}
	if diff := cmp.Diff([]string{"main"}, f.Labels); diff != "" {
		t.Errorf("default labels (-want +got):\n%s", diff)
	}
	if f.SHA256 != nf.SHA256 || f.Package != "demo" || f.Kind != "conda" || f.Size != nf.Size {
		t.Errorf("stored = %+v", f)
	}
	rev1 := revision(t, s, "acme")
	if rev1 <= rev0 {
		t.Errorf("revision after upload = %d, want > %d", rev1, rev0)
	}

	again, created, err := s.AddFile(ctx, nf)
	if err != nil || created || again.ID != f.ID {
		t.Errorf("same bytes again = %+v, created %v, err %v; want the stored file, not created", again, created, err)
	}
	if rev := revision(t, s, "acme"); rev != rev1 {
		t.Errorf("revision after no-op upload = %d, want %d", rev, rev1)
	}

	other := file(ch, "linux-64", "demo", "1.0", "bytes-2")
	if _, _, err := s.AddFile(ctx, other); !store.IsConflict(err) {
		t.Errorf("other bytes, same name: err = %v, want conflict", err)
	}
	got, err := s.File(ctx, ch.ID, store.FileRef{Subdir: "linux-64", Filename: nf.Filename}, "")
	if err != nil || got.SHA256 != nf.SHA256 {
		t.Errorf("after conflict, stored file = %+v, %v; want the first bytes", got, err)
	}
	// The same filename in another subdir is another file.
	if _, created, err := s.AddFile(ctx, file(ch, "osx-64", "demo", "1.0", "bytes-3")); err != nil || !created {
		t.Errorf("same filename in osx-64: created %v, err %v", created, err)
	}
	if in, err := s.BlobInUse(ctx, nf.SHA256); err != nil || !in {
		t.Errorf("BlobInUse(stored) = %v, %v", in, err)
	}
	if in, err := s.BlobInUse(ctx, other.SHA256); err != nil || in {
		t.Errorf("BlobInUse(refused) = %v, %v", in, err)
	}
}

func testConcurrentSameFilename(t *testing.T, s store.Store) {
	ch := mustChannel(t, s, "acme")
	var wg sync.WaitGroup
	results := make([]error, 10)
	created := make([]bool, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, created[i], results[i] = s.AddFile(t.Context(), file(ch, "noarch", "race", "1.0", fmt.Sprint("content-", i)))
		}()
	}
	wg.Wait()
	wins, conflicts := 0, 0
	for i, err := range results {
		switch {
		case err == nil && created[i]:
			wins++
		case store.IsConflict(err):
			conflicts++
		default:
			t.Errorf("upload %d: created %v, err %v; want created or conflict", i, created[i], err)
		}
	}
	if wins != 1 || conflicts != 9 {
		t.Errorf("wins %d, conflicts %d; want 1 and 9", wins, conflicts)
	}
	if got := filenames(t, s, ch, "main", "noarch"); len(got) != 1 {
		t.Errorf("snapshot = %v, want one file", got)
	}
}

func testConcurrentDifferentFiles(t *testing.T, s store.Store) {
	ch := mustChannel(t, s, "acme")
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = s.AddFile(t.Context(), file(ch, "linux-64", fmt.Sprintf("pkg%02d", i), "1.0", fmt.Sprint("c", i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d: %v", i, err)
		}
	}
	if got := filenames(t, s, ch, "main", "linux-64"); len(got) != 50 {
		t.Errorf("snapshot has %d files, want 50", len(got))
	}
}

func testSnapshots(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	a := file(ch, "linux-64", "b-pkg", "1.0", "a")
	b := file(ch, "linux-64", "a-pkg", "1.0", "b", "main", "dev")
	c := file(ch, "noarch", "c-pkg", "1.0", "c", "dev")
	var afterB int64 // the revision of the last change to main/linux-64
	for _, nf := range []store.NewFile{a, b, c} {
		if _, _, err := s.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
		if nf.Filename == b.Filename {
			afterB = revision(t, s, "acme")
		}
	}
	if diff := cmp.Diff([]string{"a-pkg-1.0-0.conda", "b-pkg-1.0-0.conda"}, filenames(t, s, ch, "main", "linux-64")); diff != "" {
		t.Errorf("main/linux-64 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a-pkg-1.0-0.conda"}, filenames(t, s, ch, "dev", "linux-64")); diff != "" {
		t.Errorf("dev/linux-64 (-want +got):\n%s", diff)
	}
	if got := filenames(t, s, ch, "main", "noarch"); len(got) != 0 {
		t.Errorf("main/noarch = %v, want empty", got)
	}
	snap, err := s.SubdirSnapshot(ctx, ch.ID, "main", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	r := snap.Records[0]
	if r.Name != "a-pkg" || r.Version != "1.0" || r.Build != "0" || string(r.JSON) != string(b.Record) || string(r.RunExports) != string(b.RunExports) || string(r.Msgpack) != string(b.RecordMsgpack) {
		t.Errorf("record = %+v", r)
	}
	if snap.Revision != afterB || snap.UpdatedAt.IsZero() {
		t.Errorf("snapshot revision %d at %v", snap.Revision, snap.UpdatedAt)
	}
	cs, err := s.ChannelSnapshot(ctx, ch.ID, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Packages) != 2 || cs.Packages[0].Subdir != "linux-64" || cs.Packages[1].Subdir != "noarch" || string(cs.Packages[1].About) != `{"summary":"s"}` ||
		string(cs.Packages[1].RecipeSource) != `{"url":"https://example.org/`+cs.Packages[1].Name+`.tgz"}` {
		t.Errorf("channel snapshot = %+v", cs.Packages)
	}
	labels, err := s.Labels(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.LabelCount{{Label: "dev", Files: 2}, {Label: "main", Files: 2}}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	files, err := s.ListFiles(ctx, ch.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || len(files[0].Labels) != 2 {
		t.Errorf("ListFiles = %+v", files)
	}
}

func testRemoveFile(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	nf := file(ch, "noarch", "gone", "1.0", "x")
	if _, _, err := s.AddFile(ctx, nf); err != nil {
		t.Fatal(err)
	}
	rev := revision(t, s, "acme")
	ref := store.FileRef{Subdir: "noarch", Filename: nf.Filename}
	if err := s.RemoveFile(ctx, ch.ID, ref, 0); err != nil {
		t.Fatal(err)
	}
	if got := filenames(t, s, ch, "main", "noarch"); len(got) != 0 {
		t.Errorf("after remove: %v", got)
	}
	if revision(t, s, "acme") <= rev {
		t.Error("remove did not bump the revision")
	}
	if err := s.RemoveFile(ctx, ch.ID, ref, 0); !store.IsNotFound(err) {
		t.Errorf("second remove: %v, want not found", err)
	}
	if in, _ := s.BlobInUse(ctx, nf.SHA256); in {
		t.Error("blob still in use after its only file was removed")
	}
}

func testCopyMoveLabels(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	nf := file(ch, "noarch", "p", "1.0", "x", "dev")
	if _, _, err := s.AddFile(ctx, nf); err != nil {
		t.Fatal(err)
	}
	ref := store.FileRef{Subdir: "noarch", Filename: nf.Filename}
	rev := revision(t, s, "acme")
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: ch.ID, Files: []store.FileRef{ref}, ToLabels: []string{"staging"}}); err != nil {
		t.Fatal(err)
	}
	if revision(t, s, "acme") <= rev {
		t.Error("copy did not bump the revision")
	}
	for _, l := range []string{"dev", "staging"} {
		if got := filenames(t, s, ch, l, "noarch"); len(got) != 1 {
			t.Errorf("after copy, label %s = %v", l, got)
		}
	}
	// Move the whole dev label to main.
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: ch.ID, FromLabel: "dev", ToLabels: []string{"main"}, Move: true}); err != nil {
		t.Fatal(err)
	}
	if got := filenames(t, s, ch, "dev", "noarch"); len(got) != 0 {
		t.Errorf("after move, dev = %v", got)
	}
	if got := filenames(t, s, ch, "main", "noarch"); len(got) != 1 {
		t.Errorf("after move, main = %v", got)
	}
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: ch.ID, Files: []store.FileRef{ref}, ToLabels: []string{"x"}, Move: true}); err == nil {
		t.Error("move within a channel without a source label succeeded")
	}
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: ch.ID, Files: []store.FileRef{{Subdir: "noarch", Filename: "nope-1-0.conda"}}, ToLabels: []string{"x"}}); !store.IsNotFound(err) {
		t.Errorf("copy of a missing file: %v, want not found", err)
	}
}

func testCopyMoveChannels(t *testing.T, s store.Store) {
	ctx := t.Context()
	src := mustChannel(t, s, "acme")
	dst := mustChannel(t, s, "prod")
	nf := file(src, "linux-64", "p", "1.0", "x", "main", "dev")
	if _, _, err := s.AddFile(ctx, nf); err != nil {
		t.Fatal(err)
	}
	ref := store.FileRef{Subdir: "linux-64", Filename: nf.Filename}
	got, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, ToChannelID: dst.ID, Files: []store.FileRef{ref}, ToLabels: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ChannelID != dst.ID || got[0].SHA256 != nf.SHA256 {
		t.Errorf("copied = %+v", got)
	}
	if names := filenames(t, s, dst, "main", "linux-64"); len(names) != 1 {
		t.Errorf("target main = %v", names)
	}
	// The copy keeps what channeldata takes from the file's recipe.
	if cs, err := s.ChannelSnapshot(ctx, dst.ID, "main"); err != nil || len(cs.Packages) != 1 || string(cs.Packages[0].RecipeSource) != string(nf.RecipeSource) {
		t.Errorf("copied channel snapshot = %+v (%v), want RecipeSource %s", cs.Packages, err, nf.RecipeSource)
	}
	// Copying again is a no-op; a same-named file with other bytes is a conflict.
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, ToChannelID: dst.ID, Files: []store.FileRef{ref}}); err != nil {
		t.Errorf("copy again: %v", err)
	}
	third := mustChannel(t, s, "third")
	if _, _, err := s.AddFile(ctx, file(third, "linux-64", "p", "1.0", "other bytes")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, ToChannelID: third.ID, Files: []store.FileRef{ref}}); !store.IsConflict(err) {
		t.Errorf("copy onto other bytes: %v, want conflict", err)
	}
	// Move only the dev label out: the source keeps main.
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, ToChannelID: dst.ID, FromLabel: "dev", ToLabels: []string{"dev"}, Move: true}); err != nil {
		t.Fatal(err)
	}
	if names := filenames(t, s, src, "dev", "linux-64"); len(names) != 0 {
		t.Errorf("source dev after move = %v", names)
	}
	if names := filenames(t, s, src, "main", "linux-64"); len(names) != 1 {
		t.Errorf("source main after move = %v", names)
	}
	// A move without a label takes the whole file out of the source.
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: src.ID, ToChannelID: dst.ID, Files: []store.FileRef{ref}, Move: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.File(ctx, src.ID, ref, ""); !store.IsNotFound(err) {
		t.Errorf("source file after whole move: %v, want not found", err)
	}
	if f, err := s.File(ctx, dst.ID, ref, "dev"); err != nil || len(f.Labels) != 2 {
		t.Errorf("target file = %+v, %v; want labels dev and main", f, err)
	}
}

func testHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	ch, err := s.CreateChannel(ctx, store.NewChannel{Name: "acme", ActorID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	nf := file(ch, "noarch", "p", "1.0", "x")
	nf.UploaderID = u.ID
	if _, _, err := s.AddFile(ctx, nf); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFile(ctx, ch.ID, store.FileRef{Subdir: "noarch", Filename: nf.Filename}, u.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, ch.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Actor+" "+e.Action)
		if !json.Valid(e.Detail) || e.CreatedAt.IsZero() {
			t.Errorf("event %+v", e)
		}
	}
	if diff := cmp.Diff([]string{"alice file.remove", "alice file.upload", "alice channel.create"}, got); diff != "" {
		t.Errorf("events, newest first (-want +got):\n%s", diff)
	}
}

func testSubchannelPrivacy(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.CreateChannel(ctx, store.NewChannel{Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	sub, err := s.CreateChannel(ctx, store.NewChannel{Name: "secret/dev"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Private || !sub.ParentPrivate {
		t.Errorf("created subchannel: private %v, parent private %v; want false, true", sub.Private, sub.ParentPrivate)
	}
	got, err := s.ChannelByName(ctx, "secret/dev")
	if err != nil || !got.ParentPrivate {
		t.Errorf("ChannelByName(secret/dev) = %+v, %v; want ParentPrivate", got, err)
	}
	mustChannel(t, s, "open")
	pub := mustChannel(t, s, "open/dev")
	if pub.ParentPrivate {
		t.Errorf("subchannel of a public channel has ParentPrivate")
	}
	list, err := s.ListChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if want := c.Name == "secret/dev"; c.ParentPrivate != want {
			t.Errorf("ListChannels: %s ParentPrivate = %v, want %v", c.Name, c.ParentPrivate, want)
		}
	}
}

func testReuploadAddsLabels(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	nf := file(ch, "noarch", "demo", "1.0", "bytes", "dev")
	if _, _, err := s.AddFile(ctx, nf); err != nil {
		t.Fatal(err)
	}
	rev := revision(t, s, "acme")
	nf.Labels = []string{"dev", "stable", "stable"}
	f, created, err := s.AddFile(ctx, nf)
	if err != nil || created {
		t.Fatalf("re-upload with a new label: created %v, err %v; want the stored file", created, err)
	}
	if diff := cmp.Diff([]string{"dev", "stable"}, f.Labels); diff != "" {
		t.Errorf("labels after re-upload (-want +got):\n%s", diff)
	}
	if got := filenames(t, s, ch, "stable", "noarch"); len(got) != 1 {
		t.Errorf("stable snapshot = %v, want the file", got)
	}
	if r := revision(t, s, "acme"); r <= rev {
		t.Errorf("revision after adding a label = %d, want > %d", r, rev)
	}
	// No labels named: the default "main" is not forced onto a file that has labels.
	nf.Labels = nil
	f, _, err = s.AddFile(ctx, nf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"dev", "stable"}, f.Labels); diff != "" {
		t.Errorf("labels after re-upload without labels (-want +got):\n%s", diff)
	}
}

func testByteWiseOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	// Locale collations put "a-b" after "ab" or ignore case; conda-index sorts by bytes.
	for _, name := range []string{"ab", "a-b", "aB", "a_b", "Zz"} {
		if _, _, err := s.AddFile(ctx, file(ch, "noarch", name, "1.0", name)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Zz-1.0-0.conda", "a-b-1.0-0.conda", "aB-1.0-0.conda", "a_b-1.0-0.conda", "ab-1.0-0.conda"}
	if diff := cmp.Diff(want, filenames(t, s, ch, "main", "noarch")); diff != "" {
		t.Errorf("snapshot order (-want +got):\n%s", diff)
	}
}

func testDeleteChannel(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	sub := mustChannel(t, s, "acme/dev")
	other := mustChannel(t, s, "other")
	for _, c := range []store.Channel{ch, sub, other} {
		if _, _, err := s.AddFile(ctx, file(c, "noarch", "demo", "1.0", "x-"+c.Name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteChannel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"acme", "acme/dev"} {
		if _, err := s.ChannelByName(ctx, n); !store.IsNotFound(err) {
			t.Errorf("%s after delete: %v", n, err)
		}
	}
	if got := filenames(t, s, other, "main", "noarch"); len(got) != 1 {
		t.Errorf("another channel lost its files: %v", got)
	}
	if err := s.DeleteChannel(ctx, ch.ID); !store.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
	// The name is free again.
	mustChannel(t, s, "acme")
}

func testBlobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.Blobs(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("Blobs of an empty store = %v, %v", got, err)
	}
	acme, dev := mustChannel(t, s, "acme"), mustChannel(t, s, "acme/dev")
	one := file(acme, "noarch", "demo", "1.0", "bytes-1")
	two := file(acme, "linux-64", "demo", "2.0", "bytes-2")
	for _, nf := range []store.NewFile{one, two} {
		if _, _, err := s.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	// The same bytes copied into a subchannel: one blob, two files.
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: acme.ID, Files: []store.FileRef{{Subdir: "noarch", Filename: one.Filename}},
		ToChannelID: dev.ID, ToLabels: []string{"main"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Blobs(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.BlobRef{
		{SHA256: one.SHA256, Size: one.Size, Files: []string{"acme/dev/noarch/demo-1.0-0.conda", "acme/noarch/demo-1.0-0.conda"}},
		{SHA256: two.SHA256, Size: two.Size, Files: []string{"acme/linux-64/demo-2.0-0.conda"}},
	}
	slices.SortFunc(want, func(a, b store.BlobRef) int { return strings.Compare(a.SHA256, b.SHA256) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Blobs (-want +got):\n%s", diff)
	}
	// Page by page, one blob at a time: each blob comes once, with all the files that name
	// it, whatever the page size.
	var paged []store.BlobRef
	for after := ""; ; {
		page, err := s.Blobs(ctx, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 1 {
			t.Fatalf("Blobs(%q, 1) = %d blobs", after, len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].SHA256
	}
	if diff := cmp.Diff(want, paged); diff != "" {
		t.Errorf("Blobs page by page (-want +got):\n%s", diff)
	}
	if got, err := s.Blobs(ctx, want[0].SHA256, 10); err != nil || len(got) != 1 || got[0].SHA256 != want[1].SHA256 {
		t.Errorf("Blobs after the first = %+v, %v; want the second only", got, err)
	}
	// A removed file's blob is named by nobody.
	if err := s.RemoveFile(ctx, acme.ID, store.FileRef{Subdir: "linux-64", Filename: two.Filename}, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Blobs(ctx, "", 10); err != nil || len(got) != 1 || got[0].SHA256 != one.SHA256 {
		t.Errorf("Blobs after a removal = %+v, %v", got, err)
	}
}
