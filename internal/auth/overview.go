package auth

import (
	"context"
	"errors"
	"time"
)

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

// ListEvents returns the user's recent security activity, newest first.
func (s *Service) ListEvents(ctx context.Context, p *Principal) ([]*Event, error) {
	return s.store.ListEvents(ctx, p.User.ID, 100)
}
