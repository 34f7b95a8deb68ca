package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/recovery"
)

// macPurposeRecovery separates the recovery-code MAC key from every other use
// of the master keys.
const macPurposeRecovery = "recovery-code"

// reasonKeyGone is the failure reason (in the mfa_failed event) of a code
// stored under a key that is no longer in the keyring.
const reasonKeyGone = "its key is no longer configured"

// recoveryCodeFactor is the account recovery code as a factor of the
// attempt path. Using it replaces it: fresh holds the new code after a
// success.
type recoveryCodeFactor struct {
	s      *Service
	user   *User
	client Client
	fresh  string
}

func (f *recoveryCodeFactor) method() string { return MethodRecoveryCode }

func (f *recoveryCodeFactor) normalize(code string) (string, error) { return recovery.Normalize(code) }

// check compares code with the user's stored code in constant time and, on
// a match, prepares its replacement.
func (f *recoveryCodeFactor) check(ctx context.Context, code string) (verdict, error) {
	s, u := f.s, f.user
	stored, err := s.store.RecoveryCode(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return verdict{reason: "no recovery code"}, nil
	}
	if err != nil {
		return verdict{}, err
	}
	keyID, reason, err := s.storedKeyID(ctx, stored.Hash, "recovery code", u.ID)
	if err != nil || reason != "" {
		return verdict{reason: reason}, err
	}
	h, err := s.recoveryHash(keyID, code)
	if err != nil {
		return verdict{}, err
	}
	if subtle.ConstantTimeCompare(h, stored.Hash) != 1 {
		return verdict{reason: "wrong code"}, nil
	}
	now := s.now()
	fresh, next, err := s.newRecoveryCode(u.ID, now)
	if err != nil {
		return verdict{}, err
	}
	return verdict{replay: "already used", consume: func(ctx context.Context, tx Tx) (bool, error) {
		// Compare-and-swap: of N concurrent uses of one code, one wins.
		swapped, err := tx.SwapRecoveryCode(ctx, stored.Hash, next)
		if err != nil || !swapped {
			return false, err
		}
		f.fresh = fresh
		return true, tx.AddEvents(ctx, u.ID,
			s.event(u.ID, EventRecoveryCodeUsed, f.client, now, "the code was used and replaced"),
			s.event(u.ID, EventRecoveryCodeGenerated, f.client, now, "replacement for the used code"))
	}}, nil
}

// newRecoveryCode generates a code and its stored form (keyed hash).
func (s *Service) newRecoveryCode(userID int64, now time.Time) (string, *RecoveryCode, error) {
	code, err := recovery.Generate(s.rand)
	if err != nil {
		return "", nil, Internal(err)
	}
	h, err := s.recoveryHash(s.sealer.PrimaryID(), code)
	if err != nil {
		return "", nil, err
	}
	return recovery.Format(code), &RecoveryCode{UserID: userID, Hash: h, CreatedAt: now}, nil
}

// recoveryHash is the stored form of a recovery code: the key id and an
// HMAC-SHA256 under a server key. A database leak alone gives no code, and
// 120-bit codes need no slow hash.
func (s *Service) recoveryHash(keyID, code string) ([]byte, error) {
	mac, err := s.sealer.MAC(keyID, macPurposeRecovery, []byte(code))
	if err != nil {
		return nil, Internal(err)
	}
	return append([]byte(keyID+":"), mac...), nil
}

// RegenerateRecoveryCode issues a new recovery code, voiding every earlier
// one at once. It needs a step-up by an active method of the user's choice.
func (s *Service) RegenerateRecoveryCode(ctx context.Context, p *Principal, c Client) (string, error) {
	methods, err := s.methods(ctx, p.User.ID)
	if err != nil {
		return "", err
	}
	if !methods.Any() {
		return "", Errorf(KindConflict, "Add an authenticator app or a phone first; a recovery code comes with them.")
	}
	if err := s.requireStepUp(ctx, p, methods.List()); err != nil {
		return "", err
	}
	now := s.now()
	fresh, rc, err := s.newRecoveryCode(p.User.ID, now)
	if err != nil {
		return "", err
	}
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.PutRecoveryCode(ctx, rc); err != nil {
			return err
		}
		return tx.AddEvents(ctx, p.User.ID, s.event(p.User.ID, EventRecoveryCodeGenerated, c, now, "requested by the user"))
	})
	if err != nil {
		return "", err
	}
	return fresh, nil
}

// storedKeyID returns the id of the key a stored code hash ("<key id>:<mac>")
// was made under. When that key is no longer in the keyring no code can
// match: it returns reasonKeyGone, a wrong attempt counted like any other
// rather than a server error, and logs the key id for the operator
// (`latchkey keys status`).
func (s *Service) storedKeyID(ctx context.Context, hash []byte, what string, userID int64) (keyID, reason string, err error) {
	id, _, ok := bytes.Cut(hash, []byte{':'})
	if !ok {
		return "", "", Internal(fmt.Errorf("%s of user %d has no key id", what, userID))
	}
	if keyID = string(id); !s.sealer.HasKey(keyID) {
		s.logger.WarnContext(ctx, what+" stored under a key that is not configured", "key_id", keyID, "user_id", userID)
		return "", reasonKeyGone, nil
	}
	return keyID, "", nil
}
