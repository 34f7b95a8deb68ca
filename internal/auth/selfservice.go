package auth

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/totp"
)

// TOTPEnrollment is a started (pending) authenticator app enrolment. The
// secret is shown to the user once, here.
type TOTPEnrollment struct {
	Secret    string // base32, no padding
	URI       string // otpauth://
	QRPNG     []byte
	QRSVG     []byte
	ExpiresIn time.Duration
}

// StartTOTP starts (or restarts) a pending app enrolment. It needs a step-up
// by an active method (or the password for a user with none). The current
// app, if any, keeps working until the new one is confirmed.
func (s *Service) StartTOTP(ctx context.Context, p *Principal) (*TOTPEnrollment, error) {
	if err := s.requireStepUp(ctx, p, nil); err != nil {
		return nil, err
	}
	secret, err := totp.GenerateSecret(s.rand)
	if err != nil {
		return nil, Internal(err)
	}
	uri, err := totp.URI(s.cfg.Issuer, p.User.Email, secret)
	if err != nil {
		return nil, Errorf(KindInvalid, "the account email cannot be used in an authenticator label")
	}
	png, err := totp.QRPNG(uri, 6)
	if err != nil {
		return nil, Internal(err)
	}
	svg, err := totp.QRSVG(uri)
	if err != nil {
		return nil, Internal(err)
	}
	now := s.now()
	f := &TOTPFactor{
		UserID: p.User.ID, SessionID: p.Session.ID, State: FactorPending, LastStep: -1,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.PendingTOTP),
	}
	err = s.store.PutPendingTOTP(ctx, f, func(id int64) ([]byte, string, error) {
		return s.sealer.Seal(secret, totpAAD(p.User.ID, id))
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrollment{Secret: totp.EncodeSecret(secret), URI: uri, QRPNG: png, QRSVG: svg, ExpiresIn: s.cfg.PendingTOTP}, nil
}

// ConfirmResult is the outcome of confirming a new method.
type ConfirmResult struct {
	RecoveryCode string
	// Token is set when the confirmation also completed an enrolment-only
	// (aal1) session: the session is rotated to aal2.
	Token   string
	Session *Session
}

// ConfirmTOTP links the pending app if code comes from it: the earlier app
// is destroyed, the confirming code's step is consumed, and a new recovery
// code replaces every earlier one, all in one transaction.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string, c Client) (*ConfirmResult, error) {
	code, err := totp.NormalizeCode(code)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "code: " + err.Error()}
	}
	now := s.now()
	active, pending, err := s.store.TOTPFactors(ctx, p.User.ID, now)
	if err != nil {
		return nil, err
	}
	// Only the session that started the enrolment (and stepped up for it)
	// may finish it: another session of the user never verified anything.
	if pending == nil || pending.SessionID != p.Session.ID {
		return nil, Errorf(KindConflict, "There is no pending authenticator app to confirm in this session; start again.")
	}
	// Confirmation guesses count toward the same per-account lockout.
	state, admitted, err := s.store.BeginMFAAttempt(ctx, p.User.ID, now, s.cfg.Lockout, false)
	if err != nil {
		return nil, err
	}
	if !admitted {
		return nil, s.lockedError(state, now, false)
	}
	secret, err := s.openTOTP(pending)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Verify(secret, code, now, s.cfg.TOTPSkew)
	if !ok {
		s.recordFailure(ctx, p.User.ID, state, c, now, "totp enroll: wrong code")
		return nil, errInvalidCode()
	}
	fresh, rc, err := s.newRecoveryCode(p.User.ID, now)
	if err != nil {
		return nil, err
	}
	detail := "authenticator app added"
	if active != nil {
		detail = "replaced the earlier authenticator app"
	}
	// Every other session ends with the change: a user who adds a factor
	// because they fear an intruder must not leave the intruder signed in.
	err = s.store.ActivateTOTP(ctx, p.User.ID, p.Session.ID, pending.ID, step, now, rc,
		s.event(p.User.ID, EventTOTPEnrolled, c, now, detail),
		s.event(p.User.ID, EventRecoveryCodeGenerated, c, now, "issued with the new authenticator app"))
	if err != nil {
		return nil, err
	}
	if err := s.store.ResetMFAFailures(ctx, p.User.ID); err != nil {
		return nil, err
	}
	res := &ConfirmResult{RecoveryCode: fresh}
	if p.Session.AAL < AAL2 {
		// The user just proved the new factor: an enrolment-only session
		// becomes a full one, under a new token.
		if res.Token, res.Session, err = s.promote(ctx, p); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// RemoveTOTP unlinks the authenticator app. It needs a step-up; removing the
// last method of a user whose role requires MFA is refused.
func (s *Service) RemoveTOTP(ctx context.Context, p *Principal, c Client) error {
	if err := s.requireStepUp(ctx, p, nil); err != nil {
		return err
	}
	methods, err := s.methods(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if !methods.TOTP {
		return Errorf(KindNotFound, "There is no authenticator app to remove.")
	}
	if !methods.SMS && s.roleRequiresMFA(p.User.Role) {
		return Errorf(KindConflict, "Your role requires a second factor: add another method before removing this one.")
	}
	removed, err := s.store.DeleteTOTP(ctx, p.User.ID, s.event(p.User.ID, EventTOTPRemoved, c, s.now(), "authenticator app removed"))
	if err != nil {
		return err
	}
	if !removed {
		return Errorf(KindNotFound, "There is no authenticator app to remove.")
	}
	return nil
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
	if err := s.store.ReplaceRecoveryCode(ctx, rc, s.event(p.User.ID, EventRecoveryCodeGenerated, c, now, "requested by the user")); err != nil {
		return "", err
	}
	return fresh, nil
}

// Security is the user's "Password & Security" overview.
type Security struct {
	TOTPEnabled    bool
	TOTPEnrolledAt time.Time
	TOTPPending    bool
	SMSEnabled     bool
	Phone          string // masked
	PhonePending   bool
	RecoveryCode   bool
	RecoveryCodeAt time.Time
	Methods        []string
	ReauthUntil    time.Time
	ReauthMethod   string
}

// SecurityOverview returns what the settings page shows. It never contains
// a secret.
func (s *Service) SecurityOverview(ctx context.Context, p *Principal) (*Security, error) {
	now := s.now()
	active, pending, err := s.store.TOTPFactors(ctx, p.User.ID, now)
	if err != nil {
		return nil, err
	}
	methods, err := s.methods(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	// A pending enrolment shows only in the session that can confirm it.
	out := &Security{Methods: methods.List(), TOTPPending: pending != nil && pending.SessionID == p.Session.ID, SMSEnabled: methods.SMS}
	if active != nil {
		out.TOTPEnabled, out.TOTPEnrolledAt = true, active.ConfirmedAt
	}
	if s.smsStore != nil {
		phone, pendingPhone, err := s.smsStore.Phones(ctx, p.User.ID)
		if err != nil {
			return nil, err
		}
		if phone != nil {
			out.Phone = s.mask(phone.Number)
		}
		out.PhonePending = pendingPhone != nil && pendingPhone.SessionID == p.Session.ID
	}
	rc, err := s.store.RecoveryCode(ctx, p.User.ID)
	switch {
	case err == nil:
		out.RecoveryCode, out.RecoveryCodeAt = true, rc.CreatedAt
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	if until := s.ReauthUntil(p); !until.IsZero() {
		out.ReauthUntil, out.ReauthMethod = until, p.Session.ReauthMethod
	}
	return out, nil
}
