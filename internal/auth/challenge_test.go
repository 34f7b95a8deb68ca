package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/totp"
)

// sendLoginSMS sends a sign-in code for the session and returns it.
func (s *testService) sendLoginSMS(t *testing.T, a *account, p *auth.Principal) string {
	t.Helper()
	return s.mustSend(t, a.number, func(ctx context.Context) (*auth.SMSSent, error) {
		return s.SendLoginSMS(ctx, p, client)
	})
}

// sendReauthSMS sends a step-up code for the session and returns it.
func (s *testService) sendReauthSMS(t *testing.T, a *account, p *auth.Principal) string {
	t.Helper()
	return s.mustSend(t, a.number, func(ctx context.Context) (*auth.SMSSent, error) {
		return s.SendReauthSMS(ctx, p, client)
	})
}

// otherCode returns a well-formed SMS code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// mustChallenge opens a new aal1 session of the account.
func (s *testService) mustChallenge(t *testing.T, a *account) *auth.Principal {
	t.Helper()
	res := s.mustLogin(t, a.user.Email)
	if !res.MFARequired {
		t.Fatalf("login of %s: no second factor required", a.user.Email)
	}
	return s.mustAuth(t, res.Token)
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
			{"Password", auth.MethodPassword, testPassword, "method must be totp, sms or recovery_code"},
			{"NoMethod", "", "123456", "method must be totp, sms or recovery_code"},
			{"NotTheAccounts", auth.MethodSMS, "123456", "method must be one of the account's methods: [totp recovery_code]"},
			{"MalformedTOTP", auth.MethodTOTP, "12345", "code: code must be 6 digits"},
			{"MalformedRecoveryCode", auth.MethodRecoveryCode, "ABCD", "code: recovery code must be 24 characters: digits and letters, without U"},
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

func TestService_Reauth(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name     string
			methods  []string // the account's
			method   string
			code     func(t *testing.T, s *testService, a *account) string
			password string
		}{
			{"TOTP", []string{auth.MethodTOTP, auth.MethodSMS}, auth.MethodTOTP, func(t *testing.T, s *testService, a *account) string {
				return s.nextTOTP(a.secret)
			}, ""},
			{"SMS", []string{auth.MethodTOTP, auth.MethodSMS}, auth.MethodSMS, func(t *testing.T, s *testService, a *account) string {
				return s.sendReauthSMS(t, a, a.p)
			}, ""},
			{"RecoveryCode", []string{auth.MethodTOTP, auth.MethodSMS}, auth.MethodRecoveryCode, func(t *testing.T, s *testService, a *account) string {
				return a.recovery
			}, ""},
			// Only an account without a second factor steps up by password.
			{"Password", nil, auth.MethodPassword, func(t *testing.T, s *testService, a *account) string { return "" }, testPassword},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				window := s.Config().StepUpWindow
				s.clock.Advance(window) // the step-ups of the enrolments are over
				p := s.mustAuth(t, a.p.Token)
				a.p = p
				if until := s.ReauthUntil(p); !until.IsZero() {
					t.Fatalf("a step-up window is open before the step-up: until %v", until)
				}
				code := tc.code(t, s, a)
				res, err := s.Reauth(t.Context(), p, tc.method, code, tc.password, client)
				if err != nil {
					t.Fatal(err)
				}
				want := s.clock.Now().Add(window)
				if !res.Until.Equal(want) || res.Method != tc.method {
					t.Errorf("got until %v by %q, want %v by %q", res.Until, res.Method, want, tc.method)
				}
				// The step-up is the session's, seen by its next requests.
				if got := s.ReauthUntil(s.mustAuth(t, p.Token)); !got.Equal(want) {
					t.Errorf("ReauthUntil on the next request: got %v, want %v", got, want)
				}
				if tc.method == auth.MethodRecoveryCode {
					if res.NewRecoveryCode == "" || res.NewRecoveryCode == a.recovery {
						t.Errorf("new recovery code: got %q, want a new one", res.NewRecoveryCode)
					}
				} else if res.NewRecoveryCode != "" {
					t.Errorf("got a new recovery code for %s", tc.method)
				}
				s.clock.Advance(window - time.Second)
				if got := s.ReauthUntil(s.mustAuth(t, p.Token)); !got.Equal(want) {
					t.Errorf("ReauthUntil just before the end: got %v, want %v", got, want)
				}
				s.clock.Advance(time.Second)
				if got := s.ReauthUntil(s.mustAuth(t, p.Token)); !got.IsZero() {
					t.Errorf("ReauthUntil after the window: got %v, want none", got)
				}
			})
		}
	})

	t.Run("ErrInvalidCode", func(t *testing.T) {
		tests := []struct {
			name   string
			method string
			code   func(t *testing.T, s *testService, a *account) string
		}{
			{"TOTP", auth.MethodTOTP, func(t *testing.T, s *testService, a *account) string { return s.wrongTOTP(a.secret) }},
			{"SMS", auth.MethodSMS, func(t *testing.T, s *testService, a *account) string {
				return otherCode(s.sendReauthSMS(t, a, a.p))
			}},
			{"RecoveryCode", auth.MethodRecoveryCode, func(t *testing.T, s *testService, a *account) string { return wrongRecoveryCode(t) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP, auth.MethodSMS)
				s.clock.Advance(s.Config().StepUpWindow)
				code := tc.code(t, s, a)
				_, err := s.Reauth(t.Context(), a.p, tc.method, code, "", client)
				wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
				if got := s.ReauthUntil(s.mustAuth(t, a.p.Token)); !got.IsZero() {
					t.Errorf("a wrong code opened a step-up window until %v", got)
				}
			})
		}
	})

	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		s.clock.Advance(s.Config().StepUpWindow)
		_, err := s.Reauth(t.Context(), a.p, auth.MethodPassword, "", "not the password", client)
		wantError(t, err, auth.KindInvalidCredentials, msgWrongPassword)
		if got := s.ReauthUntil(s.mustAuth(t, a.p.Token)); !got.IsZero() {
			t.Errorf("a wrong password opened a step-up window until %v", got)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		tests := []struct {
			name                   string
			methods                []string
			method, code, password string
			want                   string
		}{
			// With a second factor, the password alone is what a phisher or
			// a session thief most likely has.
			{"PasswordWithFactor", []string{auth.MethodTOTP}, auth.MethodPassword, "", testPassword,
				"method password is only for accounts without a second factor; use one of [totp recovery_code]"},
			{"NoMethod", nil, "", "", testPassword, "method is required"},
			{"NoCode", []string{auth.MethodTOTP}, auth.MethodTOTP, "", "", "code is required"},
			{"NoPassword", nil, auth.MethodPassword, "", "", "password is required"},
			{"NotTheAccounts", nil, auth.MethodTOTP, "123456", "", "method must be one of the account's methods: []"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				s.clock.Advance(s.Config().StepUpWindow)
				_, err := s.Reauth(t.Context(), a.p, tc.method, tc.code, tc.password, client)
				wantError(t, err, auth.KindInvalid, tc.want)
				if got := s.ReauthUntil(s.mustAuth(t, a.p.Token)); !got.IsZero() {
					t.Errorf("refused input opened a step-up window until %v", got)
				}
			})
		}
	})
}
