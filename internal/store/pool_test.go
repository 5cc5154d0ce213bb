package store_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// TestPoolKeepsConnections runs as many concurrent readers as the pool opens connections
// for, again and again: the connections opened for the first round serve every later one. A
// pool that keeps fewer idle connections than it opens (database/sql's default keeps 2)
// closes the rest after each call and opens them anew for the next: a new PostgreSQL session
// per request.
func TestPoolKeepsConnections(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dsn     func(t *testing.T) string
		readers int
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "wharf.db") }, 8},
		{"postgres", func(t *testing.T) string { return storetest.Postgres(t) }, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(t.Context(), tc.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.CreateUser(t.Context(), store.NewUser{Name: "bob", Email: "bob@example.com"}); err != nil {
				t.Fatal(err)
			}
			before := st.Stats()
			const rounds = 50
			var wg sync.WaitGroup
			for range tc.readers {
				wg.Go(func() {
					for range rounds {
						if _, err := st.ChannelByName(t.Context(), "bob"); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			after := st.Stats()
			if got := after.Statements - before.Statements; got != int64(tc.readers*rounds) {
				t.Errorf("%d statements counted for %d look-ups", got, tc.readers*rounds)
			}
			if opened := after.Connections - before.Connections; opened > int64(tc.readers) {
				t.Errorf("%d connections opened for %d concurrent readers", opened, tc.readers)
			}
			if closed := after.ClosedIdle - before.ClosedIdle; closed != 0 {
				t.Errorf("%d connections closed on their return to the pool, to be opened again: it keeps fewer idle than it opens", closed)
			}
		})
	}
}
