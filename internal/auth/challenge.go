package auth

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ChallengeResult is the outcome of a successful sign-in second factor.
type ChallengeResult struct {
	Token           string // the new aal2 token; the aal1 token no longer works
	Session         *Session
	NewRecoveryCode string // set when the recovery code was used
}

// VerifyLogin completes the sign-in challenge of an aal1 session with a
// second factor, and rotates the session token to aal2.
func (s *Service) VerifyLogin(ctx context.Context, p *Principal, method, code string, c Client) (*ChallengeResult, error) {
	if p.Session.AAL >= AAL2 {
		return nil, Errorf(KindConflict, "This session has already passed the second factor.")
	}
	if method == MethodPassword || method == "" {
		return nil, Errorf(KindInvalid, "method must be totp, sms or recovery_code")
	}
	v, err := s.verifyFactor(ctx, p, method, code, PurposeLogin, c)
	if err != nil {
		return nil, err
	}
	tok, sess, err := s.promote(ctx, p)
	if err != nil {
		return nil, err
	}
	return &ChallengeResult{Token: tok, Session: sess, NewRecoveryCode: v.newRecoveryCode}, nil
}

// promote gives the session a new token at aal2. Only the request holding
// the current token can do it, once.
func (s *Service) promote(ctx context.Context, p *Principal) (string, *Session, error) {
	tok, hash, err := s.newToken("")
	if err != nil {
		return "", nil, Internal(err)
	}
	now := s.now()
	err = s.store.RotateSession(ctx, p.Session.ID, p.Session.TokenHash, hash, AAL2, now)
	if errors.Is(err, ErrNotFound) {
		return "", nil, errUnauthenticated()
	}
	if err != nil {
		return "", nil, err
	}
	sess := *p.Session
	sess.TokenHash, sess.AAL, sess.VerifiedAt = hash, AAL2, now
	return tok, &sess, nil
}

// ReauthResult is the outcome of a step-up.
type ReauthResult struct {
	Until           time.Time
	Method          string
	NewRecoveryCode string // set when the recovery code was used (and replaced)
}

// Reauth records an explicit step-up in this session: a fresh verification
// by an active method, or by password for a user with no second factor.
// Signing in never counts as one. An enrolment-only (aal1) session may step
// up only by password.
func (s *Service) Reauth(ctx context.Context, p *Principal, method, code, password string, c Client) (*ReauthResult, error) {
	if p.Session.AAL < AAL2 && method != MethodPassword {
		// An enrolment-only session has no factor to step up with.
		return nil, Errorf(KindEnrollmentRequired, "Add a second factor first.")
	}
	res := &ReauthResult{Method: method}
	switch method {
	case "":
		return nil, Errorf(KindInvalid, "method is required")
	case MethodPassword:
		methods, err := s.methods(ctx, p.User.ID)
		if err != nil {
			return nil, err
		}
		if methods.Any() {
			// With a second factor, the password alone is what a phisher
			// or a session thief is most likely to have.
			return nil, Errorf(KindInvalid, "method password is only for accounts without a second factor; use one of %v", methods.List())
		}
		if password == "" {
			return nil, Errorf(KindInvalid, "password is required")
		}
		if err := s.checkPassword(ctx, p.User, password, c); err != nil {
			return nil, err
		}
		if err := s.store.SetSessionReauth(ctx, p.Session.ID, method, s.now()); err != nil {
			return nil, err
		}
	default:
		if code == "" {
			return nil, Errorf(KindInvalid, "code is required")
		}
		// A successful verification records the step-up in its transaction.
		v, err := s.verifyFactor(ctx, p, method, code, PurposeReauth, c)
		if err != nil {
			return nil, err
		}
		res.NewRecoveryCode = v.newRecoveryCode
	}
	now := s.now()
	p.Session.ReauthAt, p.Session.ReauthMethod = now, method
	res.Until = now.Add(s.cfg.StepUpWindow)
	return res, nil
}

// ReauthUntil returns when the session's step-up window closes (zero if
// there is none open).
func (s *Service) ReauthUntil(p *Principal) time.Time {
	if p.Session.ReauthAt.IsZero() {
		return time.Time{}
	}
	until := p.Session.ReauthAt.Add(s.cfg.StepUpWindow)
	if !until.After(s.now()) {
		return time.Time{}
	}
	return until
}

// requireStepUp fails with 403 reauth_required unless the session stepped
// up in the window with one of allowed (nil: any method the user has, or
// password for a user with none).
func (s *Service) requireStepUp(ctx context.Context, p *Principal, allowed []string) error {
	if allowed == nil {
		methods, err := s.methods(ctx, p.User.ID)
		if err != nil {
			return err
		}
		allowed = methods.List()
		if len(allowed) == 0 {
			allowed = []string{MethodPassword}
		}
	}
	if !s.ReauthUntil(p).IsZero() && slices.Contains(allowed, p.Session.ReauthMethod) {
		return nil
	}
	return &Error{
		Kind:    KindReauthRequired,
		Message: "Verify it's you first: this change needs a fresh verification in this session.",
		Methods: allowed,
	}
}

// ChallengeInfo is what the challenge page offers.
type ChallengeInfo struct {
	Methods            []string
	PreferredMethod    string // the method used last, if the user still has it
	Selected           string // the method to pre-select ("" for none)
	EnrollmentRequired bool
}

// Challenge returns the methods the session's user can pass the challenge
// with, the one used last first, and the one to pre-select: the one used
// last, or else the first device (never the recovery code, the last resort).
func (s *Service) Challenge(ctx context.Context, p *Principal) (*ChallengeInfo, error) {
	m, err := s.methods(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	info := &ChallengeInfo{Methods: m.List(), EnrollmentRequired: !m.Any() && s.roleRequiresMFA(p.User.Role)}
	if slices.Contains(info.Methods, p.User.PreferredMethod) {
		info.PreferredMethod = p.User.PreferredMethod
	}
	info.Selected = info.PreferredMethod
	if info.Selected == "" && len(info.Methods) > 0 && info.Methods[0] != MethodRecoveryCode {
		info.Selected = info.Methods[0]
	}
	return info, nil
}
