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

// ResetMFA deletes every second factor (TOTP factors and phones, active and
// pending), the SMS codes and the recovery code of the user, clears the
// failure state and the preferred method, deletes every session, and
// records the events, in one transaction; auth.ErrNotFound (and nothing
// changed) if there is no such user. The SMS send records stay: they count
// toward the sending caps, which a reset must not lift.
func (db *DB) ResetMFA(ctx context.Context, userID int64, events ...*auth.Event) error {
	err := db.inTx(ctx, func(tx querier) error {
		err := execOne(ctx, tx, `
			UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL, preferred_method = ''
			WHERE id = $1`, userID)
		if err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM totp_factors WHERE user_id = $1`,
			`DELETE FROM phones WHERE user_id = $1`,
			// The session cascade would take them too; say it outright.
			`DELETE FROM sms_codes WHERE user_id = $1`,
			`DELETE FROM recovery_codes WHERE user_id = $1`,
			`DELETE FROM sessions WHERE user_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, userID); err != nil {
				return err
			}
		}
		return insertUserEvents(ctx, tx, userID, events)
	})
	return db.fail("reset mfa", err)
}
