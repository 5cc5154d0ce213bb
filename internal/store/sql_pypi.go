package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
)

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
		if snap.Revision, _, err = s.channelState(ctx, tx, channelID); err != nil {
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
		action := "release.yank"
		if !yanked {
			action = "release.unyank"
		}
		return s.event(ctx, tx, channelID, actorID, action, map[string]any{"project": project, "versions": versions, "file": filename, "reason": reason, "files": n})
	})
	return int(n), err
}
