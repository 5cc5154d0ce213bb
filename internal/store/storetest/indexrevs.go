package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharfhq/wharf/internal/store"
)

// testIndexRevisions: each change moves the revision of exactly the (label, subdir) indexes
// whose content it changed, and of the labels whose channeldata.json it changed; a privacy
// change of the channel moves every one, also of keys that hold nothing. Snapshots carry
// their key's revision.
func testIndexRevisions(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	keys := []store.IndexKey{}
	for _, l := range []string{"main", "dev", "beta", "stable"} {
		for _, sd := range []string{"linux-64", "noarch", "osx-64", store.PyPISubdir} {
			keys = append(keys, store.IndexKey{Label: l, Subdir: sd})
		}
	}
	read := func() store.IndexRevisions {
		t.Helper()
		r, err := s.IndexRevisions(ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// moved lists the keys, and the labels ("label/"), whose revision change moved.
	moved := func(change func()) []string {
		t.Helper()
		before := read()
		change()
		after := read()
		if after.Channel <= before.Channel {
			t.Errorf("channel revision %d -> %d", before.Channel, after.Channel)
		}
		out := []string{}
		for _, k := range keys {
			if a, b := after.Subdir(k.Label, k.Subdir), before.Subdir(k.Label, k.Subdir); a != b {
				out = append(out, k.Label+"/"+k.Subdir)
				if a != after.Channel {
					t.Errorf("%s/%s moved to %d, not to the channel's revision %d", k.Label, k.Subdir, a, after.Channel)
				}
			}
		}
		for _, l := range []string{"main", "dev", "beta", "stable"} {
			if after.Label(l) != before.Label(l) {
				out = append(out, l+"/")
			}
		}
		slices.Sort(out)
		return out
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	lin := file(ch, "linux-64", "lin", "1.0", "lin")
	nf := file(ch, "noarch", "nop", "1.0", "nop", "main", "dev")
	unread := file(ch, "noarch", "unread", "1.0", "unread")
	unread.RecipeSource = nil
	var unreadID int64
	steps := []struct {
		name   string
		change func()
		want   []string
	}{
		{"upload to linux-64", func() { _, _, err := s.AddFile(ctx, lin); must(err) }, []string{"main/", "main/linux-64"}},
		{"upload to noarch, two labels", func() { _, _, err := s.AddFile(ctx, nf); must(err) }, []string{"dev/", "dev/noarch", "main/", "main/noarch"}},
		{"the same bytes with a new label", func() {
			again := lin
			again.Labels = []string{"main", "dev"}
			_, _, err := s.AddFile(ctx, again)
			must(err)
		}, []string{"dev/", "dev/linux-64"}},
		{"copy to a label", func() {
			_, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: ch.ID, Files: []store.FileRef{{Subdir: "noarch", Filename: nf.Filename}}, ToLabels: []string{"stable"}})
			must(err)
		}, []string{"stable/", "stable/noarch"}},
		{"move between labels", func() {
			_, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: ch.ID, FromLabel: "dev", Files: []store.FileRef{{Subdir: "linux-64", Filename: lin.Filename}}, ToLabels: []string{"beta"}, Move: true})
			must(err)
		}, []string{"beta/", "beta/linux-64", "dev/", "dev/linux-64"}},
		{"package privacy", func() { must(s.SetPackagesPrivate(ctx, ch.ID, []string{"nop"}, true, 0)) },
			[]string{"dev/", "dev/noarch", "main/", "main/noarch", "stable/", "stable/noarch"}},
		{"upload without a recipe", func() {
			f, _, err := s.AddFile(ctx, unread)
			must(err)
			unreadID = f.ID
		}, []string{"main/", "main/noarch"}},
		{"a recipe read later: channeldata only", func() {
			_, err := s.SetRecipeSources(ctx, map[int64]json.RawMessage{unreadID: json.RawMessage(`{}`)})
			must(err)
		}, []string{"main/"}},
		{"upload a wheel", func() {
			_, _, err := s.AddFile(ctx, pypiFile(ch, "wheely", "1.0", "wheely-1.0-py3-none-any.whl", "wheely"))
			must(err)
		}, []string{"main/", "main/pypi"}},
		{"yank", func() {
			_, err := s.SetYanked(ctx, ch.ID, "wheely", []string{"1.0"}, "", true, "broken", 0)
			must(err)
		}, []string{"main/", "main/pypi"}},
		{"remove", func() { must(s.RemoveFile(ctx, ch.ID, store.FileRef{Subdir: "linux-64", Filename: lin.Filename}, 0)) },
			[]string{"beta/", "beta/linux-64", "main/", "main/linux-64"}},
		{"channel privacy: everything", func() { must(s.SetChannelPrivate(ctx, ch.ID, true, 0)) }, func() []string {
			var all []string
			for _, k := range keys {
				all = append(all, k.Label+"/"+k.Subdir)
			}
			all = append(all, "beta/", "dev/", "main/", "stable/")
			slices.Sort(all)
			return all
		}()},
	}
	for _, st := range steps {
		if diff := cmp.Diff(st.want, moved(st.change)); diff != "" {
			t.Errorf("%s moved (-want +got):\n%s", st.name, diff)
		}
	}
	revs := read()
	snap, err := s.SubdirSnapshot(ctx, ch.ID, "main", "noarch")
	if err != nil || snap.Revision != revs.Subdir("main", "noarch") {
		t.Errorf("snapshot of main/noarch at %d, %v; want %d", snap.Revision, err, revs.Subdir("main", "noarch"))
	}
	cs, err := s.ChannelSnapshot(ctx, ch.ID, "main")
	if err != nil || cs.Revision != revs.Label("main") {
		t.Errorf("channel snapshot of main at %d, %v; want %d", cs.Revision, err, revs.Label("main"))
	}

	// Copies across channels: the target's labels move, the source's only on a move.
	other := mustChannel(t, s, "other")
	otherRev := func(label, subdir string) int64 {
		r, err := s.IndexRevisions(ctx, other.ID)
		must(err)
		return r.Subdir(label, subdir)
	}
	before, beforeOther := read(), otherRev("main", "noarch")
	if _, err := s.CopyFiles(ctx, store.CopyRequest{FromChannelID: ch.ID, ToChannelID: other.ID, Files: []store.FileRef{{Subdir: "noarch", Filename: nf.Filename}}}); err != nil {
		t.Fatal(err)
	}
	if after := read(); after.Subdir("main", "noarch") != before.Subdir("main", "noarch") || otherRev("main", "noarch") == beforeOther {
		t.Errorf("a copy to another channel moved the source's main/noarch %d -> %d, the target's %d -> %d",
			before.Subdir("main", "noarch"), after.Subdir("main", "noarch"), beforeOther, otherRev("main", "noarch"))
	}
	if revs, err := s.ChannelRevisions(ctx, []int64{ch.ID, other.ID, other.ID + 1000}); err != nil || len(revs) != 2 || revs[ch.ID] != read().Channel {
		t.Errorf("ChannelRevisions = %v, %v", revs, err)
	}
}

// testWatchChanges: a watcher hears of each committed change, with the channels it changed (a
// subchannel's with its parent's privacy), and of nothing that failed.
func testWatchChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustChannel(t, s, "acme")
	sub := mustChannel(t, s, "acme/dev")
	var mu sync.Mutex
	var heard []string
	stop := s.WatchChanges(func(ids []int64) {
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(ids)
		heard = append(heard, fmt.Sprint(ids))
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		h := heard
		heard = nil
		return h
	}
	f := file(ch, "noarch", "p", "1.0", "p")
	if _, _, err := s.AddFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fmt.Sprint([]int64{ch.ID})}, take()); diff != "" {
		t.Errorf("after an upload (-want +got):\n%s", diff)
	}
	other := f
	other.SHA256 = "0000000000000000000000000000000000000000000000000000000000000000"
	if _, _, err := s.AddFile(ctx, other); !store.IsConflict(err) {
		t.Fatalf("AddFile of other bytes = %v, want a conflict", err)
	}
	if _, _, err := s.AddFile(ctx, f); err != nil { // the same again: nothing changes
		t.Fatal(err)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("after writes that changed nothing: %v", got)
	}
	if err := s.SetChannelPrivate(ctx, ch.ID, true, 0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fmt.Sprint([]int64{ch.ID, sub.ID})}, take()); diff != "" {
		t.Errorf("after a privacy change (-want +got):\n%s", diff)
	}
	if err := s.DeleteChannel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fmt.Sprint([]int64{ch.ID, sub.ID})}, take()); diff != "" {
		t.Errorf("after a deletion (-want +got):\n%s", diff)
	}
	stop()
	mustChannel(t, s, "b")
	if _, _, err := s.AddFile(ctx, file(mustChannel(t, s, "c"), "noarch", "p", "1.0", "p")); err != nil {
		t.Fatal(err)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("heard after stop: %v", got)
	}
}
