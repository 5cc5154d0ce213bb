package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

const uploadCols = fileCols + `, c.name, COALESCE(u.name, '')`

const fromUploads = ` FROM files f JOIN packages p ON p.id = f.package_id JOIN channels c ON c.id = f.channel_id LEFT JOIN users u ON u.id = f.uploader_id`

// scanUpload reads uploadCols, then extra.
func scanUpload(sc scanner, extra ...any) (Upload, error) {
	var up Upload
	var err error
	up.File, err = scanFile(sc, append([]any{&up.Channel, &up.Uploader}, extra...)...)
	return up, err
}

func (s *sqlStore) ChannelPackages(ctx context.Context, channelID int64) ([]PackageSummary, error) {
	// A row per (package, version, subdir): they fold into one summary per package.
	out := []PackageSummary{}
	if err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
		var name, kind, version, subdir string
		var private bool
		var n, last int64
		if err := rows.Scan(&name, &kind, &private, &version, &subdir, &n, &last); err != nil {
			return err
		}
		if k := len(out); k == 0 || out[k-1].Name != name || out[k-1].Kind != kind {
			out = append(out, PackageSummary{Name: name, Kind: kind, Private: private, Versions: []string{}, Subdirs: []string{}})
		}
		ps := &out[len(out)-1]
		if k := len(ps.Versions); k == 0 || ps.Versions[k-1] != version {
			ps.Versions = append(ps.Versions, version)
		}
		if !slices.Contains(ps.Subdirs, subdir) {
			ps.Subdirs = append(ps.Subdirs, subdir)
		}
		ps.Files += n
		if t := fromMicros(last); t.After(ps.LastUpload) {
			ps.LastUpload = t
		}
		return nil
	}, `SELECT p.name, p.kind, p.private, f.version, f.subdir, COUNT(*), MAX(f.created_at)
		FROM packages p JOIN files f ON f.package_id = p.id WHERE p.channel_id = ?
		GROUP BY p.name, p.kind, p.private, f.version, f.subdir ORDER BY p.name, p.kind, f.version, f.subdir`, channelID); err != nil {
		return nil, err
	}
	for i := range out {
		slices.Sort(out[i].Subdirs)
	}
	return out, nil
}

func (s *sqlStore) PackageFiles(ctx context.Context, channelID int64, pkg string) ([]Upload, error) {
	// A row per label: the labels of one file fold into the row before.
	out := []Upload{}
	if err := s.eachRow(ctx, s.r, func(rows *sql.Rows) error {
		var l string
		up, err := scanUpload(rows, &l)
		if err != nil {
			return err
		}
		if n := len(out); n > 0 && out[n-1].ID == up.ID {
			out[n-1].Labels = append(out[n-1].Labels, l)
			return nil
		}
		up.Labels = []string{l}
		out = append(out, up)
		return nil
	}, `SELECT `+uploadCols+`, l.label`+fromUploads+` JOIN file_labels l ON l.file_id = f.id
		WHERE p.channel_id = ? AND p.name = ? ORDER BY f.subdir, f.filename, l.label`, channelID, pkg); err != nil { // from the package to its files, by index
		return nil, err
	}
	return out, nil
}

func (s *sqlStore) FileRecord(ctx context.Context, channelID int64, ref FileRef) (json.RawMessage, error) {
	var b []byte
	err := s.row(ctx, s.r, `SELECT record FROM files WHERE channel_id = ? AND subdir = ? AND filename = ?`, channelID, ref.Subdir, ref.Filename).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Kind: "file", Name: ref.String()}
	}
	return b, err
}

// recentChunk bounds the channel ids one query names.
const recentChunk = 500

func (s *sqlStore) RecentUploads(ctx context.Context, channelIDs []int64, before int64, limit int) ([]Upload, error) {
	if limit <= 0 {
		limit = 20
	}
	out := []Upload{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		for ids := range slices.Chunk(channelIDs, recentChunk) {
			// "+f.channel_id" keeps the planner off the channel index: walking the files newest
			// first and stopping at the limit is what is fast (3 ms against 113 ms on 200,000
			// files), unless the viewer sees very few channels of a very large server.
			q := `SELECT ` + uploadCols + fromUploads + ` WHERE +f.channel_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
			args := make([]any, 0, len(ids)+2)
			for _, id := range ids {
				args = append(args, id)
			}
			if before > 0 {
				q += ` AND f.id < ?`
				args = append(args, before)
			}
			args = append(args, limit)
			got, err := queryRows(ctx, s, tx, func(sc scanner) (Upload, error) { return scanUpload(sc) }, q+` ORDER BY f.id DESC LIMIT ?`, args...)
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Chunks each give their newest: merge them.
	slices.SortFunc(out, func(a, b Upload) int { return cmp.Compare(b.ID, a.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *sqlStore) SetPackagesPrivate(ctx context.Context, channelID int64, pkgs []string, private bool, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.bump(ctx, tx, channelID); err != nil {
			return err
		}
		for _, pkg := range pkgs {
			res, err := s.exec(ctx, tx, `UPDATE packages SET private = ? WHERE channel_id = ? AND name = ?`, private, channelID, pkg)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return &NotFoundError{Kind: "package", Name: pkg}
			}
			// Only what the package's files are served under changes; privacy is per name.
			if err := s.touchFiles(ctx, tx, false, `f.channel_id = ? AND p.name = ?`, channelID, pkg); err != nil {
				return err
			}
			if err := s.event(ctx, tx, channelID, actorID, "package.privacy", map[string]any{"package": pkg, "private": private}); err != nil {
				return err
			}
		}
		return nil
	})
}
