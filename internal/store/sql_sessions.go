package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

const sessionCols = `id, hash, user_id, created_at, last_seen_at, expires_at, user_agent, addr`

func scanSession(sc scanner) (Session, error) {
	var s Session
	var created, seen, expires int64
	err := sc.Scan(&s.ID, &s.Hash, &s.UserID, &created, &seen, &expires, &s.UserAgent, &s.Addr)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return s, err
}

func (s *sqlStore) CreateSession(ctx context.Context, in Session) (Session, error) {
	var out Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		// Expired sessions of anyone go as new ones come, so the table does not grow.
		if _, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE expires_at <= ?`, now()); err != nil {
			return err
		}
		t := now()
		var err error
		out, err = scanSession(s.row(ctx, tx, `INSERT INTO sessions (hash, user_id, created_at, last_seen_at, expires_at, user_agent, addr)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+sessionCols,
			in.Hash, in.UserID, t, t, in.ExpiresAt.UnixMicro(), in.UserAgent, in.Addr))
		return err
	})
	return out, err
}

func (s *sqlStore) SessionByHash(ctx context.Context, hash string, at time.Time) (Session, error) {
	out, err := scanSession(s.row(ctx, s.r, `SELECT `+sessionCols+` FROM sessions WHERE hash = ? AND expires_at > ?`, hash, at.UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		return out, &NotFoundError{Kind: "session", Name: "?"}
	}
	return out, err
}

func (s *sqlStore) Sessions(ctx context.Context, userID int64, at time.Time) ([]Session, error) {
	return queryRows(ctx, s, s.r, scanSession, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC`, userID, at.UnixMicro())
}

func (s *sqlStore) TouchSession(ctx context.Context, id int64, seen time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, seen.UnixMicro(), id, seen.UnixMicro())
		return err
	})
}

func (s *sqlStore) DeleteSession(ctx context.Context, userID, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &NotFoundError{Kind: "session", Name: strconv.FormatInt(id, 10)}
		}
		return nil
	})
}

func (s *sqlStore) DeleteSessions(ctx context.Context, userID, keep int64) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keep)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

func (s *sqlStore) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.row(ctx, s.r, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (s *sqlStore) SetSetting(ctx context.Context, key, value string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}
