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
