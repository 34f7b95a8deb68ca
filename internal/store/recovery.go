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

// ReplaceRecoveryCode stores rc as the user's only code, voiding any earlier
// one, and records the events (UserID 0 means rc.UserID), in one
// transaction; auth.ErrNotFound if the user does not exist.
func (db *DB) ReplaceRecoveryCode(ctx context.Context, rc *auth.RecoveryCode, events ...*auth.Event) error {
	err := db.inTx(ctx, func(tx querier) error {
		if err := upsertRecoveryCode(ctx, tx, rc); err != nil {
			return err
		}
		return insertUserEvents(ctx, tx, rc.UserID, events)
	})
	return db.fail("replace recovery code", err)
}

// SwapRecoveryCode replaces the user's code with next only if its hash is
// still oldHash, and then records the events (UserID 0 means next.UserID),
// in one transaction. It reports false, recording nothing, if the code had
// already changed (or there was none).
func (db *DB) SwapRecoveryCode(ctx context.Context, oldHash []byte, next *auth.RecoveryCode, events ...*auth.Event) (bool, error) {
	var swapped bool
	err := db.inTx(ctx, func(tx querier) error {
		// Compare-and-swap: a recovery code is single-use, so of any number
		// of requests presenting it at once, exactly one may replace it.
		n, err := execCount(ctx, tx, `
			UPDATE recovery_codes SET hash = $3, created_at = $4
			WHERE user_id = $1 AND hash = $2`,
			next.UserID, oldHash, next.Hash, timeValue(next.CreatedAt))
		if err != nil || n == 0 {
			return err
		}
		swapped = true
		return insertUserEvents(ctx, tx, next.UserID, events)
	})
	if err != nil {
		return false, db.fail("swap recovery code", err)
	}
	return swapped, nil
}

// upsertRecoveryCode makes rc the user's one recovery code.
func upsertRecoveryCode(ctx context.Context, tx querier, rc *auth.RecoveryCode) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO recovery_codes (user_id, hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`,
		rc.UserID, rc.Hash, timeValue(rc.CreatedAt))
	return err
}
