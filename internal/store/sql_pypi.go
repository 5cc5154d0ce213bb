package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/pypi"
)

// distName is what the store makes of a filename: for a Python distribution, the canonical
// filename it is stored under and its identity (pypi.Filename.Key), of which a channel holds
// one file; for a conda package the filename as it is and no key (SQL NULL).
type distName struct {
	uploaded  string // as the upload (or the copy's source) named it
	canonical string
	key       any // string, or nil
}

func distNameOf(subdir, filename string) (distName, error) {
	if subdir != PyPISubdir {
		return distName{uploaded: filename, canonical: filename}, nil
	}
	canonical, key, err := pypi.CanonicalFilename(filename)
	if err != nil {
		return distName{}, err
	}
	return distName{uploaded: filename, canonical: canonical, key: key}, nil
}

// sameDistribution explains why two filenames are one distribution.
const sameDistribution = "the same distribution (project names that differ only in case, '-', '_' or '.', equal versions, " +
	"the same tags in any order, and the one sdist of a release are one)"

// fileConflict is the answer to other bytes under a stored file's name or, for a Python
// distribution, under any spelling of it: stored is the name the channel holds it under.
func fileConflict(subdir, uploaded, stored string) error {
	name := subdir + "/" + uploaded
	if subdir != PyPISubdir {
		return &ConflictError{Kind: "file", Name: name,
			Reason: "a file of that name with other content is in the channel; filenames are immutable, so upload it under a new build number or string"}
	}
	reason := "a file of that name with other content is in the channel"
	if stored != uploaded {
		reason = "the channel holds " + stored + ", " + sameDistribution + ", with other content"
	}
	return &ConflictError{Kind: "file", Name: name,
		Reason: reason + "; a Python distribution's file never changes: release a new version (or, for a wheel, add a build tag)"}
}

// distHolder finds the channel's file of a distribution: of the look-alikes kept from before
// the rule, the one with the bytes sha if there is one, else the one that holds the key. It
// returns sql.ErrNoRows when there is none.
func (s *sqlStore) distHolder(ctx context.Context, db queryer, channelID int64, key any, sha string) (id int64, filename, fileSHA string, err error) {
	err = s.row(ctx, db, `SELECT id, filename, sha256 FROM files WHERE channel_id = ? AND dist_key = ? ORDER BY `+sameBytesFirst(""),
		channelID, key, sha).Scan(&id, &filename, &fileSHA)
	return id, filename, fileSHA, err
}

// sameBytesFirst orders the files of one distribution key: the one with the bytes of the
// next argument first, then the one that holds the key, then by age; one row.
func sameBytesFirst(alias string) string {
	return `CASE WHEN ` + alias + `sha256 = ? THEN 0 ELSE 1 END, ` + alias + `dist_dup, ` + alias + `id LIMIT 1`
}

// refuseRemoved refuses a Python distribution that was removed from the channel, under any
// spelling, unless it comes back with the same bytes (as on PyPI): an upload and a copy alike.
func (s *sqlStore) refuseRemoved(ctx context.Context, tx *sql.Tx, channelID int64, dist distName, sha string) error {
	if dist.key == nil {
		return nil
	}
	type removal struct{ filename, sha string }
	was, err := queryRows(ctx, s, tx, func(sc scanner) (removal, error) {
		var r removal
		err := sc.Scan(&r.filename, &r.sha)
		return r, err
	}, `SELECT filename, sha256 FROM removed_files WHERE channel_id = ? AND dist_key = ? ORDER BY removed_at, filename`, channelID, dist.key)
	if err != nil || len(was) == 0 {
		return err
	}
	for _, r := range was {
		if r.sha == sha {
			return nil
		}
	}
	reason := "a file of that name was removed from the channel, and a filename may come back only with the same bytes; release a new version"
	if was[0].filename != dist.canonical {
		reason = was[0].filename + ", " + sameDistribution + ", was removed from the channel, and a distribution may come back only with the same bytes; release a new version"
	}
	return &ConflictError{Kind: "file", Name: dist.uploaded, Reason: reason}
}

// legacyDistKey is the key of a filename stored before migration 10. One the parser now
// refuses gets a key of its own ('?' and the name), which no parsed filename's can equal.
func legacyDistKey(filename string) string {
	f, err := pypi.ParseFilename(filename)
	if err != nil {
		return "?" + filename
	}
	return f.Key()
}

// distKeysPending reports whether some Python file lacks its distribution key.
func (s *sqlStore) distKeysPending(ctx context.Context) (bool, error) {
	var pending bool
	// The subdir is written out, not bound, so that both databases see that the partial
	// index files_dist_unkeyed (migration 17) answers: without it this reads every file.
	if err := s.row(ctx, s.w, `SELECT EXISTS (SELECT 1 FROM files WHERE subdir = '`+PyPISubdir+`' AND dist_key IS NULL)
		OR EXISTS (SELECT 1 FROM removed_files WHERE dist_key IS NULL)`).Scan(&pending); err != nil {
		return false, fmt.Errorf("look for files without a distribution key: %w", err)
	}
	return pending, nil
}

// fillDistKeys gives the Python files and removals recorded before migration 10 their
// distribution key. Of look-alikes already in one channel (two spellings of one
// distribution, which uploads now refuse), the first uploaded holds the key; each later one
// keeps its own id in dist_dup and stays listed and downloadable as before (a lockfile may
// pin its hash), and a file.lookalike event in the channel's history names both, for the
// owner to remove the one that should not be there. Nothing is renamed or removed.
func (s *sqlStore) fillDistKeys(ctx context.Context) error {
	if pending, err := s.distKeysPending(ctx); err != nil || !pending {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if q := s.d.lockTables("files, removed_files"); q != "" {
			// Replicas starting together: one fills in, the others then find nothing to do.
			if _, err := s.exec(ctx, tx, q); err != nil {
				return err
			}
		}
		files, err := queryRows(ctx, s, tx, func(sc scanner) (legacyFile, error) {
			var l legacyFile
			err := sc.Scan(&l.id, &l.channelID, &l.filename)
			return l, err
		}, `SELECT id, channel_id, filename FROM files WHERE subdir = '`+PyPISubdir+`' AND dist_key IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		if err := s.keyLegacyFiles(ctx, tx, files); err != nil {
			return err
		}
		type removal struct {
			channelID        int64
			subdir, filename string
		}
		removed, err := queryRows(ctx, s, tx, func(sc scanner) (removal, error) {
			var r removal
			err := sc.Scan(&r.channelID, &r.subdir, &r.filename)
			return r, err
		}, `SELECT channel_id, subdir, filename FROM removed_files WHERE dist_key IS NULL`)
		if err != nil {
			return err
		}
		for _, r := range removed {
			if _, err := s.exec(ctx, tx, `UPDATE removed_files SET dist_key = ? WHERE channel_id = ? AND subdir = ? AND filename = ?`,
				legacyDistKey(r.filename), r.channelID, r.subdir, r.filename); err != nil {
				return fmt.Errorf("fill in a distribution key: %w", err)
			}
		}
		return nil
	})
}

// legacyFile is a Python file stored before migration 10, without a distribution key.
type legacyFile struct {
	id, channelID int64
	filename      string
}

// keyLegacyFiles gives files (in id order) their distribution keys: in each channel the
// distribution's file already keyed, else the first of files, holds it; every other one is
// a look-alike (dist_dup its id) with a file.lookalike event. The keys are worked out here
// and written a few hundred rows a statement: a statement per file kept uploads waiting
// on the table lock for 18 s per 100k files on PostgreSQL.
func (s *sqlStore) keyLegacyFiles(ctx context.Context, tx *sql.Tx, files []legacyFile) error {
	type dist struct {
		channelID int64
		key       string
	}
	// The holders already keyed, in the channels concerned: none on the first upgrade; the
	// files of newer replicas when an older one stored some since.
	holders := map[dist]string{}
	seen := map[int64]bool{}
	for _, f := range files {
		if seen[f.channelID] {
			continue
		}
		seen[f.channelID] = true
		err := s.eachRow(ctx, tx, func(rows *sql.Rows) error {
			var key, filename string
			if err := rows.Scan(&key, &filename); err != nil {
				return err
			}
			holders[dist{f.channelID, key}] = filename
			return nil
		}, `SELECT dist_key, filename FROM files WHERE channel_id = ? AND dist_key IS NOT NULL AND dist_dup = 0`, f.channelID)
		if err != nil {
			return err
		}
	}
	keys := make([]string, len(files))
	dups := make([]int64, len(files))
	for i, f := range files {
		keys[i] = legacyDistKey(f.filename)
		d := dist{f.channelID, keys[i]}
		holder, held := holders[d]
		if !held {
			holders[d] = f.filename
			continue
		}
		dups[i] = f.id
		if err := s.event(ctx, tx, f.channelID, 0, "file.lookalike", map[string]any{
			"file": PyPISubdir + "/" + f.filename, "same_as": PyPISubdir + "/" + holder,
			"note": "both were stored before look-alike filenames of one distribution were refused; both stay listed: remove the one that should not be there",
		}); err != nil {
			return err
		}
	}
	const batch = 250
	for lo := 0; lo < len(files); lo += batch {
		hi := min(lo+batch, len(files))
		// Ids and dist_dup are numbers of ours, written out; keys are bound.
		var keyCase, dupCase, in strings.Builder
		var args []any
		for i := lo; i < hi; i++ {
			id := strconv.FormatInt(files[i].id, 10)
			keyCase.WriteString(" WHEN " + id + " THEN ?")
			args = append(args, keys[i])
			dupCase.WriteString(" WHEN " + id + " THEN " + strconv.FormatInt(dups[i], 10))
			if i > lo {
				in.WriteString(", ")
			}
			in.WriteString(id)
		}
		if _, err := s.exec(ctx, tx, `UPDATE files SET dist_key = CASE id`+keyCase.String()+` END, dist_dup = CASE id`+dupCase.String()+` END
			WHERE id IN (`+in.String()+`)`, args...); err != nil {
			return fmt.Errorf("fill in distribution keys: %w", err)
		}
	}
	return nil
}

func metadataSum(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *sqlStore) PyPIProjects(ctx context.Context, channelID int64) (PyPISnapshot, error) {
	var snap PyPISnapshot
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if snap.Revision, _, err = s.channelState(ctx, tx, channelID); err != nil {
			return err
		}
		snap.Projects, err = queryRows(ctx, s, tx, func(sc scanner) (PyPIProject, error) {
			var p PyPIProject
			err := sc.Scan(&p.Name, &p.Private)
			return p, err
		}, `SELECT DISTINCT p.name, p.private FROM packages p JOIN files f ON f.package_id = p.id JOIN file_labels l ON l.file_id = f.id
			WHERE p.channel_id = ? AND p.kind = 'pypi' AND l.label = 'main' ORDER BY p.name`, channelID)
		return err
	})
	return snap, err
}

func (s *sqlStore) PyPIProjectFiles(ctx context.Context, channelID int64, project string) (PyPISnapshot, error) {
	var snap PyPISnapshot
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if snap.Revision, _, err = s.indexRevision(ctx, tx, channelID, "main", PyPISubdir, false); err != nil {
			return err
		}
		// Every row carries the project's privacy.
		snap.Files, err = queryRows(ctx, s, tx, func(sc scanner) (PyPIFile, error) {
			var f PyPIFile
			var created int64
			err := sc.Scan(&f.Filename, &f.Version, &f.SHA256, &f.Size, &created, &f.RequiresPython, &f.Yanked, &f.YankedReason, &f.MetadataSHA256, &snap.Private)
			f.UploadedAt = fromMicros(created)
			return f, err
		}, `SELECT f.filename, f.version, f.sha256, f.size, f.created_at, f.requires_python, f.yanked, f.yanked_reason, f.core_metadata_sha256, p.private
			FROM files f JOIN packages p ON p.id = f.package_id JOIN file_labels l ON l.file_id = f.id
			WHERE f.channel_id = ? AND p.kind = 'pypi' AND p.name = ? AND l.label = 'main' ORDER BY f.filename`, channelID, project)
		if err != nil {
			return err
		}
		if len(snap.Files) == 0 {
			return &NotFoundError{Kind: "project", Name: project}
		}
		return nil
	})
	return snap, err
}

func (s *sqlStore) CoreMetadata(ctx context.Context, channelID int64, filename string) ([]byte, error) {
	var b []byte
	err := s.row(ctx, s.r, `SELECT core_metadata FROM files WHERE channel_id = ? AND subdir = ? AND filename = ? AND core_metadata IS NOT NULL`,
		channelID, PyPISubdir, filename).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Kind: "file", Name: filename + ".metadata"}
	}
	return b, err
}

func (s *sqlStore) SetYanked(ctx context.Context, channelID int64, project string, versions []string, filename string, yanked bool, reason string, actorID int64) (int, error) {
	if !yanked {
		reason = ""
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.bump(ctx, tx, channelID); err != nil {
			return err
		}
		q := `UPDATE files SET yanked = ?, yanked_reason = ? WHERE channel_id = ? AND subdir = ? AND package_id IN (SELECT id FROM packages WHERE channel_id = ? AND kind = 'pypi' AND name = ?)`
		args := []any{yanked, reason, channelID, PyPISubdir, channelID, project}
		if filename != "" {
			q += ` AND filename = ?`
			args = append(args, filename)
		}
		if len(versions) > 0 {
			q += ` AND version IN (?` + strings.Repeat(`, ?`, len(versions)-1) + `)`
			for _, v := range versions {
				args = append(args, v)
			}
		}
		res, err := s.exec(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			what := project + " " + strings.Join(versions, "/")
			if filename != "" {
				what = filename
			}
			return &NotFoundError{Kind: "release", Name: what}
		}
		if err := s.touchFiles(ctx, tx, false, `f.channel_id = ? AND f.subdir = ? AND p.kind = 'pypi' AND p.name = ?`, channelID, PyPISubdir, project); err != nil {
			return err
		}
		action := "release.yank"
		if !yanked {
			action = "release.unyank"
		}
		return s.event(ctx, tx, channelID, actorID, action, map[string]any{"project": project, "versions": versions, "file": filename, "reason": reason, "files": n})
	})
	return int(n), err
}
