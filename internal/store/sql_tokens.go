package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

const tokenCols = `id, owner_user_id, owner_org_id, created_by, name, description, hash, kind, strength, scopes, resources, created_at, expires_at, last_used_at`

func scanToken(sc scanner) (Token, error) {
	var t Token
	var user, org, by sql.NullInt64
	var scopes, resources string
	var created, expires, used int64
	if err := sc.Scan(&t.ID, &user, &org, &by, &t.Name, &t.Description, &t.Hash, &t.Kind, &t.Strength, &scopes, &resources, &created, &expires, &used); err != nil {
		return t, err
	}
	t.OwnerUserID, t.OwnerOrgID, t.CreatedBy = user.Int64, org.Int64, by.Int64
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	if used > 0 {
		t.LastUsedAt = fromMicros(used)
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("token %d scopes: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(resources), &t.Resources); err != nil {
		return t, fmt.Errorf("token %d resources: %w", t.ID, err)
	}
	return t, nil
}

func ownerKey(userID, orgID int64) string {
	if orgID != 0 {
		return "o:" + strconv.FormatInt(orgID, 10)
	}
	return "u:" + strconv.FormatInt(userID, 10)
}

func (s *sqlStore) CreateToken(ctx context.Context, t Token) (Token, error) {
	if (t.OwnerUserID == 0) == (t.OwnerOrgID == 0) {
		return Token{}, errors.New("store: a token has one owner, a user or an org")
	}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	if t.Resources == nil {
		t.Resources = []TokenResource{}
	}
	scopes, _ := json.Marshal(t.Scopes)
	resources, _ := json.Marshal(t.Resources)
	var out Token
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanToken(s.row(ctx, tx, `INSERT INTO tokens (owner_key, owner_user_id, owner_org_id, created_by, name, description, hash, kind, strength, scopes, resources, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+tokenCols,
			ownerKey(t.OwnerUserID, t.OwnerOrgID), nullID(t.OwnerUserID), nullID(t.OwnerOrgID), nullID(t.CreatedBy), t.Name, t.Description, t.Hash,
			t.Kind, t.Strength, string(scopes), string(resources), now(), t.ExpiresAt.UnixMicro()))
		if s.d.isUnique(err) {
			return &ConflictError{Kind: "token", Name: t.Name, Reason: "its owner has a token of that name; pick another name or edit that token"}
		}
		return err
	})
	return out, err
}

func (s *sqlStore) TokenByHash(ctx context.Context, hash string) (Token, error) {
	return s.tokenByHash(ctx, s.r, hash, "")
}

func (s *sqlStore) tokenByHash(ctx context.Context, db queryer, hash, lock string) (Token, error) {
	t, err := scanToken(s.row(ctx, db, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`+lock, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, &NotFoundError{Kind: "token", Name: "?"}
	}
	return t, err
}

func (s *sqlStore) TokenOf(ctx context.Context, ownerUserID, ownerOrgID int64, idOrName string) (Token, error) {
	q := `SELECT ` + tokenCols + ` FROM tokens WHERE owner_key = ? AND name = ?`
	args := []any{ownerKey(ownerUserID, ownerOrgID), idOrName}
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil {
		q = `SELECT ` + tokenCols + ` FROM tokens WHERE owner_key = ? AND (id = ? OR name = ?) ORDER BY (name = ?) DESC LIMIT 1`
		args = []any{ownerKey(ownerUserID, ownerOrgID), id, idOrName, idOrName}
	}
	t, err := scanToken(s.row(ctx, s.r, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return t, &NotFoundError{Kind: "token", Name: idOrName}
	}
	return t, err
}

func (s *sqlStore) Tokens(ctx context.Context, ownerUserID, ownerOrgID int64) ([]Token, error) {
	return queryRows(ctx, s, s.r, scanToken, `SELECT `+tokenCols+` FROM tokens WHERE owner_key = ? ORDER BY name`, ownerKey(ownerUserID, ownerOrgID))
}

func (s *sqlStore) UpdateToken(ctx context.Context, id int64, up TokenUpdate) (Token, error) {
	var t Token
	err := s.write(ctx, func(tx *sql.Tx) error {
		var set assignments
		if up.Name != nil {
			set.set("name", *up.Name)
		}
		if up.ExpiresAt != nil {
			set.set("expires_at", up.ExpiresAt.UnixMicro())
		}
		if up.Hash != nil {
			set.set("hash", *up.Hash)
		}
		var err error
		t, err = scanToken(s.updateRow(ctx, tx, "tokens", id, &set, tokenCols))
		if s.d.isUnique(err) {
			// The name, unless only the hash (random, so never in practice) was set.
			name := ""
			if up.Name != nil {
				name = *up.Name
			} else if up.Hash != nil {
				name = *up.Hash
			}
			return &ConflictError{Kind: "token", Name: name, Reason: "its owner has a token of that name"}
		}
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "token", Name: strconv.FormatInt(id, 10)}
		}
		return err
	})
	return t, err
}

func (s *sqlStore) DeleteToken(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM tokens WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &NotFoundError{Kind: "token", Name: strconv.FormatInt(id, 10)}
		}
		return nil
	})
}

func (s *sqlStore) TouchTokens(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			// Never moves backwards: replicas flush in any order.
			if _, err := s.exec(ctx, tx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, at.UnixMicro(), id, at.UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *sqlStore) BumpAccessEpoch(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `UPDATE access_epoch SET n = n + 1 WHERE id = 1`)
		return err
	})
}

func (s *sqlStore) AccessEpoch(ctx context.Context) (int64, error) {
	var n int64
	err := s.row(ctx, s.r, `SELECT n FROM access_epoch WHERE id = 1`).Scan(&n)
	return n, err
}
