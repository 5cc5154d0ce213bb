package store_test

import (
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "wharf.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.Open(t.Context(), storetest.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
