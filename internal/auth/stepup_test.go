package auth_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

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
				"Method password is only for accounts without a second factor; use one of [totp recovery_code]."},
			{"NoMethod", nil, "", "", testPassword, "Method is required."},
			{"NoCode", []string{auth.MethodTOTP}, auth.MethodTOTP, "", "", "Code is required."},
			{"NoPassword", nil, auth.MethodPassword, "", "", "Password is required."},
			{"NotTheAccounts", nil, auth.MethodTOTP, "123456", "", "Method must be one of the account's methods: []."},
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
