package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// InTx runs fn as one atomic unit of writes and commits it if fn returns
// nil; if fn returns an error, nothing it wrote is kept and the error is
// returned as it is (a *auth.Error from a verb, or fn's own). On
// PostgreSQL that is a transaction of its own; on SQLite a savepoint in the
// writer's next batch, committed together with the units beside it.
//
// fn must use only tx: no other store call, no network, no password
// hashing. On SQLite every write of every request waits while fn runs.
func (db *DB) InTx(ctx context.Context, fn func(tx auth.Tx) error) error {
	err := db.inTx(ctx, func(q querier) error { return fn(&tx{q: q}) })
	return db.fail("transaction", err)
}

// tx implements auth.Tx: each verb is one statement (or a short fixed
// sequence) inside the unit InTx runs.
type tx struct{ q querier }

// countMFAAttemptSQL counts one admitted second-factor attempt as a failure,
// and sets the lock when the new count is a multiple of the lock interval.
// One conditional UPDATE checks the lock and the cap, counts the attempt
// and sets the lock: two attempts (on any instances) can never both see the
// same count, so N parallel guesses are admitted at most as often as the
// policy allows (Keycloak CVE-2024-4629). Admitted means not locked at now,
// so an expired lock is cleared (ELSE NULL). The nested CASE keeps a
// LockEvery of 0 from dividing by zero; the CAST gives PostgreSQL the
// CASE's type. auth.MFAState.Locked is its mirror in Go.
const countMFAAttemptSQL = `
	UPDATE users SET
		mfa_failures = mfa_failures + 1,
		mfa_locked_until = CASE
			WHEN $3 <= 0 THEN NULL
			WHEN (mfa_failures + 1) % $3 = 0 THEN CAST($4 AS BIGINT)
			ELSE NULL
		END
	WHERE id = $1
		AND (mfa_locked_until IS NULL OR mfa_locked_until <= $2)
		AND ($5 <= 0 OR mfa_failures < $5)`

func (t *tx) CountAttempt(ctx context.Context, userID int64, now time.Time, p auth.LockoutPolicy, capped bool) (bool, error) {
	maxFailures := 0
	if capped {
		maxFailures = p.MaxFailures
	}
	n, err := execCount(ctx, t.q, countMFAAttemptSQL,
		userID, now.UnixMicro(), p.LockEvery, now.Add(p.LockFor).UnixMicro(), maxFailures)
	return n == 1, err
}

func (t *tx) MFAState(ctx context.Context, userID int64) (auth.MFAState, error) {
	return mfaState(ctx, t.q, userID)
}

func (t *tx) MFAMethods(ctx context.Context, userID int64) (auth.MethodSet, error) {
	return mfaMethods(ctx, t.q, userID)
}

func (t *tx) ClearFailures(ctx context.Context, userID int64, preferredMethod string) error {
	return execOne(ctx, t.q, `
		UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL,
			preferred_method = CASE WHEN $2 = '' THEN preferred_method ELSE $2 END
		WHERE id = $1`, userID, preferredMethod)
}

// consumeTOTPStepSQL is the TOTP replay guard.
const consumeTOTPStepSQL = `
	UPDATE totp_factors SET last_step = $2
	WHERE id = $1 AND state = 'active' AND last_step < $2`

func (t *tx) ConsumeTOTPStep(ctx context.Context, factorID, step int64) (bool, error) {
	// The replay guard is this one conditional UPDATE, never a read then a
	// write: of any number of requests presenting the same code at once, on
	// any instances, exactly one changes the row.
	n, err := execCount(ctx, t.q, consumeTOTPStepSQL, factorID, step)
	return n == 1, err
}

func (t *tx) SetReauth(ctx context.Context, sessionID int64, method string, at time.Time) error {
	return execOne(ctx, t.q, `UPDATE sessions SET reauth_at = $2, reauth_method = $3 WHERE id = $1`,
		sessionID, timeValue(at), method)
}

func (t *tx) UseSMSCode(ctx context.Context, codeID int64, now time.Time, maxAttempts int) (bool, error) {
	// The one-time rule is this conditional UPDATE, never a read then a
	// write: of any number of requests presenting the code at once, on any
	// instances, exactly one changes the row.
	n, err := execCount(ctx, t.q, `
		UPDATE sms_codes SET used_at = $2
		WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3`,
		codeID, now.UnixMicro(), maxAttempts)
	return n == 1, err
}

func (t *tx) FailSMSCode(ctx context.Context, codeID int64) error {
	// Incremented in the statement, never read then written, so parallel
	// wrong guesses are each counted.
	return execOne(ctx, t.q, `UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1`, codeID)
}

func (t *tx) SwapRecoveryCode(ctx context.Context, oldHash []byte, next *auth.RecoveryCode) (bool, error) {
	// Compare-and-swap: a recovery code is single-use, so of any number of
	// requests presenting it at once, exactly one may replace it.
	n, err := execCount(ctx, t.q, `
		UPDATE recovery_codes SET hash = $3, created_at = $4
		WHERE user_id = $1 AND hash = $2`,
		next.UserID, oldHash, next.Hash, timeValue(next.CreatedAt))
	return n == 1, err
}

func (t *tx) PutRecoveryCode(ctx context.Context, rc *auth.RecoveryCode) error {
	return upsertRecoveryCode(ctx, t.q, rc)
}

func (t *tx) DeleteRecoveryCode(ctx context.Context, userID int64) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
	return err
}

func (t *tx) ActivateTOTP(ctx context.Context, userID, pendingID, step int64, now time.Time) error {
	// The earlier active factor goes first: at most one active factor per
	// user is a unique index. If the pending one turns out to be gone, the
	// unit's rollback brings it back.
	if err := deleteTOTP(ctx, t.q, userID, auth.FactorActive); err != nil {
		return err
	}
	return activatePendingTOTP(ctx, t.q, userID, pendingID, step, now)
}

func (t *tx) DeleteTOTP(ctx context.Context, userID int64) (bool, error) {
	return deleteFactor(ctx, t.q, "totp_factors", userID)
}

func (t *tx) ActivatePhone(ctx context.Context, userID, pendingID int64, now time.Time) error {
	// As for an app: the earlier active number goes first.
	if err := deletePhone(ctx, t.q, userID, auth.FactorActive); err != nil {
		return err
	}
	return activatePendingPhone(ctx, t.q, userID, pendingID, now)
}

func (t *tx) DeletePhone(ctx context.Context, userID int64) (bool, error) {
	return deleteFactor(ctx, t.q, "phones", userID)
}

func (t *tx) DeleteOtherSessions(ctx context.Context, userID, keepSessionID int64) error {
	return deleteOtherSessions(ctx, t.q, userID, keepSessionID)
}

func (t *tx) SetPassword(ctx context.Context, userID int64, hash string) error {
	return execOne(ctx, t.q, `UPDATE users SET password_hash = $2, password_version = password_version + 1 WHERE id = $1`,
		userID, hash)
}

func (t *tx) CarrySession(ctx context.Context, userID, sessionID int64) error {
	return execOne(ctx, t.q, `
		UPDATE sessions SET password_version = (SELECT password_version FROM users WHERE id = $1)
		WHERE id = $2 AND user_id = $1`, userID, sessionID)
}

func (t *tx) ForgetFactors(ctx context.Context, userID int64) error {
	err := execOne(ctx, t.q, `
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
	} {
		if _, err := t.q.ExecContext(ctx, stmt, userID); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) AddEvents(ctx context.Context, userID int64, events ...*auth.Event) error {
	return insertUserEvents(ctx, t.q, userID, events)
}

// deleteFactor deletes the user's active and pending rows of table (a
// second factor: totp_factors or phones) and reports whether there was an
// active one; it deletes nothing when there was none. Table names are
// constants of this package, never input.
func deleteFactor(ctx context.Context, q querier, table string, userID int64) (bool, error) {
	n, err := execCount(ctx, q, `DELETE FROM `+table+` WHERE user_id = $1 AND state = 'active'`, userID)
	if err != nil || n == 0 {
		return false, err
	}
	_, err = q.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID)
	return err == nil, err
}
