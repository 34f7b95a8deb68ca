package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/totp"
)

// SMS is the SMS method's outside world: phone numbers, message texts and
// delivery. The rules (who may send, limits, codes) stay in this package.
type SMS interface {
	// ParseNumber turns user input into E.164, applying the country
	// allow-list; its error message is fit to show the user.
	ParseNumber(input string) (string, error)
	// Mask shows a number without revealing it ("+1•••••••2671").
	Mask(number string) string
	// NewCode returns 6 uniformly random digits.
	NewCode() (string, error)
	// CodeText is the SMS carrying a code for purpose.
	CodeText(purpose, code string) string
	// NoticeText is the SMS telling an old number it was changed or removed.
	NoticeText(changed bool) string
	// Send delivers one SMS; an error means it was not delivered.
	Send(ctx context.Context, to, text, purpose string) error
}

// macPurposeSMS separates the SMS-code MAC key from other uses of the keys.
const macPurposeSMS = "sms-code"

// SMSSent is what a client is told about a sent code.
type SMSSent struct {
	Phone     string // masked
	ExpiresIn time.Duration
}

func (s *Service) smsEnabled() error {
	if s.sms == nil || s.smsStore == nil {
		return Errorf(KindForbidden, "SMS is switched off on this server.")
	}
	return nil
}

// SendLoginSMS sends a sign-in code to the active number of an aal1
// session's user. Only a password-verified session can cause a send.
func (s *Service) SendLoginSMS(ctx context.Context, p *Principal, c Client) (*SMSSent, error) {
	if p.Session.AAL >= AAL2 {
		return nil, Errorf(KindConflict, "This session has already passed the second factor.")
	}
	return s.sendToActive(ctx, p, PurposeLogin, c)
}

// SendReauthSMS sends a step-up code to the user's current number.
func (s *Service) SendReauthSMS(ctx context.Context, p *Principal, c Client) (*SMSSent, error) {
	return s.sendToActive(ctx, p, PurposeReauth, c)
}

func (s *Service) sendToActive(ctx context.Context, p *Principal, purpose string, c Client) (*SMSSent, error) {
	if err := s.smsEnabled(); err != nil {
		return nil, err
	}
	active, _, err := s.smsStore.Phones(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if active == nil {
		return nil, Errorf(KindConflict, "There is no phone number on this account to send a code to.")
	}
	// A locked account gets no code: it could not use it, and every send
	// costs money.
	if err := s.refuseIfLocked(ctx, p.User.ID, true); err != nil {
		return nil, err
	}
	return s.sendCode(ctx, p, purpose, active.Number, c)
}

// sendCode reserves a send under every cap (in the database), delivers the
// code, and undoes the reservation if delivery fails, so a provider outage
// changes nothing and the user can simply try again.
func (s *Service) sendCode(ctx context.Context, p *Principal, purpose, number string, c Client) (*SMSSent, error) {
	code, err := s.sms.NewCode()
	if err != nil {
		return nil, Internal(err)
	}
	keyID := s.sealer.PrimaryID()
	h, err := s.smsHash(keyID, purpose, number, code)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rc := &SMSCode{
		UserID: p.User.ID, SessionID: p.Session.ID, Purpose: purpose, Number: number,
		Hash: h, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SMSCodeTTL),
	}
	refusal, err := s.smsStore.ReserveSMS(ctx, rc, c.IP, now, SMSCaps(s.cfg.SMSLimits))
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal.Err(now)
	}
	if err := s.sms.Send(ctx, number, s.sms.CodeText(purpose, code), purpose); err != nil {
		if cerr := s.smsStore.CancelSMS(context.WithoutCancel(ctx), rc.ID); cerr != nil {
			s.logger.ErrorContext(ctx, "cancel sms reservation", "err", cerr)
		}
		// The provider's error (never the text) is logged; the user sees 502.
		return nil, &Error{Kind: KindSMSUnavailable, Message: "The text message could not be sent; try again in a moment.", Err: err}
	}
	return &SMSSent{Phone: s.sms.Mask(number), ExpiresIn: s.cfg.SMSCodeTTL}, nil
}

// smsHash is the stored form of an SMS code: an HMAC under a server key
// over the code and what it is bound to. Six digits alone would fall to a
// plain hash in microseconds; the key keeps a database leak from giving them.
func (s *Service) smsHash(keyID, purpose, number, code string) ([]byte, error) {
	mac, err := s.sealer.MAC(keyID, macPurposeSMS, []byte(purpose+"\x00"+number+"\x00"+code))
	if err != nil {
		return nil, Internal(err)
	}
	return append([]byte(keyID+":"), mac...), nil
}

// smsFactor is a code sent by SMS as a factor of the attempt path: the
// live code of (user, session, purpose), good only if it was sent to number
// (the active number when number is "").
type smsFactor struct {
	s       *Service
	p       *Principal
	purpose string
	number  string
}

func (f *smsFactor) method() string { return MethodSMS }

// normalize accepts 6 digits, with spaces and dashes ignored.
func (f *smsFactor) normalize(code string) (string, error) { return totp.NormalizeCode(code) }

// check compares code with the live code in constant time. Wrong tries
// count against the code too; at SMSMaxAttempts it is void.
func (f *smsFactor) check(ctx context.Context, code string) (verdict, error) {
	s, p := f.s, f.p
	if err := s.smsEnabled(); err != nil {
		return verdict{}, err
	}
	number := f.number
	if number == "" {
		active, _, err := s.smsStore.Phones(ctx, p.User.ID)
		if err != nil {
			return verdict{}, err
		}
		if active == nil {
			return verdict{reason: "no phone"}, nil
		}
		number = active.Number
	}
	now := s.now()
	live, err := s.smsStore.LiveSMSCode(ctx, p.User.ID, p.Session.ID, f.purpose, now, s.cfg.SMSMaxAttempts)
	if errors.Is(err, ErrNotFound) {
		return verdict{reason: "no live code for this session and purpose"}, nil
	}
	if err != nil {
		return verdict{}, err
	}
	keyID, reason, err := s.storedKeyID(ctx, live.Hash, "sms code", p.User.ID)
	if err != nil || reason != "" {
		return verdict{reason: reason}, err
	}
	// The number is part of the MAC: a code sent to A does not confirm B.
	h, err := s.smsHash(keyID, f.purpose, number, code)
	if err != nil {
		return verdict{}, err
	}
	if subtle.ConstantTimeCompare(h, live.Hash) != 1 {
		return verdict{reason: "wrong code", fail: func(ctx context.Context, tx Tx) error {
			// ErrNotFound: a new send replaced the code meanwhile; still wrong.
			if err := tx.FailSMSCode(ctx, live.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return nil
		}}, nil
	}
	return verdict{replay: "replayed", consume: func(ctx context.Context, tx Tx) (bool, error) {
		return tx.UseSMSCode(ctx, live.ID, now, s.cfg.SMSMaxAttempts)
	}}, nil
}

// StartPhone sends a code to a new number, to add it or to replace the
// current one. Replacing needs a step-up made by an SMS code sent to the
// current number; adding needs a step-up by any active method.
func (s *Service) StartPhone(ctx context.Context, p *Principal, input string, c Client) (*SMSSent, error) {
	if err := s.smsEnabled(); err != nil {
		return nil, err
	}
	number, err := s.sms.ParseNumber(input)
	if err != nil {
		return nil, Invalidf("%s", err)
	}
	active, _, err := s.smsStore.Phones(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	var allowed []string
	if active != nil {
		// Proof of the current phone: a stolen session plus another factor
		// must not be enough to move the SMS factor to the thief's phone.
		allowed = []string{MethodSMS}
	}
	if err := s.requireStepUp(ctx, p, allowed); err != nil {
		return nil, err
	}
	if active != nil && active.Number == number {
		return nil, Errorf(KindConflict, "This is already your phone number.")
	}
	// Send first: if delivery fails nothing has changed.
	sent, err := s.sendCode(ctx, p, PurposeEnroll, number, c)
	if err != nil {
		return nil, err
	}
	pending := &Phone{UserID: p.User.ID, SessionID: p.Session.ID, Number: number, State: FactorPending, CreatedAt: s.now()}
	if err := s.smsStore.PutPendingPhone(ctx, pending); err != nil {
		return nil, err
	}
	return sent, nil
}

// ConfirmPhone activates the pending number with the code sent to it, in
// this session. The code is an attempt like any other (counted toward the
// lockout); its success, in one transaction, replaces the earlier number,
// replaces the recovery code and ends every other session of the user. The
// earlier number is then told.
func (s *Service) ConfirmPhone(ctx context.Context, p *Principal, code string, c Client) (*ConfirmResult, error) {
	if err := s.smsEnabled(); err != nil {
		return nil, err
	}
	f := &smsFactor{s: s, p: p, purpose: PurposeEnroll}
	code, err := normalizeCode(f, code)
	if err != nil {
		return nil, err
	}
	uid := p.User.ID
	active, pending, err := s.smsStore.Phones(ctx, uid)
	if err != nil {
		return nil, err
	}
	// Only the session that started the change (and stepped up for it) may
	// finish it.
	if pending == nil || pending.SessionID != p.Session.ID {
		return nil, Errorf(KindConflict, "There is no pending phone number to confirm in this session; add it again.")
	}
	f.number = pending.Number
	fresh, rc, err := s.newRecoveryCode(uid, s.now())
	if err != nil {
		return nil, err
	}
	detail := "phone " + s.sms.Mask(pending.Number) + " added"
	if active != nil {
		detail = "phone " + s.sms.Mask(pending.Number) + " replaced " + s.sms.Mask(active.Number)
	}
	err = s.run(ctx, attempt{
		user: p.User, factor: f, code: code, label: PurposeEnroll, client: c,
		success: func(ctx context.Context, tx Tx, now time.Time) error {
			if err := tx.ActivatePhone(ctx, uid, pending.ID, now); err != nil {
				return err
			}
			return s.factorAdded(ctx, tx, p, rc,
				s.event(uid, EventPhoneAdded, c, now, detail),
				s.event(uid, EventRecoveryCodeGenerated, c, now, "issued with the new phone"))
		},
	})
	if err != nil {
		return nil, err
	}
	if active != nil {
		s.sendNotice(ctx, uid, active.Number, true, c)
	}
	return s.confirmed(ctx, p, fresh)
}

// RemovePhone removes the SMS method. It needs a step-up by any active
// method — the way out for a user who lost the phone — and the removed
// number is told.
func (s *Service) RemovePhone(ctx context.Context, p *Principal, c Client) error {
	if err := s.requireStepUp(ctx, p, nil); err != nil {
		return err
	}
	methods, err := s.methods(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if !methods.SMS || s.smsStore == nil {
		return Errorf(KindNotFound, "There is no phone number to remove.")
	}
	if !methods.TOTP && s.roleRequiresMFA(p.User.Role) {
		return Errorf(KindConflict, "Your role requires a second factor: add another method before removing this one.")
	}
	active, _, err := s.smsStore.Phones(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if active == nil { // removed meanwhile, by a request beside this one
		return Errorf(KindNotFound, "There is no phone number to remove.")
	}
	removed, err := s.removeFactor(ctx, p.User.ID, Tx.DeletePhone,
		s.event(p.User.ID, EventPhoneRemoved, c, s.now(), "phone "+s.mask(active.Number)+" removed"))
	if err != nil {
		return err
	}
	if !removed {
		return Errorf(KindNotFound, "There is no phone number to remove.")
	}
	s.sendNotice(ctx, p.User.ID, active.Number, false, c)
	return nil
}

// sendNotice tells a number it was changed or removed. A failed notice
// does not undo the change; it is logged.
func (s *Service) sendNotice(ctx context.Context, userID int64, number string, changed bool, c Client) {
	if s.sms == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.sms.Send(ctx, number, s.sms.NoticeText(changed), PurposeNotice); err != nil {
		s.logger.WarnContext(ctx, "sms notice not delivered", "user_id", userID, "err", err)
		return
	}
	if err := s.smsStore.RecordSMSNotice(ctx, userID, number, c.IP, s.now()); err != nil {
		s.logger.ErrorContext(ctx, "record sms notice", "err", err)
	}
}

func (s *Service) mask(number string) string {
	if s.sms == nil {
		return "a number"
	}
	return s.sms.Mask(number)
}
