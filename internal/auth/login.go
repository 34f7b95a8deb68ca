package auth

import (
	"context"
	"errors"
	"slices"
	"time"
)

// errInvalidCredentials is the one answer to every failed password check:
// unknown email and wrong password must be indistinguishable.
func errInvalidCredentials() *Error {
	return Errorf(KindInvalidCredentials, "The email or password is incorrect.")
}

// LoginResult is the outcome of a password login.
type LoginResult struct {
	Token              string
	Session            *Session
	User               *User
	MFARequired        bool
	EnrollmentRequired bool
	Methods            []string
	PreferredMethod    string
}

// maxPasswordInput bounds what is hashed, so a megabyte "password" cannot be
// used to burn CPU. It is in bytes, well above the policy's 256 characters
// for most scripts; ValidatePassword refuses a new password over it, so
// every password that can be set can be typed in.
const maxPasswordInput = 1024

// Login checks an email and password and opens a session: at aal2 for a user
// with no second factor (unless the role requires one), else at aal1, where
// only the challenge calls work. previousToken, if any, is the token the
// client already held; that session is ended (a login never keeps an old
// token alive).
func (s *Service) Login(ctx context.Context, email, password string, c Client, previousToken string) (*LoginResult, error) {
	email = NormalizeEmail(email)
	if email == "" {
		return nil, Invalidf("email is required")
	}
	if password == "" {
		return nil, Invalidf("password is required")
	}
	if len(email) > 254 || len(password) > maxPasswordInput {
		return nil, errInvalidCredentials()
	}
	now := s.now()

	keys := s.passwordThrottles(email, c.IP)
	if err := s.checkThrottles(ctx, keys.ip, keys.accountIP); err != nil {
		return nil, err
	}

	// An unknown email takes the same path, with the same database calls and
	// one hash, as a wrong password for a real account: neither the answer
	// nor its timing may tell them apart. Its user is a stand-in with id 0,
	// which no account has.
	u, err := s.store.UserByEmail(ctx, email)
	unknown := errors.Is(err, ErrNotFound)
	if unknown {
		u = &User{}
	} else if err != nil {
		return nil, err
	}

	// The per-account throttle slows distributed guessing, but never an IP
	// this account signed in from recently: the real user keeps getting in.
	known, err := s.store.HasSucceededFrom(ctx, u.ID, c.IP, now.Add(-s.cfg.KnownIPWindow))
	if err != nil {
		return nil, err
	}
	if !known {
		if err := s.checkThrottles(ctx, keys.account); err != nil {
			return nil, err
		}
	}

	var ok, rehash bool
	if unknown {
		err = s.hasher.VerifyDummy(ctx, password)
	} else {
		ok, rehash, err = s.hasher.Verify(ctx, password, u.PasswordHash)
	}
	if err != nil {
		return nil, s.hashError(err)
	}
	if !ok {
		s.failThrottles(ctx, keys.ip, keys.accountIP, keys.account)
		// For an unknown email the event belongs to no account (id 0); the
		// address typed is not kept: it is sometimes a password.
		detail := "wrong password"
		if unknown {
			detail = "unknown account"
		}
		s.addEvent(ctx, s.event(u.ID, EventLoginFailed, c, now, detail))
		return nil, errInvalidCredentials()
	}
	if rehash {
		s.rehash(ctx, u, password)
	}

	methods, err := s.methods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	res := &LoginResult{User: u, Methods: methods.List(), PreferredMethod: u.PreferredMethod}
	aal := AAL2
	switch {
	case methods.Any():
		aal, res.MFARequired = AAL1, true
	case s.roleRequiresMFA(u.Role):
		aal, res.EnrollmentRequired = AAL1, true
	}
	if !slices.Contains(res.Methods, res.PreferredMethod) {
		res.PreferredMethod = ""
	}

	tok, hash, err := s.newToken("")
	if err != nil {
		return nil, Internal(err)
	}
	// The session carries the password version the password was checked
	// under: if the password changed meanwhile, the session is dead on
	// arrival.
	sess := &Session{
		TokenHash: hash, UserID: u.ID, AAL: aal, CreatedAt: now, LastSeenAt: now,
		IP: c.IP, UserAgent: c.UserAgent, PasswordVersion: u.PasswordVersion,
	}
	if aal == AAL2 {
		sess.VerifiedAt = now
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	s.endPreviousSession(ctx, previousToken, sess.ID)
	detail := "password"
	if aal == AAL1 {
		detail = "password; second factor pending"
	}
	s.addEvent(ctx, s.event(u.ID, EventLoginSucceeded, c, now, detail))
	res.Token, res.Session = tok, sess
	return res, nil
}

// endPreviousSession deletes the session the client held before a login, so
// a fixed or stolen earlier token cannot ride along.
func (s *Service) endPreviousSession(ctx context.Context, token string, keep int64) {
	if token == "" {
		return
	}
	old, _, err := s.store.SessionByTokenHash(ctx, HashToken(token))
	if err != nil || old.ID == keep {
		return
	}
	if err := s.store.DeleteSession(ctx, old.ID); err != nil {
		s.logger.ErrorContext(ctx, "end previous session", "err", err)
	}
}

// rehash stores the password under the current hashing parameters, unless
// the password changed meanwhile (a compare-and-swap on the old hash, so an
// upgrade never brings back a password that was just replaced).
func (s *Service) rehash(ctx context.Context, u *User, password string) {
	h, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, h)
	}
	if err != nil {
		// The login still succeeds; the next one tries again.
		s.logger.WarnContext(ctx, "rehash password", "user_id", u.ID, "err", err)
	}
}

// throttleKey is one throttle and the key it counts under.
type throttleKey struct {
	th  Throttle
	key string
}

type throttleKeys struct{ ip, accountIP, account throttleKey }

// passwordThrottles returns the throttles a password attempt for email from
// ip counts against.
func (s *Service) passwordThrottles(email, ip string) throttleKeys {
	return throttleKeys{
		ip:        throttleKey{s.throttles.IP, "pw:ip:" + ip},
		accountIP: throttleKey{s.throttles.AccountIP, "pw:acct-ip:" + email + "|" + ip},
		account:   throttleKey{s.throttles.Account, "pw:acct:" + email},
	}
}

// checkThrottles answers 429 rate_limited when any of the keys must wait.
func (s *Service) checkThrottles(ctx context.Context, keys ...throttleKey) error {
	for _, k := range keys {
		if k.th == nil {
			continue
		}
		wait, err := k.th.Check(ctx, k.key)
		if err != nil {
			return err
		}
		if wait > 0 {
			return &Error{Kind: KindRateLimited, Message: "Too many failed attempts; try again later.", RetryAfter: wait}
		}
	}
	return nil
}

// failThrottles records a failed attempt against each key.
func (s *Service) failThrottles(ctx context.Context, keys ...throttleKey) {
	for _, k := range keys {
		if k.th == nil {
			continue
		}
		if err := k.th.Fail(ctx, k.key); err != nil {
			s.logger.ErrorContext(ctx, "record failed attempt", "err", err)
		}
	}
}

func (s *Service) hashError(err error) error {
	if s.isBusy(err) {
		return &Error{Kind: KindRateLimited, Message: "The server is busy; try again in a moment.", RetryAfter: time.Second, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindUnavailable, Message: "The request timed out; try again.", Err: err}
	}
	return Internal(err)
}

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
		return nil, Invalidf("method must be totp, sms or recovery_code")
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
