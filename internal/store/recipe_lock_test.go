package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// On PostgreSQL, every write that changes what a channel serves takes the channel's row lock
// first (bump), then the rows of its files; RemoveFile does so. The recipe backfill
// (SetRecipeSources, run by every replica at start) must take them in that order too: a
// backfill that updates a file's row and then waits for its channel, while a removal holds
// the channel and waits for that file's row, is a deadlock that PostgreSQL ends by failing
// one of the two.
func TestSetRecipeSourcesLockOrder(t *testing.T) {
	ctx := t.Context()
	dsn := storetest.Postgres(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch, err := s.CreateChannel(ctx, store.NewChannel{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("old"))
	sha := hex.EncodeToString(sum[:])
	f, _, err := s.AddFile(ctx, store.NewFile{ChannelID: ch.ID, Kind: "conda", Package: "old", Subdir: "noarch",
		Filename: "old-1.0-0.conda", SHA256: sha, MD5: sha[:32], Size: 3, Version: "1.0", Build: "0",
		Record: json.RawMessage(`{"build":"0","depends":[],"name":"old","version":"1.0"}`), Labels: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}

	// A removal in progress, as RemoveFile does it: the channel first.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	remove, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer remove.Rollback()
	if _, err := remove.ExecContext(ctx, `UPDATE channels SET revision = revision + 1 WHERE id = $1`, ch.ID); err != nil {
		t.Fatal(err)
	}

	backfill := make(chan error, 1)
	go func() {
		_, err := s.SetRecipeSources(context.Background(), map[int64]json.RawMessage{f.ID: json.RawMessage(`{}`)})
		backfill <- err
	}()
	// Once the backfill waits for a lock the removal holds, the removal goes on to the file.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-backfill:
			t.Fatalf("the backfill did not wait for the channel the removal holds: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the backfill never waited for the removal's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := remove.ExecContext(ctx, `DELETE FROM files WHERE id = $1`, f.ID); err != nil {
		t.Fatalf("the removal, once the backfill waits: %v", err)
	}
	if err := remove.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-backfill; err != nil {
		t.Errorf("the backfill, once the removal is done: %v", err)
	}
}
