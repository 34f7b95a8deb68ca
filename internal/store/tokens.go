package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/auth"
)

// CreateAPIToken inserts t and sets t.ID.
func (db *DB) CreateAPIToken(ctx context.Context, t *auth.APIToken) error {
	err := db.write(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `
			INSERT INTO api_tokens (name, token_hash, admin, created_at)
			VALUES ($1, $2, $3, $4)
			RETURNING id`,
			t.Name, t.TokenHash, t.Admin, timeValue(t.CreatedAt),
		).Scan(&t.ID)
	})
	return db.fail("create api token", err)
}

// APITokenByHash returns the API token with this hash, or auth.ErrNotFound.
func (db *DB) APITokenByHash(ctx context.Context, hash []byte) (*auth.APIToken, error) {
	t := &auth.APIToken{}
	err := db.read.QueryRowContext(ctx, `
		SELECT id, name, token_hash, admin, created_at FROM api_tokens WHERE token_hash = $1`, hash,
	).Scan(&t.ID, &t.Name, &t.TokenHash, &t.Admin, scanTime(&t.CreatedAt))
	if err != nil {
		return nil, db.fail("api token by hash", err)
	}
	return t, nil
}
