package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/auth"
)

// RecoveryCode returns the user's recovery code, or auth.ErrNotFound.
func (db *DB) RecoveryCode(ctx context.Context, userID int64) (*auth.RecoveryCode, error) {
	rc := &auth.RecoveryCode{}
	err := db.read.QueryRowContext(ctx, `SELECT user_id, hash, created_at FROM recovery_codes WHERE user_id = $1`, userID).
		Scan(&rc.UserID, &rc.Hash, scanTime(&rc.CreatedAt))
	if err != nil {
		return nil, db.fail("recovery code", err)
	}
	return rc, nil
}

// upsertRecoveryCode makes rc the user's one recovery code.
func upsertRecoveryCode(ctx context.Context, tx querier, rc *auth.RecoveryCode) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO recovery_codes (user_id, hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`,
		rc.UserID, rc.Hash, timeValue(rc.CreatedAt))
	return err
}
