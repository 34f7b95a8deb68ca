package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/recovery"
	"github.com/latchkey/latchkey/internal/totp"
)

// macPurposeRecovery separates the recovery-code MAC key from every other use
// of the master keys.
const macPurposeRecovery = "recovery-code"

// reasonKeyGone is the failure reason (in the mfa_failed event) of a code
// stored under a key that is no longer in the keyring.
const reasonKeyGone = "its key is no longer configured"

func errInvalidCode() *Error {
	return Errorf(KindInvalidCode, "The code is incorrect, expired or already used.")
}

// verified is the result of a successful second-factor check.
type verified struct {
	method          string
	newRecoveryCode string // set when a recovery code was used (and replaced)
}

// verifyFactor checks one second-factor attempt of the session's user, with
// the per-account lockout applied before anything is evaluated. It records
// mfa_succeeded / mfa_failed / locked events.
func (s *Service) verifyFactor(ctx context.Context, p *Principal, method, code, purpose string, c Client) (*verified, error) {
	u := p.User
	// For an app, its active factor is both the check that the account has
	// the method and what the code is checked against: one read, not two.
	var app *TOTPFactor
	if method == MethodTOTP {
		var err error
		if app, _, err = s.store.TOTPFactors(ctx, u.ID, s.now()); err != nil {
			return nil, err
		}
	}
	if app == nil {
		methods, err := s.methods(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(methods.List(), method) {
			return nil, Errorf(KindInvalid, "method must be one of the account's methods: %v", methods.List())
		}
	}
	var err error
	// Normalize before counting: a malformed code is a 400 that changes nothing.
	switch method {
	case MethodTOTP, MethodSMS:
		code, err = totp.NormalizeCode(code)
	case MethodRecoveryCode:
		code, err = recovery.Normalize(code)
	}
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "code: " + err.Error()}
	}

	now := s.now()
	capped := method != MethodRecoveryCode
	// What a success changes is written in one transaction.
	success := MFASuccess{
		UserID: u.ID, At: now,
		Events: []*Event{s.event(u.ID, EventMFASucceeded, c, now, method+" "+purpose)},
	}
	if method != MethodRecoveryCode {
		success.PreferredMethod = method
	}
	if purpose == PurposeReauth {
		success.ReauthSessionID, success.ReauthMethod = p.Session.ID, method
	}
	if method == MethodTOTP {
		return s.attemptTOTP(ctx, u, app, code, success, purpose, c)
	}

	// The attempt is counted as a failure before it is evaluated, in one
	// atomic statement, so parallel guesses can never exceed the lockout
	// (Keycloak CVE-2024-4629). A success resets the count.
	state, admitted, err := s.store.BeginMFAAttempt(ctx, u.ID, now, s.cfg.Lockout, capped)
	if err != nil {
		return nil, err
	}
	if !admitted {
		return nil, s.lockedError(state, now, capped)
	}
	v := &verified{method: method}
	var reason string
	switch method {
	case MethodSMS:
		reason, err = s.checkSMS(ctx, p, purpose, code, now)
	case MethodRecoveryCode:
		v.newRecoveryCode, reason, err = s.useRecoveryCode(ctx, u, code, c, now)
	default:
		err = Errorf(KindInvalid, "method %s is not available", method)
	}
	if err != nil {
		return nil, err
	}
	if reason == "" {
		if _, err := s.store.RecordMFASuccess(ctx, success); err != nil {
			return nil, err
		}
	}
	if reason != "" {
		s.recordFailure(ctx, u.ID, state, c, now, fmt.Sprintf("%s %s: %s", method, purpose, reason))
		return nil, errInvalidCode()
	}
	return v, nil
}

// attemptTOTP checks a TOTP code, then counts the attempt and, if it
// matched and is admitted, consumes its time step and applies the success,
// all in one transaction. Checking first is safe: the result is used only
// when the attempt is admitted, so a locked account is no oracle and
// parallel guesses are still admitted at most as the policy allows. The
// step is consumed by one conditional UPDATE: a code works once, also
// under concurrent requests and across instances, and a code older than
// the last accepted one is refused.
func (s *Service) attemptTOTP(ctx context.Context, u *User, app *TOTPFactor, code string, success MFASuccess, purpose string, c Client) (*verified, error) {
	factorID, step, reason, err := s.matchTOTP(app, code)
	if err != nil {
		return nil, err
	}
	var matched *MFASuccess
	if reason == "" {
		success.FactorID, success.Step = factorID, step
		matched = &success
	}
	now := success.At
	state, admitted, ok, err := s.store.AttemptMFA(ctx, u.ID, now, s.cfg.Lockout, true, matched)
	if err != nil {
		return nil, err
	}
	if !admitted {
		return nil, s.lockedError(state, now, true)
	}
	if reason == "" && !ok {
		reason = "replayed"
	}
	if reason != "" {
		s.recordFailure(ctx, u.ID, state, c, now, fmt.Sprintf("%s %s: %s", MethodTOTP, purpose, reason))
		return nil, errInvalidCode()
	}
	return &verified{method: MethodTOTP}, nil
}

// lockedError is the 429 for an attempt refused by the lockout. It is the
// same whether or not the code would have been right: a locked account is
// no oracle.
func (s *Service) lockedError(st MFAState, now time.Time, capped bool) *Error {
	e := &Error{Kind: KindLocked, Message: "Too many failed attempts; the account is locked for a while."}
	if st.LockedUntil.After(now) {
		e.RetryAfter = st.LockedUntil.Sub(now)
	}
	if capped && s.cfg.Lockout.MaxFailures > 0 && st.Failures >= s.cfg.Lockout.MaxFailures {
		e.Message = "Too many failed attempts: the authenticator app and SMS are disabled. Sign in with your recovery code or ask an administrator."
		if e.RetryAfter == 0 {
			e.RetryAfter = s.cfg.Lockout.LockFor
		}
	}
	if e.RetryAfter < time.Second {
		e.RetryAfter = time.Second
	}
	return e
}

// matchTOTP checks code against the active app and returns the factor and
// the matched time step (consumed by the caller), or a failure reason.
func (s *Service) matchTOTP(active *TOTPFactor, code string) (factorID, step int64, reason string, err error) {
	secret, err := s.openTOTP(active)
	if err != nil {
		return 0, 0, "", err
	}
	step, ok := totp.Verify(secret, code, s.now(), s.cfg.TOTPSkew)
	if !ok {
		return 0, 0, "wrong code", nil
	}
	return active.ID, step, "", nil
}

// totpAAD binds a sealed secret to its user and factor, so a ciphertext
// copied into another row (or another user's row) does not open.
func totpAAD(userID, factorID int64) []byte {
	return []byte("totp:" + strconv.FormatInt(userID, 10) + ":" + strconv.FormatInt(factorID, 10))
}

func (s *Service) openTOTP(f *TOTPFactor) ([]byte, error) {
	secret, err := s.sealer.Open(f.SealedSecret, totpAAD(f.UserID, f.ID))
	if err != nil {
		// Fail closed: a tampered or foreign secret is an error, never a pass.
		return nil, Internal(fmt.Errorf("open totp secret of factor %d: %w", f.ID, err))
	}
	return secret, nil
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

// useRecoveryCode consumes the user's recovery code if code matches it and
// replaces it in the same statement. It returns the new code.
func (s *Service) useRecoveryCode(ctx context.Context, u *User, code string, c Client, now time.Time) (string, string, error) {
	stored, err := s.store.RecoveryCode(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return "", "no recovery code", nil
	}
	if err != nil {
		return "", "", err
	}
	keyID, _, ok := cutByte(stored.Hash, ':')
	if !ok {
		return "", "", Internal(fmt.Errorf("recovery code of user %d has no key id", u.ID))
	}
	if !s.sealer.HasKey(keyID) {
		// Its key was removed from the keyring, so no code can match any
		// more: a wrong attempt, counted like any other, not a server error.
		// The operator hears which key (`latchkey keys status`).
		s.logger.WarnContext(ctx, "recovery code stored under a key that is not configured", "key_id", keyID, "user_id", u.ID)
		return "", reasonKeyGone, nil
	}
	h, err := s.recoveryHash(keyID, code)
	if err != nil {
		return "", "", err
	}
	if subtle.ConstantTimeCompare(h, stored.Hash) != 1 {
		return "", "wrong code", nil
	}
	fresh, next, err := s.newRecoveryCode(u.ID, now)
	if err != nil {
		return "", "", err
	}
	// Compare-and-swap: of N concurrent uses of one code, one wins.
	swapped, err := s.store.SwapRecoveryCode(ctx, stored.Hash, next,
		s.event(u.ID, EventRecoveryCodeUsed, c, now, "the code was used and replaced"),
		s.event(u.ID, EventRecoveryCodeGenerated, c, now, "replacement for the used code"))
	if err != nil {
		return "", "", err
	}
	if !swapped {
		return "", "already used", nil
	}
	return fresh, "", nil
}

func cutByte(b []byte, sep byte) (string, []byte, bool) {
	for i, x := range b {
		if x == sep {
			return string(b[:i]), b[i+1:], true
		}
	}
	return "", nil, false
}
