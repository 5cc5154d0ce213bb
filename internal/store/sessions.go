package store

import (
	"context"
	"time"
)

// Session is a signed-in browser. Only the SHA-256 of the cookie's secret is stored.
type Session struct {
	ID         int64
	Hash       string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
	Addr       string
}

// SessionStore keeps web UI sessions and run-time settings.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) (Session, error)
	// SessionByHash finds a session that has not expired at now; a *NotFoundError otherwise.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, error)
	// Sessions lists a user's sessions that have not expired at now, newest first.
	Sessions(ctx context.Context, userID int64, now time.Time) ([]Session, error)
	// TouchSession records when a session was last used.
	TouchSession(ctx context.Context, id int64, seen time.Time) error
	// DeleteSession ends one of a user's sessions; a *NotFoundError when the user has no such
	// session.
	DeleteSession(ctx context.Context, userID, id int64) error
	// DeleteSessions ends every session of a user but keep (0: all of them), and says how
	// many it ended. Changing a password or disabling an account (UpdateUser) does this too.
	DeleteSessions(ctx context.Context, userID, keep int64) (int, error)

	// Setting reads a setting; ok is false when it was never set. SetSetting writes one.
	Setting(ctx context.Context, key string) (value string, ok bool, err error)
	SetSetting(ctx context.Context, key, value string) error
}
