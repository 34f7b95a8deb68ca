package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

func errUnauthenticated() *Error {
	return Errorf(KindUnauthenticated, "Sign in first: the session is missing, expired or revoked.")
}

// Authenticate returns the principal for a session token. Expired sessions
// are deleted and refused.
//
// The idle clock moves forward at most once per TouchEvery, and not on the
// request's path: the activity is kept in memory, counted at once by this
// instance, and written for all sessions together by FlushTouches. So
// checking a session is a pure read, and a request that writes anyway (a
// step-up, say) waits for one write, not two. What the lag costs is on the
// safe side: a crash, or another instance that has not flushed yet, can
// make a session idle out at most TouchEvery plus a flush interval early,
// never late.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > 128 {
		return nil, errUnauthenticated()
	}
	sess, u, err := s.store.SessionByTokenHash(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthenticated()
	}
	if err != nil {
		return nil, err
	}
	if seen, ok := s.touches.get(sess.ID); ok && seen.After(sess.LastSeenAt) {
		sess.LastSeenAt = seen
	}
	now := s.now()
	if now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle || now.Sub(sess.CreatedAt) >= s.cfg.SessionAbsolute {
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
			s.logger.ErrorContext(ctx, "delete expired session", "err", err)
		}
		return nil, errUnauthenticated()
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchEvery {
		s.touches.add(sess.ID, now)
		sess.LastSeenAt = now
	}
	return &Principal{Session: sess, User: u, Token: token}, nil
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	return s.store.DeleteSession(ctx, p.Session.ID)
}

// Gate says what an authenticated session may reach.
type Gate int

// The gates, from least to most.
const (
	GateChallenge  Gate = iota // aal1 with a second factor: only the sign-in calls
	GateEnrollment             // aal1, role requires MFA, no factor yet: sign-in and enrolment calls
	GateFull                   // aal2: everything its role allows
)

// GateFor decides, from the live factor set (never a cached flag), what the
// session may reach. An error fails closed.
func (s *Service) GateFor(ctx context.Context, p *Principal) (Gate, error) {
	if p.Session.AAL >= AAL2 {
		return GateFull, nil
	}
	methods, err := s.methods(ctx, p.User.ID)
	if err != nil {
		return GateChallenge, err
	}
	if !methods.Any() && s.roleRequiresMFA(p.User.Role) {
		return GateEnrollment, nil
	}
	return GateChallenge, nil
}

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
		return Errorf(KindInvalid, "current_password is required")
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
		return Errorf(KindInvalid, "password must be at most %d bytes", maxPasswordInput)
	}
	if s.validatePassword == nil {
		return nil
	}
	if err := s.validatePassword(pw, s.cfg.Issuer, email); err != nil {
		return &Error{Kind: KindInvalid, Message: err.Error()}
	}
	return nil
}

// ListEvents returns the user's recent security activity, newest first.
func (s *Service) ListEvents(ctx context.Context, p *Principal) ([]*Event, error) {
	return s.store.ListEvents(ctx, p.User.ID, 100)
}

// CreateAPIToken makes a bearer token for the admin API and returns it once.
func (s *Service) CreateAPIToken(ctx context.Context, name string, admin bool) (string, error) {
	if name == "" || len(name) > 100 {
		return "", Errorf(KindInvalid, "name is required (at most 100 characters)")
	}
	tok, hash, err := s.newToken("lk_")
	if err != nil {
		return "", Internal(err)
	}
	t := &APIToken{Name: name, TokenHash: hash, Admin: admin, CreatedAt: s.now()}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		return "", err
	}
	return tok, nil
}

// AuthenticateAPIToken returns the API token for a bearer value.
func (s *Service) AuthenticateAPIToken(ctx context.Context, token string) (*APIToken, error) {
	if len(token) < 4 || len(token) > 128 || token[:3] != "lk_" {
		return nil, errUnauthenticated()
	}
	t, err := s.store.APITokenByHash(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthenticated()
	}
	return t, err
}

// IsAPIToken reports whether a bearer value has the API token shape (as
// opposed to a session token).
func IsAPIToken(token string) bool { return len(token) > 3 && token[:3] == "lk_" }

// CleanupSessions deletes expired sessions. It writes the pending session
// activity first, so no session this instance has seen recently goes.
func (s *Service) CleanupSessions(ctx context.Context) (int64, error) {
	if err := s.FlushTouches(ctx); err != nil {
		return 0, err
	}
	now := s.now()
	return s.store.DeleteExpiredSessions(ctx, now.Add(-s.cfg.SessionIdle), now.Add(-s.cfg.SessionAbsolute))
}

// FlushTouches writes the session activity Authenticate has kept since the
// last flush. If that fails, the activity is kept for the next flush. The
// server calls it every second and at shutdown.
func (s *Service) FlushTouches(ctx context.Context) error {
	seen := s.touches.take()
	if len(seen) == 0 {
		return nil
	}
	if err := s.store.TouchSessions(ctx, seen); err != nil {
		s.touches.putBack(seen)
		return err
	}
	return nil
}

// RunTouches calls FlushTouches every interval until ctx ends, and once more
// then (with a few seconds of its own), logging failures.
func (s *Service) RunTouches(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.FlushTouches(ctx); err != nil {
				s.logger.WarnContext(ctx, "write session activity", "err", err)
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushTouches(final); err != nil {
				s.logger.WarnContext(final, "write session activity", "err", err)
			}
			return
		}
	}
}

// touches is session activity (session id → last seen) not yet written.
type touches struct {
	mu   sync.Mutex
	seen map[int64]time.Time
}

func (t *touches) add(id int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen = map[int64]time.Time{}
	}
	if at.After(t.seen[id]) {
		t.seen[id] = at
	}
}

func (t *touches) get(id int64) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.seen[id]
	return at, ok
}

// take returns the pending activity and forgets it.
func (t *touches) take() map[int64]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := t.seen
	t.seen = nil
	return seen
}

// putBack returns activity that could not be written, unless newer activity
// of the same session came in meanwhile.
func (t *touches) putBack(seen map[int64]time.Time) {
	for id, at := range seen {
		t.add(id, at)
	}
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
