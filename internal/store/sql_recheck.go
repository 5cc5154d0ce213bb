package store

import (
	"context"
	"database/sql"
)

// recheck runs nf.Recheck, if any, inside the transaction that publishes the file, with a
// reader of that transaction.
func (s *sqlStore) recheck(ctx context.Context, tx *sql.Tx, nf NewFile) error {
	if nf.Recheck == nil {
		return nil
	}
	return nf.Recheck(ctx, txAccess{s, tx})
}

// txAccess reads inside a write transaction, and on PostgreSQL keeps the rows it read
// from changing until the commit: a revocation, a disabled account or a removed grant either
// commits before the publication and is seen, or waits for it.
type txAccess struct {
	s  *sqlStore
	tx *sql.Tx
}

func (a txAccess) TokenByHash(ctx context.Context, hash string) (Token, error) {
	return a.s.tokenByHash(ctx, a.tx, hash, a.s.d.forShare())
}

func (a txAccess) UserByID(ctx context.Context, id int64) (User, error) {
	return a.s.userByID(ctx, a.tx, id, a.s.d.forShare())
}

func (a txAccess) GrantsOf(ctx context.Context, userID int64) (Grants, error) {
	return a.s.grantsOf(ctx, a.tx, userID, a.s.d.forShare())
}

func (a txAccess) OrgByID(ctx context.Context, id int64) (Org, error) {
	return a.s.orgByID(ctx, a.tx, id)
}

// ChannelByID needs no lock of its own: the publication holds the channel's row already
// (bump), and the parent's privacy does not decide who may write.
func (a txAccess) ChannelByID(ctx context.Context, id int64) (Channel, error) {
	return a.s.channelByID(ctx, a.tx, id)
}
