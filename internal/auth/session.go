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
