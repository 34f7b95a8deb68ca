package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// totpColumns are the columns scanTOTPFactor reads, in its order.
const totpColumns = `id, user_id, state, sealed_secret, key_id, last_step, created_at, confirmed_at, expires_at, session_id`

func scanTOTPFactor(row scanner) (*auth.TOTPFactor, error) {
	f := &auth.TOTPFactor{}
	err := row.Scan(&f.ID, &f.UserID, &f.State, &f.SealedSecret, &f.KeyID, &f.LastStep,
		scanTime(&f.CreatedAt), scanTime(&f.ConfirmedAt), scanTime(&f.ExpiresAt), scanID(&f.SessionID))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// errNoPendingTOTP is ActivateTOTP's answer when there is nothing to confirm.
func errNoPendingTOTP() error {
	return &auth.Error{Kind: auth.KindConflict, Message: "No pending enrolment to confirm."}
}

// TOTPFactors returns the user's active and pending factors (nil if none).
// A pending factor that has expired at now is returned as nil.
func (db *DB) TOTPFactors(ctx context.Context, userID int64, now time.Time) (active, pending *auth.TOTPFactor, err error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT `+totpColumns+` FROM totp_factors
		WHERE user_id = $1 AND (state = 'active' OR expires_at > $2)`,
		userID, now.UnixMicro())
	if err != nil {
		return nil, nil, db.fail("totp factors", err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanTOTPFactor(rows)
		if err != nil {
			return nil, nil, db.fail("totp factors", err)
		}
		if f.State == auth.FactorActive {
			active = f
		} else {
			pending = f
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, db.fail("totp factors", err)
	}
	return active, pending, nil
}

// PutPendingTOTP inserts f (UserID, SessionID, CreatedAt, ExpiresAt) as the user's
// pending factor, deleting any earlier pending one, and sets f.ID, f.State,
// f.LastStep (-1), f.SealedSecret and f.KeyID. seal is called with the new
// id inside the transaction, so the secret can be bound to it; it must not
// use the store (on SQLite the transaction holds the only writer
// connection). A zero ExpiresAt is refused: a pending factor must lapse.
func (db *DB) PutPendingTOTP(ctx context.Context, f *auth.TOTPFactor, seal func(id int64) (sealed []byte, keyID string, err error)) error {
	if f.ExpiresAt.IsZero() {
		return errors.New("put pending totp: ExpiresAt is required")
	}
	var id int64
	var sealed []byte
	var keyID string
	err := db.inTx(ctx, func(tx querier) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = $1 AND state = 'pending'`, f.UserID); err != nil {
			return err
		}
		// The id comes first and the secret after, because the sealed
		// secret's additional data names the factor id.
		err := tx.QueryRowContext(ctx, `
			INSERT INTO totp_factors (user_id, state, sealed_secret, key_id, last_step, created_at, expires_at, session_id)
			VALUES ($1, 'pending', $2, '', -1, $3, $4, $5)
			RETURNING id`,
			f.UserID, []byte{}, timeValue(f.CreatedAt), timeValue(f.ExpiresAt), idValue(f.SessionID),
		).Scan(&id)
		if err != nil {
			return err
		}
		if sealed, keyID, err = seal(id); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		return execOne(ctx, tx, `UPDATE totp_factors SET sealed_secret = $2, key_id = $3 WHERE id = $1`, id, sealed, keyID)
	})
	if err != nil {
		return db.fail("put pending totp", err)
	}
	f.ID, f.State, f.LastStep, f.SealedSecret, f.KeyID = id, auth.FactorPending, -1, sealed, keyID
	f.ConfirmedAt = time.Time{}
	return nil
}

// consumeTOTPStepSQL is the replay guard (see ConsumeTOTPStep).
const consumeTOTPStepSQL = `
	UPDATE totp_factors SET last_step = $2
	WHERE id = $1 AND state = 'active' AND last_step < $2`

// ConsumeTOTPStep sets active factor factorID's last step to step if step is
// greater, and reports whether it did; false means a replay (or no such
// active factor).
func (db *DB) ConsumeTOTPStep(ctx context.Context, factorID, step int64) (bool, error) {
	// The replay guard is this one conditional UPDATE, never a read then a
	// write: of any number of requests presenting the same code at once, on
	// any instances, exactly one changes the row.
	n, err := db.writeCount(ctx, consumeTOTPStepSQL, factorID, step)
	if err != nil {
		return false, db.fail("consume totp step", err)
	}
	return n == 1, nil
}

// ActivateTOTP, in one transaction: deletes the user's earlier active
// factor, makes pending factor pendingID active with last_step = step (only
// while it is still pending and not expired at now, else an *auth.Error of
// KindConflict and nothing changes), replaces the recovery code with rc
// (kept as it is if rc is nil; rc.UserID 0 means userID), deletes every
// session of the user except keepSessionID (0: all), and records the events
// (UserID 0 means userID).
func (db *DB) ActivateTOTP(ctx context.Context, userID, keepSessionID, pendingID, step int64, now time.Time, rc *auth.RecoveryCode, events ...*auth.Event) error {
	err := db.inTx(ctx, func(tx querier) error {
		// The earlier active factor goes first: at most one active factor
		// per user is a unique index. If the pending one turns out to be
		// gone, the rollback brings it back.
		if err := deleteTOTP(ctx, tx, userID, auth.FactorActive); err != nil {
			return err
		}
		if err := activatePendingTOTP(ctx, tx, userID, pendingID, step, now); err != nil {
			return err
		}
		if rc != nil {
			if rc.UserID == 0 {
				rc.UserID = userID
			}
			if rc.UserID != userID {
				return errors.New("recovery code of another user")
			}
			if err := upsertRecoveryCode(ctx, tx, rc); err != nil {
				return err
			}
		}
		if err := deleteOtherSessions(ctx, tx, userID, keepSessionID); err != nil {
			return err
		}
		return insertUserEvents(ctx, tx, userID, events)
	})
	return db.fail("activate totp", err)
}

// activatePendingTOTP confirms the pending factor. The state and expiry are
// checked in the UPDATE itself, so two confirmations of the same enrolment
// (or one racing its expiry) cannot both succeed.
func activatePendingTOTP(ctx context.Context, tx querier, userID, pendingID, step int64, now time.Time) error {
	n, err := execCount(ctx, tx, `
		UPDATE totp_factors
		SET state = 'active', confirmed_at = $3, last_step = $4, expires_at = NULL
		WHERE id = $1 AND user_id = $2 AND state = 'pending' AND expires_at > $3`,
		pendingID, userID, now.UnixMicro(), step)
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoPendingTOTP()
	}
	return nil
}

// DeleteTOTP deletes the user's active and pending factors and records the
// events, in one transaction; when that leaves no method (no active phone)
// it also deletes the recovery code. It reports false, and changes and
// records nothing, if there was no active factor.
func (db *DB) DeleteTOTP(ctx context.Context, userID int64, events ...*auth.Event) (bool, error) {
	deleted, err := db.deleteMethod(ctx, "totp_factors", "phones", userID, events)
	if err != nil {
		return false, db.fail("delete totp", err)
	}
	return deleted, nil
}

// deleteMethod deletes the user's active and pending rows of table (a
// second factor: totp_factors or phones) and records the events, in one
// transaction; when no active row of other (the other factor's table)
// remains, the recovery code goes too. Nothing changes, and it reports
// false, if table held no active row. Table names are constants of this
// package, never input.
func (db *DB) deleteMethod(ctx context.Context, table, other string, userID int64, events []*auth.Event) (bool, error) {
	var deleted bool
	err := db.inTx(ctx, func(tx querier) error {
		n, err := execCount(ctx, tx, `DELETE FROM `+table+` WHERE user_id = $1 AND state = 'active'`, userID)
		if err != nil || n == 0 {
			return err
		}
		deleted = true
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
			return err
		}
		// A recovery code alone is not a method: it goes with the last one.
		_, err = tx.ExecContext(ctx, `
			DELETE FROM recovery_codes WHERE user_id = $1
			AND NOT EXISTS (SELECT 1 FROM `+other+` WHERE user_id = $1 AND state = 'active')`, userID)
		if err != nil {
			return err
		}
		return insertUserEvents(ctx, tx, userID, events)
	})
	return deleted, err
}

// deleteTOTP deletes the user's factor in state, if any.
func deleteTOTP(ctx context.Context, tx querier, userID int64, state string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = $1 AND state = $2`, userID, state)
	return err
}

// AllTOTPFactors returns every factor, active and pending (expired or not),
// by id, for re-sealing.
func (db *DB) AllTOTPFactors(ctx context.Context) ([]*auth.TOTPFactor, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+totpColumns+` FROM totp_factors ORDER BY id`)
	if err != nil {
		return nil, db.fail("all totp factors", err)
	}
	defer rows.Close()
	factors := []*auth.TOTPFactor{}
	for rows.Next() {
		f, err := scanTOTPFactor(rows)
		if err != nil {
			return nil, db.fail("all totp factors", err)
		}
		factors = append(factors, f)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("all totp factors", err)
	}
	return factors, nil
}

// ResealTOTP replaces factor id's sealed secret and key id, but only while
// its key id is still oldKeyID (compare-and-swap, so a re-seal never
// overwrites a newer enrolment or a concurrent re-seal). If the factor is
// gone or has another key id, it changes nothing and returns
// auth.ErrNotFound, which a rotation may count and skip.
func (db *DB) ResealTOTP(ctx context.Context, id int64, oldKeyID string, sealed []byte, keyID string) error {
	err := db.writeOne(ctx, `
		UPDATE totp_factors SET sealed_secret = $3, key_id = $4
		WHERE id = $1 AND key_id = $2`, id, oldKeyID, sealed, keyID)
	return db.fail("reseal totp", err)
}
