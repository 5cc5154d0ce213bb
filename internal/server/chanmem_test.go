package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// Look-alike spellings of a channel (which anyone may send, before any access check) find it
// but are not kept: one entry per channel, under its own name, whatever is asked.
func TestChannelMemoryKeepsOneEntryPerChannel(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateChannel(ctx, store.NewChannel{Name: "abc-def"}); err != nil {
		t.Fatal(err)
	}
	s := &Server{store: st}
	m := newChannelMemory(st, channelStaleAfter)
	for _, name := range []string{"abc-def", "ABC-def", "abc_def", "Abc.Def", "abc--def", "abc-def", "ABC_DEF"} {
		k, err := m.lookup(ctx, name, s.channelByName)
		if err != nil || k.ch.Name != "abc-def" {
			t.Fatalf("lookup(%q): %v, %v", name, k, err)
		}
	}
	if len(m.names) != 1 || m.names["abc-def"] == nil {
		keys := []string{}
		for n := range m.names {
			keys = append(keys, n)
		}
		t.Errorf("names kept: %s, want only abc-def", strings.Join(keys, " "))
	}
}
