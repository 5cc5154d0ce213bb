package storetest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/store"
)

func testBrowse(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := mustUser(t, s, "alice")
	acme, other, quiet := mustChannel(t, s, "acme"), mustChannel(t, s, "other"), mustChannel(t, s, "quiet")
	add := func(nf store.NewFile) store.File {
		t.Helper()
		nf.UploaderID = alice.ID
		f, _, err := s.AddFile(ctx, nf)
		if err != nil {
			t.Fatalf("AddFile(%s): %v", nf.Filename, err)
		}
		return f
	}
	a1 := add(file(acme, "linux-64", "demo", "1.0", "a1"))
	a2 := add(file(acme, "noarch", "demo", "1.10", "a2", "main", "dev"))
	a3 := add(file(acme, "linux-64", "demo", "1.10", "a3"))
	o1 := add(file(other, "noarch", "tool", "0.1", "o1"))
	p1 := add(pypiFile(acme, "demo", "2.0", "demo-2.0-py3-none-any.whl", "p1"))
	add(file(quiet, "noarch", "hidden", "1.0", "q1"))

	// Packages of a channel: one line per name and kind, with versions, subdirs and counts.
	pkgs, err := s.ChannelPackages(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := []store.PackageSummary{}
	for _, p := range pkgs {
		if p.LastUpload.IsZero() {
			t.Errorf("%s: no last upload time", p.Name)
		}
		p.LastUpload = a1.CreatedAt
		got = append(got, p)
	}
	want := []store.PackageSummary{
		{Name: "demo", Kind: "conda", Versions: []string{"1.0", "1.10"}, Subdirs: []string{"linux-64", "noarch"}, Files: 3, LastUpload: a1.CreatedAt},
		{Name: "demo", Kind: "pypi", Versions: []string{"2.0"}, Subdirs: []string{"pypi"}, Files: 1, LastUpload: a1.CreatedAt},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChannelPackages (-want +got):\n%s", diff)
	}
	if pkgs, err := s.ChannelPackages(ctx, mustChannel(t, s, "empty").ID); err != nil || len(pkgs) != 0 {
		t.Errorf("ChannelPackages(empty) = %v, %v", pkgs, err)
	}

	// A package's files, of both kinds, with labels, channel and uploader.
	files, err := s.PackageFiles(ctx, acme.ID, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Filename)
		if f.Channel != "acme" || f.Uploader != "alice" || f.UploaderID != alice.ID || f.Package != "demo" {
			t.Errorf("file %s = %+v", f.Filename, f)
		}
	}
	if diff := cmp.Diff([]string{a1.Filename, a3.Filename, a2.Filename, p1.Filename}, names); diff != "" {
		t.Errorf("PackageFiles names (-want +got):\n%s", diff)
	}
	if len(files) == 4 && (!cmp.Equal(files[2].Labels, []string{"dev", "main"}) || files[2].SHA256 != a2.SHA256 || files[2].Size != a2.Size) {
		t.Errorf("PackageFiles noarch file = %+v", files[2])
	}
	if files, err := s.PackageFiles(ctx, acme.ID, "tool"); err != nil || len(files) != 0 {
		t.Errorf("PackageFiles of another channel's package = %v, %v", files, err)
	}

	// The record kept for a file.
	rec, err := s.FileRecord(ctx, acme.ID, store.FileRef{Subdir: "linux-64", Filename: a1.Filename})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Name    string   `json:"name"`
		Depends []string `json:"depends"`
	}
	if err := json.Unmarshal(rec, &r); err != nil || r.Name != "demo" || r.Depends == nil {
		t.Errorf("FileRecord = %s, %v", rec, err)
	}
	if _, err := s.FileRecord(ctx, other.ID, store.FileRef{Subdir: "linux-64", Filename: a1.Filename}); !store.IsNotFound(err) {
		t.Errorf("FileRecord in the wrong channel: %v", err)
	}

	// Recent uploads of some channels, newest first, page by page.
	recent, err := s.RecentUploads(ctx, []int64{acme.ID, other.ID}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ups []store.Upload) []int64 {
		out := []int64{}
		for _, u := range ups {
			out = append(out, u.ID)
		}
		return out
	}
	if diff := cmp.Diff([]int64{p1.ID, o1.ID, a3.ID}, ids(recent)); diff != "" {
		t.Errorf("RecentUploads (-want +got):\n%s", diff)
	}
	if len(recent) == 3 && (recent[1].Channel != "other" || recent[1].Uploader != "alice" || recent[1].Package != "tool") {
		t.Errorf("recent upload = %+v", recent[1])
	}
	next, err := s.RecentUploads(ctx, []int64{acme.ID, other.ID}, recent[len(recent)-1].ID, 3)
	if diff := cmp.Diff([]int64{a2.ID, a1.ID}, ids(next)); err != nil || diff != "" {
		t.Errorf("RecentUploads, next page (-want +got):\n%s %v", diff, err)
	}
	if none, err := s.RecentUploads(ctx, nil, 0, 3); err != nil || len(none) != 0 {
		t.Errorf("RecentUploads of no channel = %v, %v", none, err)
	}
	// Many channels at once.
	many := []int64{other.ID}
	for i := range int64(1200) {
		many = append(many, 1_000_000+i)
	}
	many = append(many, acme.ID)
	if got, err := s.RecentUploads(ctx, many, 0, 2); err != nil || !cmp.Equal(ids(got), []int64{p1.ID, o1.ID}) {
		t.Errorf("RecentUploads of 1202 channels = %v, %v", ids(got), err)
	}

	// Several packages made private at once, in history; all or none.
	if _, _, err := s.AddFile(ctx, file(acme, "noarch", "extra", "1.0", "x1")); err != nil {
		t.Fatal(err)
	}
	rev := revision(t, s, "acme")
	if err := s.SetPackagesPrivate(ctx, acme.ID, []string{"demo", "missing"}, true, alice.ID); !store.IsNotFound(err) {
		t.Errorf("SetPackagesPrivate with a missing package: %v, want not found", err)
	}
	if priv, _ := s.PackagePrivacy(ctx, acme.ID, "demo"); priv || revision(t, s, "acme") != rev {
		t.Error("a refused SetPackagesPrivate changed something")
	}
	if err := s.SetPackagesPrivate(ctx, acme.ID, []string{"demo", "extra"}, true, alice.ID); err != nil {
		t.Fatal(err)
	}
	if revision(t, s, "acme") <= rev {
		t.Error("SetPackagesPrivate did not move the revision")
	}
	if priv, err := s.PrivatePackages(ctx, acme.ID); err != nil || !cmp.Equal(priv, []string{"demo", "extra"}) {
		t.Errorf("private packages = %v, %v", priv, err)
	}
	evs, err := s.Events(ctx, acme.ID, 2)
	if err != nil || len(evs) != 2 || evs[0].Action != "package.privacy" || evs[1].Action != "package.privacy" || evs[0].Actor != "alice" {
		t.Errorf("events = %+v, %v", evs, err)
	}
	if pkgs, _ := s.ChannelPackages(ctx, acme.ID); len(pkgs) < 2 || !pkgs[0].Private || !pkgs[1].Private {
		t.Errorf("packages after SetPackagesPrivate = %+v", pkgs)
	}
	if err := s.SetPackagesPrivate(ctx, acme.ID, []string{"demo"}, false, alice.ID); err != nil {
		t.Fatal(err)
	}
	if priv, _ := s.PrivatePackages(ctx, acme.ID); !cmp.Equal(priv, []string{"extra"}) {
		t.Errorf("private packages after making demo public = %v", priv)
	}
}
