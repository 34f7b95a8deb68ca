package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/auth"
)

// MFAMethods returns the user's confirmed second factors: an active TOTP
// factor, an active phone, a recovery code. Pending enrolments never count.
// It does not check that the user exists.
func (db *DB) MFAMethods(ctx context.Context, userID int64) (auth.MethodSet, error) {
	m, err := mfaMethods(ctx, db.read, userID)
	if err != nil {
		return auth.MethodSet{}, db.fail("mfa methods", err)
	}
	return m, nil
}

func mfaMethods(ctx context.Context, q querier, userID int64) (auth.MethodSet, error) {
	var m auth.MethodSet
	err := q.QueryRowContext(ctx, `
		SELECT
			EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND state = 'active'),
			EXISTS (SELECT 1 FROM phones WHERE user_id = $1 AND state = 'active'),
			EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = $1)`, userID,
	).Scan(&m.TOTP, &m.SMS, &m.RecoveryCode)
	return m, err
}

// MFAState returns the user's second-factor failure state (auth.ErrNotFound
// if there is no such user). LockedUntil is returned as stored: it may lie
// in the past, and the caller compares it with its clock.
func (db *DB) MFAState(ctx context.Context, userID int64) (auth.MFAState, error) {
	st, err := mfaState(ctx, db.read, userID)
	if err != nil {
		return auth.MFAState{}, db.fail("mfa state", err)
	}
	return st, nil
}

func mfaState(ctx context.Context, q querier, userID int64) (auth.MFAState, error) {
	var st auth.MFAState
	err := q.QueryRowContext(ctx, `SELECT mfa_failures, mfa_locked_until FROM users WHERE id = $1`, userID).
		Scan(&st.Failures, scanTime(&st.LockedUntil))
	return st, err
}
