package auth

import (
	"context"
	"slices"
	"time"
)

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
		return nil, Invalidf("method is required")
	case MethodPassword:
		methods, err := s.methods(ctx, p.User.ID)
		if err != nil {
			return nil, err
		}
		if methods.Any() {
			// With a second factor, the password alone is what a phisher
			// or a session thief is most likely to have.
			return nil, Invalidf("method password is only for accounts without a second factor; use one of %v", methods.List())
		}
		if password == "" {
			return nil, Invalidf("password is required")
		}
		if err := s.checkPassword(ctx, p.User, password, c); err != nil {
			return nil, err
		}
		if err := s.store.SetSessionReauth(ctx, p.Session.ID, method, s.now()); err != nil {
			return nil, err
		}
	default:
		if code == "" {
			return nil, Invalidf("code is required")
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
