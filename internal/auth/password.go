package auth

import "context"

// ChangePassword sets a new password and ends every other session of the
// user. Like every change to how the account is protected it needs a fresh
// step-up in this session (by a second factor the user has, or the
// password for a user with none): a holder of a stolen session and the
// password must not be able to evict the owner. The current password is
// checked too, throttled like a login. The new hash, the new password
// version and the end of the other sessions commit together, so a sign-in
// racing the change cannot keep a session made with the old password.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, c Client) error {
	if current == "" {
		return Invalidf("the current_password field is required")
	}
	if err := s.ValidatePassword(next, p.User.Email); err != nil {
		return err
	}
	if err := s.requireStepUp(ctx, p, nil); err != nil {
		return err
	}
	if err := s.checkPassword(ctx, p.User, current, c); err != nil {
		return err
	}
	h, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return s.hashError(err)
	}
	// A password change must cut off anyone who was using the old one.
	return s.setPassword(ctx, p.User.ID, h, p.Session.ID,
		s.event(p.User.ID, EventPasswordChanged, c, s.now(), "other sessions signed out"))
}

// checkPassword verifies the user's password for a signed-in action
// (password change, step-up without MFA), throttled like a login.
func (s *Service) checkPassword(ctx context.Context, u *User, password string, c Client) error {
	keys := s.passwordThrottles(u.Email, c.IP)
	if err := s.checkThrottles(ctx, keys.ip, keys.accountIP); err != nil {
		return err
	}
	if len(password) > maxPasswordInput {
		return errInvalidCredentials()
	}
	ok, _, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return s.hashError(err)
	}
	if !ok {
		s.failThrottles(ctx, keys.ip, keys.accountIP)
		return Errorf(KindInvalidCredentials, "The password is incorrect.")
	}
	return nil
}

// ValidatePassword applies the password policy (set by the wiring: the
// password package's) to a new password of the account with this email.
// The issuer name and the email are the context words the policy refuses
// inside a password (NIST SP 800-63B-4 §3.1.1.2).
func (s *Service) ValidatePassword(pw, email string) error {
	// The bound sign-in applies before hashing holds for new passwords too:
	// a password that could be set but never typed in would lock its owner
	// out.
	if len(pw) > maxPasswordInput {
		return Invalidf("password must be at most %d bytes", maxPasswordInput)
	}
	if s.validatePassword == nil {
		return nil
	}
	if err := s.validatePassword(pw, s.cfg.Issuer, email); err != nil {
		return Invalidf("%s", err)
	}
	return nil
}

// setPassword, in one transaction: sets the new hash and the new password
// version, ends every session of the user but keepSessionID (0: all),
// carries that one to the new version, and records the events. A session
// made with the old password meanwhile, by a sign-in that raced this,
// carries the old version and so is never usable.
func (s *Service) setPassword(ctx context.Context, userID int64, hash string, keepSessionID int64, events ...*Event) error {
	return s.store.InTx(ctx, func(tx Tx) error {
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
