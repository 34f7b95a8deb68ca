package store_test

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// The store suite drives the write verbs of auth.Tx through these helpers:
// each runs its verbs in one InTx unit, composed as the use cases in auth
// compose them, so the suite checks each verb's statement and that a unit
// commits or rolls back as a whole.

// beginAttempt counts one attempt and reads the state after it.
func beginAttempt(ctx context.Context, db *store.DB, userID int64, now time.Time, p auth.LockoutPolicy, capped bool) (auth.MFAState, bool, error) {
	var st auth.MFAState
	var admitted bool
	err := db.InTx(ctx, func(tx auth.Tx) error {
		var err error
		if admitted, err = tx.CountAttempt(ctx, userID, now, p, capped); err != nil {
			return err
		}
		st, err = tx.MFAState(ctx, userID)
		return err
	})
	return st, admitted, err
}

// clearFailures clears the failure state, setting no preferred method.
func clearFailures(ctx context.Context, db *store.DB, userID int64) error {
	return db.InTx(ctx, func(tx auth.Tx) error { return tx.ClearFailures(ctx, userID, "") })
}

// mfaSuccess is what a successful verification writes (see success).
type mfaSuccess struct {
	UserID          int64
	FactorID, Step  int64 // the TOTP step consumed (FactorID 0: none)
	PreferredMethod string
	ReauthSessionID int64
	ReauthMethod    string
	At              time.Time
	Events          []*auth.Event
}

// errReplay rolls back a success whose TOTP step was taken.
var errReplay = errors.New("totp step already consumed")

// applySuccess writes s in tx: the step first, so a replay writes nothing.
func applySuccess(ctx context.Context, tx auth.Tx, s mfaSuccess) error {
	if s.FactorID != 0 {
		ok, err := tx.ConsumeTOTPStep(ctx, s.FactorID, s.Step)
		if err != nil {
			return err
		}
		if !ok {
			return errReplay
		}
	}
	if err := tx.ClearFailures(ctx, s.UserID, s.PreferredMethod); err != nil {
		return err
	}
	if s.ReauthSessionID != 0 {
		if err := tx.SetReauth(ctx, s.ReauthSessionID, s.ReauthMethod, s.At); err != nil {
			return err
		}
	}
	return tx.AddEvents(ctx, s.UserID, s.Events...)
}

// recordSuccess writes s in a unit of its own; false (nothing written) for
// a replayed step.
func recordSuccess(ctx context.Context, db *store.DB, s mfaSuccess) (bool, error) {
	err := db.InTx(ctx, func(tx auth.Tx) error { return applySuccess(ctx, tx, s) })
	if errors.Is(err, errReplay) {
		return false, nil
	}
	return err == nil, err
}

// attemptMFA counts an attempt and, with success, applies it, in one unit,
// as auth's attempt path does: a replay keeps the count and nothing else.
func attemptMFA(ctx context.Context, db *store.DB, userID int64, now time.Time, p auth.LockoutPolicy, capped bool, success *mfaSuccess) (auth.MFAState, bool, bool, error) {
	var st auth.MFAState
	admitted, succeeded := false, false
	err := db.InTx(ctx, func(tx auth.Tx) error {
		var err error
		if admitted, err = tx.CountAttempt(ctx, userID, now, p, capped); err != nil {
			return err
		}
		if admitted && success != nil {
			if success.FactorID != 0 {
				ok, err := tx.ConsumeTOTPStep(ctx, success.FactorID, success.Step)
				if err != nil {
					return err
				}
				if ok {
					succeeded = true
					s := *success
					s.FactorID = 0
					return applySuccess(ctx, tx, s)
				}
			} else {
				succeeded = true
				return applySuccess(ctx, tx, *success)
			}
		}
		st, err = tx.MFAState(ctx, userID)
		return err
	})
	return st, admitted, succeeded, err
}

// consumeStep consumes a TOTP step in a unit of its own.
func consumeStep(ctx context.Context, db *store.DB, factorID, step int64) (bool, error) {
	var ok bool
	err := db.InTx(ctx, func(tx auth.Tx) error {
		var err error
		ok, err = tx.ConsumeTOTPStep(ctx, factorID, step)
		return err
	})
	return ok, err
}

// withRecoveryCode stores rc (UserID 0 meaning userID) and the events in tx.
func withRecoveryCode(ctx context.Context, tx auth.Tx, userID int64, rc *auth.RecoveryCode, events []*auth.Event) error {
	if rc != nil {
		if rc.UserID == 0 {
			rc.UserID = userID
		}
		if err := tx.PutRecoveryCode(ctx, rc); err != nil {
			return err
		}
	}
	return tx.AddEvents(ctx, userID, events...)
}

// activateTOTP activates a pending app with a new recovery code (nil: kept)
// and the events, in one unit.
func activateTOTP(ctx context.Context, db *store.DB, userID, pendingID, step int64, now time.Time, rc *auth.RecoveryCode, events ...*auth.Event) error {
	return db.InTx(ctx, func(tx auth.Tx) error {
		if err := tx.ActivateTOTP(ctx, userID, pendingID, step, now); err != nil {
			return err
		}
		return withRecoveryCode(ctx, tx, userID, rc, events)
	})
}

// activatePhone activates a pending number with a new recovery code (nil:
// kept) and the events, in one unit.
func activatePhone(ctx context.Context, db *store.DB, userID, pendingID int64, now time.Time, rc *auth.RecoveryCode, events ...*auth.Event) error {
	return db.InTx(ctx, func(tx auth.Tx) error {
		if err := tx.ActivatePhone(ctx, userID, pendingID, now); err != nil {
			return err
		}
		return withRecoveryCode(ctx, tx, userID, rc, events)
	})
}

// deleteFactor deletes a factor with del and, when that deletes one,
// deletes the recovery code if no method is left and records the events, in
// one unit (auth's removal of a factor).
func deleteFactor(ctx context.Context, db *store.DB, del func(auth.Tx, context.Context, int64) (bool, error), userID int64, events ...*auth.Event) (bool, error) {
	var deleted bool
	err := db.InTx(ctx, func(tx auth.Tx) error {
		var err error
		if deleted, err = del(tx, ctx, userID); err != nil || !deleted {
			return err
		}
		left, err := tx.MFAMethods(ctx, userID)
		if err != nil {
			return err
		}
		if !left.Any() {
			if err := tx.DeleteRecoveryCode(ctx, userID); err != nil {
				return err
			}
		}
		return tx.AddEvents(ctx, userID, events...)
	})
	return deleted, err
}

// replaceRecoveryCode stores rc and the events in one unit.
func replaceRecoveryCode(ctx context.Context, db *store.DB, rc *auth.RecoveryCode, events ...*auth.Event) error {
	return db.InTx(ctx, func(tx auth.Tx) error { return withRecoveryCode(ctx, tx, rc.UserID, rc, events) })
}

// swapRecoveryCode swaps the code and, when it did, records the events.
func swapRecoveryCode(ctx context.Context, db *store.DB, oldHash []byte, next *auth.RecoveryCode, events ...*auth.Event) (bool, error) {
	var swapped bool
	err := db.InTx(ctx, func(tx auth.Tx) error {
		var err error
		if swapped, err = tx.SwapRecoveryCode(ctx, oldHash, next); err != nil || !swapped {
			return err
		}
		return tx.AddEvents(ctx, next.UserID, events...)
	})
	return swapped, err
}

// useSMSCode consumes an SMS code in a unit of its own.
func useSMSCode(ctx context.Context, db *store.DB, codeID int64, now time.Time, maxAttempts int) (bool, error) {
	var ok bool
	err := db.InTx(ctx, func(tx auth.Tx) error {
		var err error
		ok, err = tx.UseSMSCode(ctx, codeID, now, maxAttempts)
		return err
	})
	return ok, err
}

// failSMSCode counts a wrong try in a unit of its own.
func failSMSCode(ctx context.Context, db *store.DB, codeID int64) error {
	return db.InTx(ctx, func(tx auth.Tx) error { return tx.FailSMSCode(ctx, codeID) })
}

// setPreferred clears the failures and sets the preferred method.
func setPreferred(ctx context.Context, db *store.DB, userID int64, method string) error {
	return db.InTx(ctx, func(tx auth.Tx) error { return tx.ClearFailures(ctx, userID, method) })
}

// deleteOtherSessions deletes the user's sessions but keepID in one unit.
func deleteOtherSessions(ctx context.Context, db *store.DB, userID, keepID int64) error {
	return db.InTx(ctx, func(tx auth.Tx) error { return tx.DeleteOtherSessions(ctx, userID, keepID) })
}

// setPassword sets a new password and ends the other sessions, in one
// unit (auth's password change).
func setPassword(ctx context.Context, db *store.DB, userID int64, hash string, keepSessionID int64, events ...*auth.Event) error {
	return db.InTx(ctx, func(tx auth.Tx) error {
		if err := tx.SetPassword(ctx, userID, hash); err != nil {
			return err
		}
		if err := tx.DeleteOtherSessions(ctx, userID, keepSessionID); err != nil {
			return err
		}
		if keepSessionID != 0 {
			if err := tx.CarrySession(ctx, userID, keepSessionID); err != nil {
				return err
			}
		}
		return tx.AddEvents(ctx, userID, events...)
	})
}

// resetMFA forgets every factor and ends every session, in one unit
// (auth's MFA reset).
func resetMFA(ctx context.Context, db *store.DB, userID int64, events ...*auth.Event) error {
	return db.InTx(ctx, func(tx auth.Tx) error {
		if err := tx.ForgetFactors(ctx, userID); err != nil {
			return err
		}
		if err := tx.DeleteOtherSessions(ctx, userID, 0); err != nil {
			return err
		}
		return tx.AddEvents(ctx, userID, events...)
	})
}
