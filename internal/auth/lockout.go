package auth

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// This file is the one attempt path of every second factor: the per-account
// lockout, the count before the result is used, the one-time consumption of
// the code, and the events. A factor (TOTP, SMS, the recovery code; later a
// passkey) only says how its code is read, checked and consumed.

// factor is a second factor as the attempt path sees it.
type factor interface {
	// method is the factor's API name, in events and as the preferred
	// method.
	method() string
	// normalize checks the shape of a typed code. A malformed code is a
	// 400 that counts nothing, so callers normalize before anything else.
	normalize(code string) (string, error)
	// check compares a normalized code with what is stored. It runs before
	// the attempt's transaction and only reads: its result is used only
	// once the attempt is admitted, so a locked account is no oracle.
	check(ctx context.Context, code string) (verdict, error)
}

// verdict is what check found.
type verdict struct {
	// reason says why the code is wrong ("" when it matched); it goes into
	// the mfa_failed event, never to the client.
	reason string
	// consume makes a matched code unusable, in the attempt's unit. False
	// means another request used it first (a replay), with replay as the
	// reason.
	consume func(ctx context.Context, tx Tx) (bool, error)
	replay  string
	// fail counts a wrong code against the code itself (nil: nothing to
	// count), in the attempt's unit.
	fail func(ctx context.Context, tx Tx) error
}

// attempt is one second-factor attempt of a user.
type attempt struct {
	user   *User
	factor factor
	code   string // normalized
	// capped: the hard cap of MaxFailures consecutive failures applies. It
	// does not for the recovery code (the way out of the cap) nor for
	// confirming a new factor.
	capped bool
	// label says what the attempt was for, in events: login, reauth or
	// enroll.
	label  string
	client Client
	// success writes what a matched, consumed code changes, in the same
	// unit, at now.
	success func(ctx context.Context, tx Tx, now time.Time) error
}

// run checks the code, then in one transaction counts the attempt (refused
// while locked) and, if the code matched and is still unused, consumes it
// and applies the success; a wrong or replayed code leaves the count and its
// events. Counting before the result is used, in one conditional statement,
// means parallel guesses can never exceed the lockout (Keycloak
// CVE-2024-4629); only a success resets the count.
func (s *Service) run(ctx context.Context, a attempt) error {
	v, err := a.factor.check(ctx, a.code)
	if err != nil {
		return err
	}
	now := s.now()
	uid := a.user.ID
	var st MFAState
	admitted, ok := false, false
	err = s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if admitted, err = tx.CountAttempt(ctx, uid, now, s.cfg.Lockout, a.capped); err != nil || !admitted {
			if err == nil {
				st, err = tx.MFAState(ctx, uid)
			}
			return err
		}
		reason := v.reason
		if reason == "" {
			consumed, err := v.consume(ctx, tx)
			if err != nil {
				return err
			}
			if consumed {
				ok = true
				return a.success(ctx, tx, now)
			}
			reason = v.replay
		} else if v.fail != nil {
			if err := v.fail(ctx, tx); err != nil {
				return err
			}
		}
		if st, err = tx.MFAState(ctx, uid); err != nil {
			return err
		}
		events := []*Event{s.event(uid, EventMFAFailed, a.client, now,
			fmt.Sprintf("%s %s: %s", a.factor.method(), a.label, reason))}
		if st.justLocked(s.cfg.Lockout) {
			events = append(events, s.event(uid, EventLocked, a.client, now,
				fmt.Sprintf("%d consecutive failed second-factor attempts", st.Failures)))
		}
		return tx.AddEvents(ctx, uid, events...)
	})
	switch {
	case err != nil:
		return err
	case !admitted:
		return s.lockedError(st, now, a.capped)
	case !ok:
		return errInvalidCode()
	}
	return nil
}

// normalizeCode checks the shape of a typed code for f.
func normalizeCode(f factor, code string) (string, error) {
	c, err := f.normalize(code)
	if err != nil {
		return "", Invalidf("%s", err)
	}
	return c, nil
}

func errInvalidCode() *Error {
	return Errorf(KindInvalidCode, "The code is incorrect, expired or already used.")
}

// Locked reports whether a second-factor attempt would be refused at now:
// locked for a while, or (when capped) at the hard cap of consecutive
// failures. It is the Go mirror of the predicate of Tx.CountAttempt, for
// refusing work (an SMS send) before any attempt is made.
func (st MFAState) Locked(now time.Time, p LockoutPolicy, capped bool) bool {
	return st.LockedUntil.After(now) || (capped && p.MaxFailures > 0 && st.Failures >= p.MaxFailures)
}

// justLocked reports whether the failure that brought the count here locked
// the account: CountAttempt locks at every multiple of LockEvery.
func (st MFAState) justLocked(p LockoutPolicy) bool {
	return p.LockEvery > 0 && st.Failures > 0 && st.Failures%p.LockEvery == 0
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

// refuseIfLocked answers 429 locked while second-factor attempts would be
// refused.
func (s *Service) refuseIfLocked(ctx context.Context, userID int64, capped bool) error {
	st, err := s.store.MFAState(ctx, userID)
	if err != nil {
		return err
	}
	if now := s.now(); st.Locked(now, s.cfg.Lockout, capped) {
		return s.lockedError(st, now, capped)
	}
	return nil
}

// verified is the result of a successful second-factor check.
type verified struct {
	method          string
	newRecoveryCode string // set when a recovery code was used (and replaced)
}

// verifyFactor checks a sign-in or step-up attempt (purpose PurposeLogin or
// PurposeReauth) of the session's user with one of the user's methods. A
// success clears the failures, makes method the preferred one (not for a
// recovery code) and, for a step-up, opens the session's step-up window,
// all in the attempt's transaction.
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
			return nil, Invalidf("method must be one of the account's methods: %v", methods.List())
		}
	}
	var f factor
	var rc *recoveryCodeFactor
	switch method {
	case MethodTOTP:
		f = &totpFactor{s: s, app: app, consumeStep: true}
	case MethodSMS:
		f = &smsFactor{s: s, p: p, purpose: purpose}
	case MethodRecoveryCode:
		rc = &recoveryCodeFactor{s: s, user: u, client: c}
		f = rc
	default:
		return nil, Invalidf("method %s is not available", method)
	}
	code, err := normalizeCode(f, code)
	if err != nil {
		return nil, err
	}
	preferred := method
	if method == MethodRecoveryCode {
		preferred = "" // the way out, not a method to offer first
	}
	err = s.run(ctx, attempt{
		user: u, factor: f, code: code, capped: method != MethodRecoveryCode, label: purpose, client: c,
		success: func(ctx context.Context, tx Tx, now time.Time) error {
			if err := tx.ClearFailures(ctx, u.ID, preferred); err != nil {
				return err
			}
			if purpose == PurposeReauth {
				if err := tx.SetReauth(ctx, p.Session.ID, method, now); err != nil {
					return err
				}
			}
			return tx.AddEvents(ctx, u.ID, s.event(u.ID, EventMFASucceeded, c, now, method+" "+purpose))
		},
	})
	if err != nil {
		return nil, err
	}
	v := &verified{method: method}
	if rc != nil {
		v.newRecoveryCode = rc.fresh
	}
	return v, nil
}
