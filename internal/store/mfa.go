package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// MFAMethods returns the user's confirmed second factors: an active TOTP
// factor, an active phone, a recovery code. Pending enrolments never count.
// It does not check that the user exists.
func (db *DB) MFAMethods(ctx context.Context, userID int64) (auth.MethodSet, error) {
	var m auth.MethodSet
	err := db.read.QueryRowContext(ctx, `
		SELECT
			EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND state = 'active'),
			EXISTS (SELECT 1 FROM phones WHERE user_id = $1 AND state = 'active'),
			EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = $1)`, userID,
	).Scan(&m.TOTP, &m.SMS, &m.RecoveryCode)
	if err != nil {
		return auth.MethodSet{}, db.fail("mfa methods", err)
	}
	return m, nil
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

// beginMFAAttemptSQL counts one admitted attempt (see BeginMFAAttempt).
const beginMFAAttemptSQL = `
	UPDATE users SET
		mfa_failures = mfa_failures + 1,
		mfa_locked_until = CASE
			WHEN $3 <= 0 THEN NULL
			WHEN (mfa_failures + 1) % $3 = 0 THEN CAST($4 AS BIGINT)
			ELSE NULL
		END
	WHERE id = $1
		AND (mfa_locked_until IS NULL OR mfa_locked_until <= $2)
		AND ($5 <= 0 OR mfa_failures < $5)
	RETURNING mfa_failures, mfa_locked_until`

// capMax is the failure cap that applies to an attempt (0: none).
func capMax(p auth.LockoutPolicy, capped bool) int {
	if capped {
		return p.MaxFailures
	}
	return 0
}

// BeginMFAAttempt admits one second-factor attempt, counting it as a failure
// before it is evaluated. It admits nothing while the account is locked at
// now, or when capped and the count has reached p.MaxFailures (0: no cap).
// The attempt that makes the count a multiple of p.LockEvery (0: never)
// locks the account until now+p.LockFor. It returns the state after the call
// and whether the attempt was admitted; auth.ErrNotFound if there is no
// such user.
func (db *DB) BeginMFAAttempt(ctx context.Context, userID int64, now time.Time, p auth.LockoutPolicy, capped bool) (auth.MFAState, bool, error) {
	// One conditional UPDATE checks the lock and the cap, counts the attempt
	// and sets the lock: two attempts (on any instances) can never both see
	// the same count, so N parallel guesses are admitted at most as often as
	// the policy allows. Admitted means not locked at now, so an expired
	// lock is cleared (ELSE NULL). The nested CASE keeps a LockEvery of 0
	// from dividing by zero; the CAST gives PostgreSQL the CASE's type.
	var st auth.MFAState
	admitted := false
	err := db.write(ctx, func(q querier) error {
		var err error
		st, admitted, err = beginMFAAttempt(ctx, q, userID, now, p, capped)
		return err
	})
	if err != nil {
		return auth.MFAState{}, false, db.fail("begin mfa attempt", err)
	}
	return st, admitted, nil
}

// beginMFAAttempt runs BeginMFAAttempt's statement in q. When the attempt
// is not admitted (or there is no such user) it reads, in q, the state that
// refused it.
func beginMFAAttempt(ctx context.Context, q querier, userID int64, now time.Time, p auth.LockoutPolicy, capped bool) (auth.MFAState, bool, error) {
	var st auth.MFAState
	err := q.QueryRowContext(ctx, beginMFAAttemptSQL,
		userID, now.UnixMicro(), p.LockEvery, now.Add(p.LockFor).UnixMicro(), capMax(p, capped),
	).Scan(&st.Failures, scanTime(&st.LockedUntil))
	if !errors.Is(err, sql.ErrNoRows) {
		return st, err == nil, err
	}
	st, err = mfaState(ctx, q, userID)
	return st, false, err
}

// countMFAAttempt runs BeginMFAAttempt's statement in q without reading the
// state back: it reports only whether the attempt was admitted (a user that
// does not exist is not).
func countMFAAttempt(ctx context.Context, q querier, userID int64, now time.Time, p auth.LockoutPolicy, capped bool) (bool, error) {
	n, err := execCount(ctx, q, countMFAAttemptSQL,
		userID, now.UnixMicro(), p.LockEvery, now.Add(p.LockFor).UnixMicro(), capMax(p, capped))
	return n == 1, err
}

// countMFAAttemptSQL is beginMFAAttemptSQL without its RETURNING clause.
var countMFAAttemptSQL = beginMFAAttemptSQL[:strings.Index(beginMFAAttemptSQL, "RETURNING")]

// ResetMFAFailures clears the failure count and any lock (after a success);
// auth.ErrNotFound if there is no such user.
func (db *DB) ResetMFAFailures(ctx context.Context, userID int64) error {
	err := db.writeOne(ctx, `UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL WHERE id = $1`, userID)
	return db.fail("reset mfa failures", err)
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

// errReplay rolls back RecordMFASuccess when the TOTP step was taken.
var errReplay = errors.New("totp step already consumed")

// RecordMFASuccess applies a successful second-factor verification in one
// transaction: the TOTP step is consumed by the same conditional UPDATE as
// ConsumeTOTPStep (so a replay changes nothing and reports false), the
// failure count and lock are cleared, the preferred method and the
// session's step-up are set, and the events recorded (UserID 0 means
// s.UserID).
func (db *DB) RecordMFASuccess(ctx context.Context, s auth.MFASuccess) (bool, error) {
	err := db.inTx(ctx, func(tx querier) error { return applyMFASuccess(ctx, tx, s) })
	if errors.Is(err, errReplay) {
		return false, nil
	}
	if err != nil {
		return false, db.fail("record mfa success", err)
	}
	return true, nil
}

// applyMFASuccess makes the changes of RecordMFASuccess inside tx; errReplay
// if the TOTP step was taken (nothing of s is applied then).
func applyMFASuccess(ctx context.Context, tx querier, s auth.MFASuccess) error {
	if s.FactorID != 0 {
		n, err := execCount(ctx, tx, consumeTOTPStepSQL, s.FactorID, s.Step)
		if err != nil {
			return err
		}
		if n == 0 {
			return errReplay
		}
	}
	if err := execOne(ctx, tx, `
		UPDATE users SET mfa_failures = 0, mfa_locked_until = NULL,
			preferred_method = CASE WHEN $2 = '' THEN preferred_method ELSE $2 END
		WHERE id = $1`, s.UserID, s.PreferredMethod); err != nil {
		return err
	}
	if s.ReauthSessionID != 0 {
		if err := execOne(ctx, tx, `UPDATE sessions SET reauth_at = $2, reauth_method = $3 WHERE id = $1`,
			s.ReauthSessionID, timeValue(s.At), s.ReauthMethod); err != nil {
			return err
		}
	}
	return insertUserEvents(ctx, tx, s.UserID, s.Events)
}

// AttemptMFA counts an attempt and, with success, applies it, in one
// transaction (one commit on SQLite's single writer instead of two). The
// count is the same conditional UPDATE as BeginMFAAttempt, so parallel
// attempts are admitted exactly as often as the policy allows; a replayed
// step keeps the count and applies nothing else (a savepoint-free way: the
// step is consumed first, before anything of the success is written).
func (db *DB) AttemptMFA(ctx context.Context, userID int64, now time.Time, p auth.LockoutPolicy, capped bool, success *auth.MFASuccess) (auth.MFAState, bool, bool, error) {
	var st auth.MFAState
	admitted, succeeded := false, false
	err := db.inTx(ctx, func(tx querier) error {
		var err error
		if success == nil {
			st, admitted, err = beginMFAAttempt(ctx, tx, userID, now, p, capped)
			return err // a failure: commit the count
		}
		// A right code: the same count, without reading the state back,
		// which only a refusal or a replay needs.
		admitted, err = countMFAAttempt(ctx, tx, userID, now, p, capped)
		if err != nil || !admitted {
			if err == nil {
				st, err = mfaState(ctx, tx, userID)
			}
			return err
		}
		switch err := applyMFASuccess(ctx, tx, *success); {
		case errors.Is(err, errReplay):
			// Nothing of the success was written; commit the count.
			st, err = mfaState(ctx, tx, userID)
			return err
		case err != nil:
			return err
		}
		succeeded = true
		return nil
	})
	if err != nil {
		return auth.MFAState{}, false, false, db.fail("attempt mfa", err)
	}
	if succeeded {
		st = auth.MFAState{}
	}
	return st, admitted, succeeded, nil
}
