package auth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
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
