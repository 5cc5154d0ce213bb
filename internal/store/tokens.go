package store

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/internal/access"
)

// TokenResource limits a token to a level on one channel (and its subchannels).
type TokenResource struct {
	ChannelID int64        `json:"channel_id"`
	Level     access.Level `json:"level"`
}

// Token is an access token as stored: never its secret, only the secret's SHA-256.
type Token struct {
	ID          int64
	OwnerUserID int64 // one of OwnerUserID and OwnerOrgID is set
	OwnerOrgID  int64
	CreatedBy   int64
	Name        string
	Description string
	Hash        string
	Kind        string // "scope" or "resource"
	Strength    string // "strong" or "weak"
	Scopes      []string
	Resources   []TokenResource
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastUsedAt  time.Time // zero: never used (or not yet recorded)
}

// TokenUpdate changes a token; nil fields stay. Hash set is a reissue: the old secret stops
// working when the change commits.
type TokenUpdate struct {
	Name      *string
	ExpiresAt *time.Time
	Hash      *string
}

// TokenStore keeps access tokens.
type TokenStore interface {
	// CreateToken stores a token; a name its owner already uses is a *ConflictError.
	CreateToken(ctx context.Context, t Token) (Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// TokenOf finds one of an owner's tokens by id (decimal) or name.
	TokenOf(ctx context.Context, ownerUserID, ownerOrgID int64, idOrName string) (Token, error)
	Tokens(ctx context.Context, ownerUserID, ownerOrgID int64) ([]Token, error)
	UpdateToken(ctx context.Context, id int64, up TokenUpdate) (Token, error)
	DeleteToken(ctx context.Context, id int64) error
	// TouchTokens records when tokens were last used, in one write for many uses.
	TouchTokens(ctx context.Context, used map[int64]time.Time) error

	// BumpAccessEpoch moves the shared counter that tells replicas to forget what they
	// remember of tokens and accounts; AccessEpoch reads it.
	BumpAccessEpoch(ctx context.Context) error
	AccessEpoch(ctx context.Context) (int64, error)
}
