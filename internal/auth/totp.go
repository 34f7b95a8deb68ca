package auth

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/totp"
)

// totpFactor is an authenticator app as a factor of the attempt path: the
// active app at sign-in and step-up, or the pending one being confirmed.
type totpFactor struct {
	s   *Service
	app *TOTPFactor
	// consumeStep: the matched step is consumed by the replay guard (an
	// active app). A pending app's step is recorded when it is activated.
	consumeStep bool
	step        int64 // the matched step, after check
}

func (f *totpFactor) method() string { return MethodTOTP }

func (f *totpFactor) normalize(code string) (string, error) { return totp.NormalizeCode(code) }

func (f *totpFactor) check(_ context.Context, code string) (verdict, error) {
	secret, err := f.s.openTOTP(f.app)
	if err != nil {
		return verdict{}, err
	}
	step, ok := totp.Verify(secret, code, f.s.now(), f.s.cfg.TOTPSkew)
	if !ok {
		return verdict{reason: "wrong code"}, nil
	}
	f.step = step
	return verdict{replay: "replayed", consume: func(ctx context.Context, tx Tx) (bool, error) {
		if !f.consumeStep {
			return true, nil
		}
		// One conditional UPDATE: a code works once, also under concurrent
		// requests and across instances, and a code older than the last
		// accepted one is refused.
		return tx.ConsumeTOTPStep(ctx, f.app.ID, step)
	}}, nil
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
		return nil, Invalidf("the account email cannot be used in an authenticator label")
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

// ConfirmTOTP links the pending app if code comes from it. The code is an
// attempt like any other (counted toward the lockout); its success, in one
// transaction, destroys the earlier app, activates the new one with the
// confirming code's step consumed, replaces the recovery code, and ends
// every other session of the user.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string, c Client) (*ConfirmResult, error) {
	f := &totpFactor{s: s}
	code, err := normalizeCode(f, code)
	if err != nil {
		return nil, err
	}
	uid := p.User.ID
	active, pending, err := s.store.TOTPFactors(ctx, uid, s.now())
	if err != nil {
		return nil, err
	}
	// Only the session that started the enrolment (and stepped up for it)
	// may finish it: another session of the user never verified anything.
	if pending == nil || pending.SessionID != p.Session.ID {
		return nil, Errorf(KindConflict, "There is no pending authenticator app to confirm in this session; start again.")
	}
	f.app = pending
	fresh, rc, err := s.newRecoveryCode(uid, s.now())
	if err != nil {
		return nil, err
	}
	detail := "authenticator app added"
	if active != nil {
		detail = "replaced the earlier authenticator app"
	}
	err = s.run(ctx, attempt{
		user: p.User, factor: f, code: code, label: PurposeEnroll, client: c,
		success: func(ctx context.Context, tx Tx, now time.Time) error {
			if err := tx.ActivateTOTP(ctx, uid, pending.ID, f.step, now); err != nil {
				return err
			}
			return s.factorAdded(ctx, tx, p, rc,
				s.event(uid, EventTOTPEnrolled, c, now, detail),
				s.event(uid, EventRecoveryCodeGenerated, c, now, "issued with the new authenticator app"))
		},
	})
	if err != nil {
		return nil, err
	}
	return s.confirmed(ctx, p, fresh)
}

// factorAdded is what confirming any new factor changes beside the factor
// itself, in its transaction: a new recovery code replaces every earlier
// one, every other session ends (a user who adds a factor because they fear
// an intruder must not leave the intruder signed in), the failures are
// cleared, and the events recorded.
func (s *Service) factorAdded(ctx context.Context, tx Tx, p *Principal, rc *RecoveryCode, events ...*Event) error {
	uid := p.User.ID
	if err := tx.PutRecoveryCode(ctx, rc); err != nil {
		return err
	}
	if err := tx.DeleteOtherSessions(ctx, uid, p.Session.ID); err != nil {
		return err
	}
	if err := tx.ClearFailures(ctx, uid, ""); err != nil {
		return err
	}
	return tx.AddEvents(ctx, uid, events...)
}

// confirmed answers a confirmed factor: the new recovery code and, for an
// enrolment-only (aal1) session, which just proved the new factor, a
// promotion to aal2 under a new token.
func (s *Service) confirmed(ctx context.Context, p *Principal, recoveryCode string) (*ConfirmResult, error) {
	res := &ConfirmResult{RecoveryCode: recoveryCode}
	if p.Session.AAL < AAL2 {
		var err error
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
	removed, err := s.removeFactor(ctx, p.User.ID, Tx.DeleteTOTP, s.event(p.User.ID, EventTOTPRemoved, c, s.now(), "authenticator app removed"))
	if err != nil {
		return err
	}
	if !removed {
		return Errorf(KindNotFound, "There is no authenticator app to remove.")
	}
	return nil
}

// removeFactor deletes a factor with del and records the event, in one
// transaction; when that leaves the user no method, the recovery code goes
// too: a recovery code alone is not a method. It reports false, changing
// nothing, if there was no such active factor.
func (s *Service) removeFactor(ctx context.Context, userID int64, del func(Tx, context.Context, int64) (bool, error), e *Event) (bool, error) {
	removed := false
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if removed, err = del(tx, ctx, userID); err != nil || !removed {
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
		return tx.AddEvents(ctx, userID, e)
	})
	return removed, err
}
