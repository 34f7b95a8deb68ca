package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// phoneColumns are the columns scanPhone reads, in its order.
const phoneColumns = `id, user_id, number, state, created_at, confirmed_at, session_id`

func scanPhone(row scanner) (*auth.Phone, error) {
	p := &auth.Phone{}
	err := row.Scan(&p.ID, &p.UserID, &p.Number, &p.State, scanTime(&p.CreatedAt), scanTime(&p.ConfirmedAt), scanID(&p.SessionID))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// errNoPendingPhone is ActivatePhone's answer when there is nothing to
// confirm.
func errNoPendingPhone() error {
	return &auth.Error{Kind: auth.KindConflict, Message: "No pending phone number to confirm."}
}

// Phones returns the user's active and pending numbers (nil if none). It
// does not check that the user exists.
func (db *DB) Phones(ctx context.Context, userID int64) (active, pending *auth.Phone, err error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+phoneColumns+` FROM phones WHERE user_id = $1`, userID)
	if err != nil {
		return nil, nil, db.fail("phones", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPhone(rows)
		if err != nil {
			return nil, nil, db.fail("phones", err)
		}
		if p.State == auth.FactorActive {
			active = p
		} else {
			pending = p
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, db.fail("phones", err)
	}
	return active, pending, nil
}

// PutPendingPhone inserts p (UserID, SessionID, Number in E.164, CreatedAt) as the
// user's pending number, deleting any earlier pending one, in one
// transaction, and sets p.ID and p.State; auth.ErrNotFound if the user does
// not exist. The active number, if any, stays until ActivatePhone.
func (db *DB) PutPendingPhone(ctx context.Context, p *auth.Phone) error {
	var id int64
	err := db.inTx(ctx, func(tx querier) error {
		if err := deletePhone(ctx, tx, p.UserID, auth.FactorPending); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `
			INSERT INTO phones (user_id, number, state, created_at, session_id)
			VALUES ($1, $2, 'pending', $3, $4)
			RETURNING id`,
			p.UserID, p.Number, timeValue(p.CreatedAt), idValue(p.SessionID),
		).Scan(&id)
	})
	if err != nil {
		return db.fail("put pending phone", err)
	}
	p.ID, p.State, p.ConfirmedAt = id, auth.FactorPending, time.Time{}
	return nil
}

// activatePendingPhone confirms the pending number. The state is checked in
// the UPDATE itself, so of two confirmations of the same number (or one
// racing a PutPendingPhone that replaces it) at most one succeeds.
func activatePendingPhone(ctx context.Context, tx querier, userID, pendingID int64, now time.Time) error {
	n, err := execCount(ctx, tx, `
		UPDATE phones SET state = 'active', confirmed_at = $3
		WHERE id = $1 AND user_id = $2 AND state = 'pending'`,
		pendingID, userID, timeValue(now))
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoPendingPhone()
	}
	return nil
}

// deletePhone deletes the user's number in state, if any.
func deletePhone(ctx context.Context, tx querier, userID int64, state string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM phones WHERE user_id = $1 AND state = $2`, userID, state)
	return err
}
