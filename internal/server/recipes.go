package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/fault"
	"github.com/wharfhq/wharf/internal/store"
)

// recipeBatch is how many files BackfillRecipes reads before it stores what it found (and
// bumps their channels' revisions, once per batch).
const recipeBatch = 100

// BackfillRecipes reads, from their blobs, the recipes of the conda files stored before Wharf
// read recipes at upload, so that channeldata.json gives their source_url too. New starts it
// in the background, once; it returns how many files it filled in. A file whose blob cannot
// be read now (missing, or of the wrong size) is left for the next start; one Wharf cannot
// read as a package gets {}. With the blob store or the temporary directory unavailable (or
// full) it stops at once, with that error: every other file would fail alike. Replicas
// starting together may read the same files; only the first answer is stored.
func (s *Server) BackfillRecipes(ctx context.Context) (int, error) {
	var after int64
	n := 0
	for {
		files, err := s.store.FilesWithoutRecipe(ctx, after, recipeBatch)
		if err != nil || len(files) == 0 {
			return n, err
		}
		found := make(map[int64]json.RawMessage, len(files))
		for _, f := range files {
			after = f.ID
			src, err := s.readRecipe(ctx, f)
			if err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				if fault.Of(err) != fault.None {
					return n, fmt.Errorf("reading %s/%s: %w", f.Subdir, f.Filename, err)
				}
				s.log.WarnContext(ctx, "recipe backfill: blob not read, left for the next start",
					"file", f.Subdir+"/"+f.Filename, "sha256", f.SHA256, "error", err)
				continue
			}
			found[f.ID] = src
		}
		if len(found) == 0 {
			continue
		}
		set, err := s.store.SetRecipeSources(ctx, found)
		n += set
		if err != nil {
			return n, err
		}
	}
}

// backfillRecipes runs BackfillRecipes from the background work and logs what it did.
func (s *Server) backfillRecipes(ctx context.Context) {
	n, err := s.BackfillRecipes(ctx)
	switch {
	case err != nil && ctx.Err() == nil && fault.Of(err) != fault.None:
		s.log.WarnContext(ctx, "recipe backfill stopped: the blob store, the database or the temporary directory is unavailable; the rest is read at the next start",
			"files", n, "error", err)
	case err != nil && ctx.Err() == nil:
		s.log.ErrorContext(ctx, "recipe backfill failed", "files", n, "error", err)
	case n > 0:
		s.log.InfoContext(ctx, "recipes read from stored packages", "files", n)
	}
}

// readRecipe spools a stored package to a temporary file and reads its recipe.
func (s *Server) readRecipe(ctx context.Context, f store.UnreadRecipe) (json.RawMessage, error) {
	rc, err := s.blobs.Open(ctx, blob.Key(f.SHA256), 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(s.opts.TempDir, "recipe-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	size, err := io.Copy(tmp, io.LimitReader(rc, f.Size+1))
	if err != nil {
		return nil, err
	}
	if size != f.Size {
		return nil, fmt.Errorf("the blob has %d bytes, the file %d", size, f.Size)
	}
	select {
	case s.reads <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.reads }()
	src, err := conda.ReadRecipeSource(tmp, size, f.Filename, s.opts.Limits)
	var ipe *conda.InvalidPackageError
	if errors.As(err, &ipe) {
		s.log.InfoContext(ctx, "recipe backfill: not a package Wharf reads today, no recipe kept",
			"file", f.Subdir+"/"+f.Filename, "reason", ipe.Reason)
		return json.RawMessage(`{}`), nil
	}
	return src, err
}
