package auth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/totp"
)

func TestService_Login(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name        string
			methods     []string
			wantAAL     int
			wantMFA     bool
			wantMethods []string
		}{
			// A user with no second factor is done after the password.
			{"NoFactor", nil, auth.AAL2, false, []string{}},
			{"TOTP", []string{auth.MethodTOTP}, auth.AAL1, true, []string{auth.MethodTOTP, auth.MethodRecoveryCode}},
			{"SMS", []string{auth.MethodSMS}, auth.AAL1, true, []string{auth.MethodSMS, auth.MethodRecoveryCode}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				res, err := s.Login(t.Context(), " Ada@Example.COM ", testPassword, client, "")
				if err != nil {
					t.Fatal(err)
				}
				if res.Session.AAL != tc.wantAAL || res.MFARequired != tc.wantMFA || res.EnrollmentRequired {
					t.Errorf("got aal %d, MFARequired %v, EnrollmentRequired %v; want aal %d, %v, false",
						res.Session.AAL, res.MFARequired, res.EnrollmentRequired, tc.wantAAL, tc.wantMFA)
				}
				if !slices.Equal(res.Methods, tc.wantMethods) {
					t.Errorf("methods: got %v, want %v", res.Methods, tc.wantMethods)
				}
				if res.User.ID != a.user.ID {
					t.Errorf("user: got %d, want %d", res.User.ID, a.user.ID)
				}
				p := s.mustAuth(t, res.Token)
				if p.Session.ID != res.Session.ID || p.Session.AAL != tc.wantAAL {
					t.Errorf("the token authenticates session %d at aal %d, want %d at aal %d", p.Session.ID, p.Session.AAL, res.Session.ID, tc.wantAAL)
				}
			})
		}
	})

	t.Run("OKEndsPreviousSession", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		if _, err := s.Login(t.Context(), a.user.Email, testPassword, client, a.p.Token); err != nil {
			t.Fatal(err)
		}
		s.wantSignedOut(t, a.p)
	})

	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		// An unknown email and a wrong password get the same answer, and
		// cost the same password check.
		tests := []struct{ name, email, password string }{
			{"WrongPassword", "ada@example.com", "plum orbit velvet lantern!"},
			{"UnknownEmail", "bob@example.com", testPassword},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				s.mustUser(t, "ada@example.com", "")
				before := s.hasher.checks.Load()
				res, err := s.Login(t.Context(), tc.email, tc.password, client, "")
				wantError(t, err, auth.KindInvalidCredentials, msgInvalidCredentials)
				if res != nil {
					t.Errorf("got a result %+v with the error", res)
				}
				if n := s.hasher.checks.Load() - before; n != 1 {
					t.Errorf("password checks: got %d, want 1", n)
				}
			})
		}
	})

	t.Run("ErrInvalidCredentialsTooLong", func(t *testing.T) {
		// What is too long to be anyone's password is refused unhashed, so
		// a megabyte "password" burns no CPU; the answer is the usual one.
		tests := []struct{ name, email, password string }{
			{"Password", "ada@example.com", strings.Repeat("p", 1025)},
			{"Email", strings.Repeat("a", 243) + "@example.com", testPassword},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				s.mustUser(t, "ada@example.com", "")
				before := s.hasher.checks.Load()
				_, err := s.Login(t.Context(), tc.email, tc.password, client, "")
				wantError(t, err, auth.KindInvalidCredentials, msgInvalidCredentials)
				if n := s.hasher.checks.Load() - before; n != 0 {
					t.Errorf("password checks: got %d, want 0", n)
				}
			})
		}
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		s := mustService(t)
		s.mustUser(t, "ada@example.com", "")
		// Ten failures for one account from one IP use up its burst.
		for i := range 10 {
			_, err := s.Login(t.Context(), "ada@example.com", fmt.Sprintf("wrong password %d", i), client, "")
			wantError(t, err, auth.KindInvalidCredentials, msgInvalidCredentials)
		}
		before := s.hasher.checks.Load()
		_, err := s.Login(t.Context(), "ada@example.com", testPassword, client, "")
		e := wantError(t, err, auth.KindRateLimited, msgRateLimited)
		if e.RetryAfter <= 0 {
			t.Errorf("RetryAfter: got %v, want > 0", e.RetryAfter)
		}
		if n := s.hasher.checks.Load() - before; n != 0 {
			t.Errorf("password checks while throttled: got %d, want 0", n)
		}
		// Another IP is not held back by this IP's failures.
		other := auth.Client{IP: "198.51.100.7", UserAgent: client.UserAgent}
		if _, err := s.Login(t.Context(), "ada@example.com", testPassword, other, ""); err != nil {
			t.Errorf("from another IP: %v", err)
		}
		s.clock.Advance(e.RetryAfter)
		if _, err := s.Login(t.Context(), "ada@example.com", testPassword, client, ""); err != nil {
			t.Errorf("after RetryAfter: %v", err)
		}
	})

	t.Run("ErrRateLimitedAccount", func(t *testing.T) {
		// Guessing spread over many IPs is slowed per account, but never
		// from an IP the account signed in from: the real user gets in.
		s := mustService(t)
		s.mustUser(t, "ada@example.com", "")
		known := auth.Client{IP: "192.0.2.50", UserAgent: "browser"}
		if _, err := s.Login(t.Context(), "ada@example.com", testPassword, known, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			guesser := auth.Client{IP: fmt.Sprintf("203.0.113.%d", i)}
			_, err := s.Login(t.Context(), "ada@example.com", "wrong password", guesser, "")
			wantError(t, err, auth.KindInvalidCredentials, msgInvalidCredentials)
		}
		_, err := s.Login(t.Context(), "ada@example.com", testPassword, auth.Client{IP: "198.51.100.99"}, "")
		wantError(t, err, auth.KindRateLimited, msgRateLimited)
		if _, err := s.Login(t.Context(), "ada@example.com", testPassword, known, ""); err != nil {
			t.Errorf("from the known IP: %v", err)
		}
		// The exemption lasts KnownIPWindow after the last success.
		s.clock.Advance(s.Config().KnownIPWindow + time.Minute)
		for i := range 20 {
			guesser := auth.Client{IP: fmt.Sprintf("203.0.113.%d", 100+i)}
			_, err := s.Login(t.Context(), "ada@example.com", "wrong password", guesser, "")
			wantError(t, err, auth.KindInvalidCredentials, msgInvalidCredentials)
		}
		_, err = s.Login(t.Context(), "ada@example.com", testPassword, known, "")
		wantError(t, err, auth.KindRateLimited, msgRateLimited)
	})

	t.Run("EnrollmentRequired", func(t *testing.T) {
		s := mustService(t, withRoles("admin"))
		s.mustUser(t, "ada@example.com", "admin")
		res := s.mustLogin(t, "ada@example.com")
		if res.Session.AAL != auth.AAL1 || !res.EnrollmentRequired || res.MFARequired {
			t.Errorf("got aal %d, EnrollmentRequired %v, MFARequired %v; want aal 1, true, false",
				res.Session.AAL, res.EnrollmentRequired, res.MFARequired)
		}
		gate, err := s.GateFor(t.Context(), s.mustAuth(t, res.Token))
		if err != nil || gate != auth.GateEnrollment {
			t.Errorf("gate: got %v, %v; want GateEnrollment", gate, err)
		}
	})
}

func TestService_VerifyLogin(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name   string
			method string
			code   func(t *testing.T, s *testService, a *account, p *auth.Principal) string
			// wantPreferred is the method offered first at the next sign-in:
			// the last one used, but never the recovery code.
			wantPreferred string
		}{
			{"TOTP", auth.MethodTOTP, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return s.nextTOTP(a.secret)
			}, auth.MethodTOTP},
			{"SMS", auth.MethodSMS, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return s.sendLoginSMS(t, a, p)
			}, auth.MethodSMS},
			{"RecoveryCode", auth.MethodRecoveryCode, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return a.recovery
			}, auth.MethodTOTP}, // the app's step-up when the phone was added
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP, auth.MethodSMS)
				p := s.mustChallenge(t, a)
				res, err := s.VerifyLogin(t.Context(), p, tc.method, tc.code(t, s, a, p), client)
				if err != nil {
					t.Fatal(err)
				}
				if res.Session.AAL != auth.AAL2 {
					t.Errorf("aal: got %d, want 2", res.Session.AAL)
				}
				if got := s.mustAuth(t, res.Token).Session; got.ID != p.Session.ID || got.AAL != auth.AAL2 {
					t.Errorf("new token: session %d at aal %d, want %d at aal 2", got.ID, got.AAL, p.Session.ID)
				}
				// The aal1 token stops working at once.
				s.wantSignedOut(t, p)
				if got := s.mustLogin(t, a.user.Email).PreferredMethod; got != tc.wantPreferred {
					t.Errorf("preferred method: got %q, want %q", got, tc.wantPreferred)
				}

				if tc.method != auth.MethodRecoveryCode {
					if res.NewRecoveryCode != "" {
						t.Errorf("got a new recovery code for %s", tc.method)
					}
					return
				}
				// A used recovery code is replaced: the old one is void, the
				// new one works.
				if res.NewRecoveryCode == "" || res.NewRecoveryCode == a.recovery {
					t.Fatalf("new recovery code: got %q, want a new one", res.NewRecoveryCode)
				}
				_, err = s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodRecoveryCode, a.recovery, client)
				wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
				if _, err := s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodRecoveryCode, res.NewRecoveryCode, client); err != nil {
					t.Errorf("the new recovery code: %v", err)
				}
			})
		}
	})

	t.Run("ErrInvalidCode", func(t *testing.T) {
		tests := []struct {
			name   string
			method string
			code   func(t *testing.T, s *testService, a *account, p *auth.Principal) string
		}{
			{"TOTP", auth.MethodTOTP, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return s.wrongTOTP(a.secret)
			}},
			{"SMSNotSent", auth.MethodSMS, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return "123456"
			}},
			{"SMSWrong", auth.MethodSMS, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return otherCode(s.sendLoginSMS(t, a, p))
			}},
			{"SMSExpired", auth.MethodSMS, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				code := s.sendLoginSMS(t, a, p)
				s.clock.Advance(s.Config().SMSCodeTTL)
				return code
			}},
			// A code is good only in the session it was sent for.
			{"SMSOtherSession", auth.MethodSMS, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return s.sendLoginSMS(t, a, s.mustChallenge(t, a))
			}},
			{"RecoveryCode", auth.MethodRecoveryCode, func(t *testing.T, s *testService, a *account, p *auth.Principal) string {
				return wrongRecoveryCode(t)
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP, auth.MethodSMS)
				p := s.mustChallenge(t, a)
				res, err := s.VerifyLogin(t.Context(), p, tc.method, tc.code(t, s, a, p), client)
				wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
				if res != nil {
					t.Errorf("got a result %+v with the error", res)
				}
				if got := s.mustAuth(t, p.Token).Session.AAL; got != auth.AAL1 {
					t.Errorf("aal after a wrong code: got %d, want 1", got)
				}
			})
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		tests := []struct{ name, method, code, want string }{
			{"Password", auth.MethodPassword, testPassword, "Method must be totp, sms or recovery_code."},
			{"NoMethod", "", "123456", "Method must be totp, sms or recovery_code."},
			{"NotTheAccounts", auth.MethodSMS, "123456", "Method must be one of the account's methods: [totp recovery_code]."},
			{"MalformedTOTP", auth.MethodTOTP, "12345", "Code must be 6 digits."},
			{"MalformedRecoveryCode", auth.MethodRecoveryCode, "ABCD", "Recovery code must be 24 characters: digits and letters, without U."},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
				p := s.mustChallenge(t, a)
				// Refused input is no attempt: however often, it locks nothing.
				for range s.Config().Lockout.LockEvery {
					_, err := s.VerifyLogin(t.Context(), p, tc.method, tc.code, client)
					wantError(t, err, auth.KindInvalid, tc.want)
				}
				if _, err := s.VerifyLogin(t.Context(), p, auth.MethodTOTP, s.nextTOTP(a.secret), client); err != nil {
					t.Errorf("the right code after refused input: %v", err)
				}
			})
		}
	})

	t.Run("ErrReplayed", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		code := s.nextTOTP(a.secret)
		if _, err := s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodTOTP, code, client); err != nil {
			t.Fatal(err)
		}
		// The same code in another session, within its time step.
		_, err := s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodTOTP, code, client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		// An older code, still within the skew, is refused too.
		older := totp.CodeAt(a.secret, totp.Step(s.clock.Now())-1)
		_, err = s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodTOTP, older, client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
	})

	t.Run("ErrLocked", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		lockout := s.Config().Lockout
		p := s.mustChallenge(t, a)
		code := s.nextTOTP(a.secret) // the right code, kept for after the failures
		for range lockout.LockEvery {
			_, err := s.VerifyLogin(t.Context(), p, auth.MethodTOTP, s.wrongTOTP(a.secret), client)
			wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		}
		// Locked, even the right code is refused: a locked account is no
		// oracle. The recovery code waits too.
		_, err := s.VerifyLogin(t.Context(), p, auth.MethodTOTP, code, client)
		e := wantError(t, err, auth.KindLocked, msgLocked)
		if e.RetryAfter != lockout.LockFor {
			t.Errorf("RetryAfter: got %v, want %v", e.RetryAfter, lockout.LockFor)
		}
		_, err = s.VerifyLogin(t.Context(), p, auth.MethodRecoveryCode, a.recovery, client)
		wantError(t, err, auth.KindLocked, msgLocked)
		// The lock is the account's: a step-up in another session waits.
		_, err = s.Reauth(t.Context(), a.p, auth.MethodTOTP, code, "", client)
		wantError(t, err, auth.KindLocked, msgLocked)

		s.clock.Advance(e.RetryAfter - time.Second)
		code = totp.CodeAt(a.secret, totp.Step(s.clock.Now()))
		_, err = s.VerifyLogin(t.Context(), p, auth.MethodTOTP, code, client)
		wantError(t, err, auth.KindLocked, msgLocked)
		s.clock.Advance(time.Second)
		p = s.mustAuth(t, p.Token)
		// The refused attempt consumed nothing: its code works now.
		if _, err := s.VerifyLogin(t.Context(), p, auth.MethodTOTP, code, client); err != nil {
			t.Errorf("after the lock: %v", err)
		}
	})

	t.Run("ErrLockedHardCap", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP, auth.MethodSMS)
		lockout := s.Config().Lockout
		p := s.mustChallenge(t, a)
		for i := 1; i <= lockout.MaxFailures; i++ {
			_, err := s.VerifyLogin(t.Context(), p, auth.MethodTOTP, s.wrongTOTP(a.secret), client)
			wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
			if i%lockout.LockEvery == 0 {
				s.clock.Advance(lockout.LockFor)
				p = s.mustAuth(t, p.Token)
			}
		}
		// At the cap, the app and SMS stop, with no end in sight: only the
		// recovery code (or an administrator) gets the user in.
		_, err := s.VerifyLogin(t.Context(), p, auth.MethodTOTP, s.nextTOTP(a.secret), client)
		e := wantError(t, err, auth.KindLocked, msgCapped)
		if e.RetryAfter != lockout.LockFor {
			t.Errorf("RetryAfter: got %v, want %v", e.RetryAfter, lockout.LockFor)
		}
		_, err = s.SendLoginSMS(t.Context(), p, client)
		wantError(t, err, auth.KindLocked, msgCapped)
		_, err = s.VerifyLogin(t.Context(), p, auth.MethodSMS, "123456", client)
		wantError(t, err, auth.KindLocked, msgCapped)
		res, err := s.VerifyLogin(t.Context(), p, auth.MethodRecoveryCode, a.recovery, client)
		if err != nil {
			t.Fatalf("recovery code at the cap: %v", err)
		}
		if res.NewRecoveryCode == "" {
			t.Error("no new recovery code")
		}
		// The recovery code cleared the failures: the app works again.
		q := s.mustChallenge(t, a)
		if _, err := s.VerifyLogin(t.Context(), q, auth.MethodTOTP, s.nextTOTP(a.secret), client); err != nil {
			t.Errorf("the app after the recovery code: %v", err)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		_, err := s.VerifyLogin(t.Context(), a.p, auth.MethodTOTP, s.nextTOTP(a.secret), client)
		wantError(t, err, auth.KindConflict, msgPassedChallenge)
	})
}
