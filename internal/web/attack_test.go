package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// The tests in this file close the gaps an attack review found: each fails
// if the rule it names is taken out of the code.

// TestChangePasswordNeedsStepUpByFactor: for a user with a second factor,
// a password change needs a step-up by that factor; the password (which a
// session thief may well have) is not offered for it.
func TestChangePasswordNeedsStepUpByFactor(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		secret, _, owner := h.totpUser(t, "pia@example.com")
		intruder := h.signIn(t, "pia@example.com", secret)
		const next = "an entirely different passphrase"
		change := func() *response {
			t.Helper()
			return h.do(req{method: "POST", path: "/api/v1/me/password", token: intruder,
				body: map[string]string{"current_password": pw, "new_password": next}})
		}
		r := change().want(t, 403, "reauth_required")
		if m := r.json(t)["error"].(map[string]any)["methods"]; fmt.Sprint(m) != "[totp recovery_code]" {
			t.Errorf("got methods %v, want [totp recovery_code]", m)
		}
		h.do(req{method: "POST", path: "/api/v1/me/reauth", token: intruder,
			body: map[string]string{"method": "password", "password": pw}}).want(t, 400, "invalid_request")
		change().want(t, 403, "reauth_required")
		h.do(req{method: "GET", path: "/api/v1/session", token: owner}).want(t, 200)

		h.reauth(intruder, "totp", h.freshCode(t, secret)).want(t, 200)
		change().want(t, 204)
		h.do(req{method: "GET", path: "/api/v1/session", token: owner}).want(t, 401, "unauthenticated")
	})
}

// TestEnrolmentEndsOtherSessions: adding or changing a factor ends every
// other session of the user, whatever its level, so an intruder who had
// only the password does not stay signed in; the confirming session and
// other users' sessions go on.
func TestEnrolmentEndsOtherSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		bystander := func(t *testing.T, name string) string {
			t.Helper()
			h.addUser("bystander-"+name+"@example.com", pw, "")
			return h.loginAAL2(t, "bystander-"+name+"@example.com")
		}
		tests := []struct {
			name string
			// run sets up a user, signs in the sessions that must end, and
			// makes the change in another session, whose token it returns.
			run func(t *testing.T, email string) (changer string, ended []string)
		}{
			{"FirstApp", func(t *testing.T, email string) (string, []string) {
				h.addUser(email, pw, "")
				intruder := h.loginAAL2(t, email)
				owner := h.loginAAL2(t, email)
				h.reauthPassword(t, owner)
				h.confirmTOTP(t, owner, h.startTOTP(t, owner).secret)
				return owner, []string{intruder}
			}},
			{"ChangedApp", func(t *testing.T, email string) (string, []string) {
				secret, _, first := h.totpUser(t, email)
				waiting := h.loginAAL1(t, email) // a password-only session at the challenge
				owner := h.signIn(t, email, secret)
				h.reauth(owner, "totp", h.freshCode(t, secret)).want(t, 200)
				h.confirmTOTP(t, owner, h.startTOTP(t, owner).secret)
				return owner, []string{first, waiting}
			}},
			{"FirstPhone", func(t *testing.T, email string) (string, []string) {
				h.addUser(email, pw, "")
				intruder := h.loginAAL2(t, email)
				owner := h.loginAAL2(t, email)
				h.reauthPassword(t, owner)
				h.addPhone(t, owner, numberA)
				return owner, []string{intruder}
			}},
			{"ChangedPhone", func(t *testing.T, email string) (string, []string) {
				_, owner := h.phoneUser(t, email, numberB)
				waiting := h.loginAAL1(t, email)
				h.smsStepUp(t, owner, numberB)
				h.addPhone(t, owner, numberC)
				return owner, []string{waiting}
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				name := strings.ToLower(tc.name)
				other := bystander(t, name)
				changer, ended := tc.run(t, name+"@example.com")
				for i, tok := range ended {
					if r := h.do(req{method: "GET", path: "/api/v1/session", token: tok}); r.status != 401 {
						t.Errorf("other session %d: got status %d, want 401", i, r.status)
					}
				}
				h.do(req{method: "GET", path: "/api/v1/session", token: changer}).want(t, 200)
				h.do(req{method: "GET", path: "/api/v1/session", token: other}).want(t, 200)
			})
		}
	})
}

// TestPendingEnrolmentBoundToSession: a pending app or phone can be
// confirmed only in the session that started it (and stepped up for it);
// another session of the user, which never stepped up, gets 409 and no
// recovery code, and the enrolment is still there for its own session.
func TestPendingEnrolmentBoundToSession(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		t.Run("App", func(t *testing.T) {
			h.addUser("app@example.com", pw, "")
			starter, other := h.loginAAL2(t, "app@example.com"), h.loginAAL2(t, "app@example.com")
			h.reauthPassword(t, starter)
			secret := h.startTOTP(t, starter).secret
			if pending := h.security(t, other)["totp"].(map[string]any)["pending"]; pending != false {
				t.Errorf("other session sees pending %v, want false", pending)
			}
			r := h.do(req{method: "POST", path: "/api/v1/me/totp/confirm", token: other,
				body: map[string]string{"code": totpCode(t, secret, h.clock.Now())}}).want(t, 409, "conflict")
			if _, ok := r.json(t)["recovery_code"]; ok {
				t.Fatal("the other session received a recovery code")
			}
			if on := h.security(t, other)["totp"].(map[string]any)["enabled"]; on != false {
				t.Fatalf("app enabled %v after the other session's try, want false", on)
			}
			h.confirmTOTP(t, starter, secret)
		})
		t.Run("Phone", func(t *testing.T) {
			h.addUser("phone@example.com", pw, "")
			starter, other := h.loginAAL2(t, "phone@example.com"), h.loginAAL2(t, "phone@example.com")
			h.reauthPassword(t, starter)
			h.clock.Advance(smsCooldown)
			h.startPhone(starter, numberD).want(t, 202)
			code := h.sms.lastCode(t, numberD)
			h.confirmPhone(other, code).want(t, 409, "conflict")
			if on := h.smsState(t, other)["enabled"]; on != false {
				t.Fatalf("phone enabled %v after the other session's try, want false", on)
			}
			h.confirmPhone(starter, code).want(t, 200)
		})
	})
}

// gateHasher holds the next Verify, once armed, until released: it lets a
// test run a password change while a sign-in is between reading the user
// and creating its session.
type gateHasher struct {
	auth.PasswordHasher
	armed    atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func (g *gateHasher) Verify(ctx context.Context, password, phc string) (bool, bool, error) {
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		select {
		case <-g.released:
		case <-time.After(10 * time.Second):
		}
	}
	return g.PasswordHasher.Verify(ctx, password, phc)
}

// TestSignInRacingPasswordChange: a sign-in that checked the old password
// while the password was being changed never holds a working session: the
// session carries the password version it was made under, which the change
// moved on in the same transaction that ended the other sessions.
func TestSignInRacingPasswordChange(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		gate := &gateHasher{entered: make(chan struct{}), released: make(chan struct{})}
		h := newHarness(t, dsn, withHasher(func(inner auth.PasswordHasher) auth.PasswordHasher {
			gate.PasswordHasher = inner
			return gate
		}))
		h.addUser("race@example.com", pw, "")
		owner := h.loginAAL2(t, "race@example.com")
		h.reauthPassword(t, owner)

		gate.armed.Store(true)
		racer := make(chan *response, 1)
		go func() {
			racer <- h.do(req{method: "POST", path: "/api/v1/login",
				body: map[string]string{"email": "race@example.com", "password": pw}})
		}()
		select {
		case <-gate.entered: // the sign-in read the old hash and is checking it
		case <-time.After(10 * time.Second):
			t.Fatal("the sign-in never reached the password check")
		}
		h.do(req{method: "POST", path: "/api/v1/me/password", token: owner,
			body: map[string]string{"current_password": pw, "new_password": "the password after the change"}}).want(t, 204)
		close(gate.released)
		r := <-racer
		if r.status == 200 {
			tok := r.str(t, "session_token")
			h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 401, "unauthenticated")
		} else {
			r.want(t, 401, "invalid_credentials")
		}
		h.do(req{method: "GET", path: "/api/v1/session", token: owner}).want(t, 200)
	})
}

// workLog records, in order, the store calls and hashes a request makes.
type workLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *workLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, name)
}

// take returns the calls so far and forgets them.
func (l *workLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// countingStore logs every store call a password sign-in can make.
type countingStore struct {
	*store.DB
	log *workLog
}

func (s countingStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	s.log.add("UserByEmail")
	return s.DB.UserByEmail(ctx, email)
}

func (s countingStore) UserByID(ctx context.Context, id int64) (*auth.User, error) {
	s.log.add("UserByID")
	return s.DB.UserByID(ctx, id)
}

func (s countingStore) HasSucceededFrom(ctx context.Context, userID int64, ip string, since time.Time) (bool, error) {
	s.log.add("HasSucceededFrom")
	return s.DB.HasSucceededFrom(ctx, userID, ip, since)
}

func (s countingStore) AddEvent(ctx context.Context, e *auth.Event) error {
	s.log.add("AddEvent " + e.Type)
	return s.DB.AddEvent(ctx, e)
}

func (s countingStore) MFAMethods(ctx context.Context, userID int64) (auth.MethodSet, error) {
	s.log.add("MFAMethods")
	return s.DB.MFAMethods(ctx, userID)
}

func (s countingStore) CreateSession(ctx context.Context, sess *auth.Session) error {
	s.log.add("CreateSession")
	return s.DB.CreateSession(ctx, sess)
}

func (s countingStore) ReplacePasswordHash(ctx context.Context, userID int64, oldHash, newHash string) error {
	s.log.add("ReplacePasswordHash")
	return s.DB.ReplacePasswordHash(ctx, userID, oldHash, newHash)
}

// countingHasher logs every hash; a dummy check counts as a check.
type countingHasher struct {
	auth.PasswordHasher
	log *workLog
}

func (c countingHasher) Hash(ctx context.Context, password string) (string, error) {
	c.log.add("hash")
	return c.PasswordHasher.Hash(ctx, password)
}

func (c countingHasher) Verify(ctx context.Context, password, phc string) (bool, bool, error) {
	c.log.add("verify")
	return c.PasswordHasher.Verify(ctx, password, phc)
}

func (c countingHasher) VerifyDummy(ctx context.Context, password string) error {
	c.log.add("verify")
	return c.PasswordHasher.VerifyDummy(ctx, password)
}

// TestLoginWorkSameForUnknownEmail: a wrong password for a real account and
// any password for an unknown email make the same store calls, in the same
// order, and one password check each (the dummy hash for the unknown one),
// so timing cannot tell them apart. Work is counted, not timed: a timing
// test would flake on a shared machine. And the 1 KiB bound: an oversized
// password is refused before anything is hashed, at sign-in and at a
// password step-up.
func TestLoginWorkSameForUnknownEmail(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		log := &workLog{}
		h := newHarness(t, dsn,
			withStore(func(db *store.DB) auth.Store { return countingStore{db, log} }),
			withHasher(func(inner auth.PasswordHasher) auth.PasswordHasher { return countingHasher{inner, log} }))
		h.addUser("real@example.com", pw, "")
		login := func(email, password string) *response {
			t.Helper()
			return h.do(req{method: "POST", path: "/api/v1/login", header: map[string]string{"X-Forwarded-For": "198.51.100.20"},
				body: map[string]string{"email": email, "password": password}})
		}
		log.take()

		login("real@example.com", "not the password").want(t, 401, "invalid_credentials")
		real := log.take()
		login("nobody@example.com", "not the password").want(t, 401, "invalid_credentials")
		unknown := log.take()
		if !slices.Equal(real, unknown) {
			t.Errorf("wrong password did %v,\nunknown email did %v; want the same work", real, unknown)
		}
		if n := strings.Count(strings.Join(unknown, ","), "verify"); n != 1 {
			t.Errorf("unknown email: %d password checks, want 1 (the dummy hash)", n)
		}
		if !slices.Contains(real, "AddEvent "+auth.EventLoginFailed) {
			t.Errorf("wrong password did %v, want a login_failed event", real)
		}

		long := strings.Repeat("x", 1025)
		login("real@example.com", long).want(t, 401, "invalid_credentials")
		if got := log.take(); slices.Contains(got, "verify") || slices.Contains(got, "hash") {
			t.Errorf("a 1025-byte password at sign-in did %v, want no hashing", got)
		}
		tok := h.loginAAL2(t, "real@example.com")
		log.take()
		h.do(req{method: "POST", path: "/api/v1/me/reauth", token: tok,
			body: map[string]string{"method": "password", "password": long}}).want(t, 401, "invalid_credentials")
		if got := log.take(); slices.Contains(got, "verify") || slices.Contains(got, "hash") {
			t.Errorf("a 1025-byte password at step-up did %v, want no hashing", got)
		}
	})
}

// TestStepUpKeepsToken: a step-up is a decision about this session, not a
// new sign-in: the token stays the same (no new token is issued or set as a
// cookie) and keeps working.
func TestStepUpKeepsToken(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		secret, _, tok := h.totpUser(t, "keep@example.com")
		r := h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
		if _, ok := r.json(t)["session_token"]; ok {
			t.Errorf("step-up answered a session_token: %s", r.body)
		}
		if c := r.header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("step-up set cookies %v", c)
		}
		if until := r.str(t, "reauth_until"); until == "" {
			t.Errorf("step-up answered %s, want reauth_until", r.body)
		}
		h.do(req{method: "GET", path: "/api/v1/session", token: tok}).want(t, 200)
		if until := h.security(t, tok)["reauth_until"]; until == nil {
			t.Error("the step-up is not recorded on the session the token names")
		}
	})
}

// TestPasswordPolicyContext: the policy is applied with the issuer name and
// the account's email as context words, wherever a password is set.
func TestPasswordPolicyContext(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	tests := []struct{ email, password string }{
		{"ann@example.com", "Latchkey1"},
		{"ann@example.com", "my latchkey password"},
		{"ann@example.com", "aaaaaaaaaa"},
		{"jane.doe@example.com", "JaneDoe2026!"},
		{"jane.doe@example.com", "jane.doe@example.com"},
	}
	for _, tc := range tests {
		r := h.do(req{method: "POST", path: "/api/v1/admin/users", token: h.admin,
			body: map[string]string{"email": tc.email, "password": tc.password}}).want(t, 400, "invalid_request")
		if strings.Contains(string(r.body), tc.password) {
			t.Errorf("the answer repeats the password: %s", r.body)
		}
	}
	h.addUser("ann@example.com", pw, "")
	tok := h.loginAAL2(t, "ann@example.com")
	h.reauthPassword(t, tok)
	h.do(req{method: "POST", path: "/api/v1/me/password", token: tok,
		body: map[string]string{"current_password": pw, "new_password": "Ann's Latchkey!"}}).want(t, 400, "invalid_request")
}
