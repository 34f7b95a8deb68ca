package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/totp"
)

const (
	msgNoPendingApp = "There is no pending authenticator app to confirm in this session; start again."
	msgNoApp        = "There is no authenticator app to remove."
)

// mustOverview returns the session's security overview.
func (s *testService) mustOverview(t *testing.T, p *auth.Principal) *auth.Security {
	t.Helper()
	o, err := s.SecurityOverview(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestService_StartTOTP(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.mustStepUp(t, a)
		e, err := s.StartTOTP(t.Context(), a.p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.URI, "otpauth://totp/Latchkey:ada@example.com?") || !strings.Contains(e.URI, "secret="+e.Secret) {
			t.Errorf("URI %q does not name the account and carry the secret", e.URI)
		}
		if e.ExpiresIn != s.Config().PendingTOTP || len(e.QRPNG) == 0 || len(e.QRSVG) == 0 {
			t.Errorf("got ExpiresIn %v, %d bytes PNG, %d bytes SVG; want %v and both QR codes", e.ExpiresIn, len(e.QRPNG), len(e.QRSVG), s.Config().PendingTOTP)
		}
		// The pending app shows only in the session that can confirm it.
		if !s.mustOverview(t, a.p).TOTPPending {
			t.Error("the starting session does not see the pending app")
		}
		if s.mustOverview(t, s.mustSignIn(t, a)).TOTPPending {
			t.Error("another session sees the pending app")
		}
		// The current app keeps working until the new one is confirmed.
		if _, err := s.Reauth(t.Context(), a.p, auth.MethodTOTP, s.nextTOTP(a.secret), "", client); err != nil {
			t.Errorf("the current app after the start: %v", err)
		}
	})

	t.Run("ErrReauthRequired", func(t *testing.T) {
		tests := []struct {
			name        string
			methods     []string
			wantMethods []string
		}{
			{"NoFactor", nil, []string{auth.MethodPassword}},
			// A step-up by password, made before the app was added, does not
			// count once the account has a second factor.
			{"PasswordStepUpBeforeApp", []string{auth.MethodTOTP}, []string{auth.MethodTOTP, auth.MethodRecoveryCode}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				_, err := s.StartTOTP(t.Context(), a.p)
				e := wantError(t, err, auth.KindReauthRequired, msgReauthRequired)
				if !slices.Equal(e.Methods, tc.wantMethods) {
					t.Errorf("methods: got %v, want %v", e.Methods, tc.wantMethods)
				}
			})
		}
	})
}

func TestService_ConfirmTOTP(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		other := s.mustSignIn(t, a)
		s.mustStepUp(t, a)
		secret := s.mustStartTOTP(t, a.p)
		code := s.nextTOTP(secret)
		res, err := s.ConfirmTOTP(t.Context(), a.p, code, client)
		if err != nil {
			t.Fatal(err)
		}
		if res.RecoveryCode == "" || res.RecoveryCode == a.recovery {
			t.Errorf("recovery code: got %q, want a new one", res.RecoveryCode)
		}
		if res.Token != "" {
			t.Error("an aal2 session got a new token")
		}
		// Every other session ends; this one stays.
		s.wantSignedOut(t, other)
		s.mustAuth(t, a.p.Token)
		// The confirming code is used up.
		_, err = s.Reauth(t.Context(), a.p, auth.MethodTOTP, code, "", client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		// The earlier app and the earlier recovery code are void.
		_, err = s.Reauth(t.Context(), a.p, auth.MethodTOTP, s.nextTOTP(a.secret), "", client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		_, err = s.Reauth(t.Context(), a.p, auth.MethodRecoveryCode, a.recovery, "", client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		if _, err := s.Reauth(t.Context(), a.p, auth.MethodTOTP, totp.CodeAt(secret, totp.Step(s.clock.Now())), "", client); err != nil {
			t.Errorf("the new app: %v", err)
		}
		if _, err := s.Reauth(t.Context(), a.p, auth.MethodRecoveryCode, res.RecoveryCode, "", client); err != nil {
			t.Errorf("the new recovery code: %v", err)
		}
	})

	t.Run("OKFirstApp", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.wantMethods(t, a.p, auth.MethodTOTP, auth.MethodRecoveryCode)
		if res := s.mustLogin(t, a.user.Email); !res.MFARequired || res.Session.AAL != auth.AAL1 {
			t.Errorf("next login: MFARequired %v at aal %d, want true at aal 1", res.MFARequired, res.Session.AAL)
		}
	})

	t.Run("OKPromotesEnrollmentSession", func(t *testing.T) {
		// A session that had to enrol before going on is at aal2 once the
		// new app is proved, under a new token.
		s := mustService(t, withRoles("admin"))
		s.mustUser(t, "ada@example.com", "admin")
		a := &account{p: s.mustAuth(t, s.mustLogin(t, "ada@example.com").Token)}
		s.mustStepUp(t, a)
		secret := s.mustStartTOTP(t, a.p)
		res, err := s.ConfirmTOTP(t.Context(), a.p, s.nextTOTP(secret), client)
		if err != nil {
			t.Fatal(err)
		}
		if res.Token == "" || res.Session.AAL != auth.AAL2 {
			t.Fatalf("got token %q at aal %v, want a new token at aal 2", res.Token, res.Session)
		}
		if got := s.mustAuth(t, res.Token).Session.AAL; got != auth.AAL2 {
			t.Errorf("the new token's aal: got %d, want 2", got)
		}
		s.wantSignedOut(t, a.p)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		tests := []struct {
			name string
			// confirmer starts what it needs and returns the session that
			// tries to confirm the app with secret (nil: none started).
			confirmer func(t *testing.T, s *testService, a *account) (*auth.Principal, []byte)
		}{
			{"NothingStarted", func(t *testing.T, s *testService, a *account) (*auth.Principal, []byte) {
				return a.p, make([]byte, totp.SecretSize)
			}},
			// Only the session that started (and stepped up for) the
			// enrolment may finish it.
			{"OtherSession", func(t *testing.T, s *testService, a *account) (*auth.Principal, []byte) {
				s.mustStepUp(t, a)
				secret := s.mustStartTOTP(t, a.p)
				return s.mustSignIn(t, a), secret
			}},
			{"Expired", func(t *testing.T, s *testService, a *account) (*auth.Principal, []byte) {
				s.mustStepUp(t, a)
				secret := s.mustStartTOTP(t, a.p)
				// nextTOTP moves the clock one step on: to the end of the
				// enrolment's lifetime.
				s.clock.Advance(s.Config().PendingTOTP - totp.Period*time.Second)
				return s.mustAuth(t, a.p.Token), secret
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com")
				p, secret := tc.confirmer(t, s, a)
				_, err := s.ConfirmTOTP(t.Context(), p, s.nextTOTP(secret), client)
				wantError(t, err, auth.KindConflict, msgNoPendingApp)
				s.wantMethods(t, p)
			})
		}
	})

	t.Run("ErrInvalidCode", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		s.mustStepUp(t, a)
		secret := s.mustStartTOTP(t, a.p)
		_, err := s.ConfirmTOTP(t.Context(), a.p, s.wrongTOTP(secret), client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		s.wantMethods(t, a.p)
		// The enrolment is still pending: the right code confirms it.
		if _, err := s.ConfirmTOTP(t.Context(), a.p, s.nextTOTP(secret), client); err != nil {
			t.Errorf("the right code after a wrong one: %v", err)
		}
	})

	t.Run("ErrLocked", func(t *testing.T) {
		// Confirming is an attempt like any other: wrong codes count
		// toward the account's lockout.
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.mustStepUp(t, a)
		secret := s.mustStartTOTP(t, a.p)
		for range s.Config().Lockout.LockEvery {
			_, err := s.ConfirmTOTP(t.Context(), a.p, s.wrongTOTP(secret), client)
			wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		}
		_, err := s.ConfirmTOTP(t.Context(), a.p, s.nextTOTP(secret), client)
		wantError(t, err, auth.KindLocked, msgLocked)
		p := s.mustChallenge(t, a)
		_, err = s.VerifyLogin(t.Context(), p, auth.MethodTOTP, totp.CodeAt(a.secret, totp.Step(s.clock.Now())), client)
		wantError(t, err, auth.KindLocked, msgLocked)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		_, err := s.ConfirmTOTP(t.Context(), a.p, "12 345", client)
		wantError(t, err, auth.KindInvalid, "Code must be 6 digits.")
	})
}

func TestService_RemoveTOTP(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name        string
			methods     []string
			wantMethods []string
			// The recovery code goes with the last method: alone, it is no
			// second factor.
			wantRecoveryCode bool
		}{
			{"LastMethod", []string{auth.MethodTOTP}, []string{}, false},
			{"PhoneRemains", []string{auth.MethodTOTP, auth.MethodSMS}, []string{auth.MethodSMS, auth.MethodRecoveryCode}, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				s.mustStepUp(t, a)
				if err := s.RemoveTOTP(t.Context(), a.p, client); err != nil {
					t.Fatal(err)
				}
				s.wantMethods(t, a.p, tc.wantMethods...)
				if got := s.mustOverview(t, a.p); got.TOTPEnabled || got.RecoveryCode != tc.wantRecoveryCode {
					t.Errorf("got TOTPEnabled %v, RecoveryCode %v; want false, %v", got.TOTPEnabled, got.RecoveryCode, tc.wantRecoveryCode)
				}
				res := s.mustLogin(t, a.user.Email)
				if res.MFARequired != tc.wantRecoveryCode {
					t.Errorf("next login: MFARequired %v, want %v", res.MFARequired, tc.wantRecoveryCode)
				}
				if !tc.wantRecoveryCode {
					return
				}
				// The recovery code that stays is the same one.
				p := s.mustAuth(t, res.Token)
				if _, err := s.VerifyLogin(t.Context(), p, auth.MethodRecoveryCode, a.recovery, client); err != nil {
					t.Errorf("the recovery code after the removal: %v", err)
				}
			})
		}
	})

	t.Run("ErrReauthRequired", func(t *testing.T) {
		tests := []struct {
			name    string
			methods []string
			stepUp  func(t *testing.T, s *testService, a *account)
		}{
			// mustAccount's step-up, by password, was made before the app.
			{"PasswordStepUpBeforeApp", []string{auth.MethodTOTP}, func(t *testing.T, s *testService, a *account) {}},
			{"StepUpLapsed", []string{auth.MethodTOTP}, func(t *testing.T, s *testService, a *account) {
				s.mustStepUp(t, a)
				s.clock.Advance(s.Config().StepUpWindow)
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				tc.stepUp(t, s, a)
				err := s.RemoveTOTP(t.Context(), a.p, client)
				e := wantError(t, err, auth.KindReauthRequired, msgReauthRequired)
				if want := []string{auth.MethodTOTP, auth.MethodRecoveryCode}; !slices.Equal(e.Methods, want) {
					t.Errorf("methods: got %v, want %v", e.Methods, want)
				}
				s.wantMethods(t, a.p, auth.MethodTOTP, auth.MethodRecoveryCode)
			})
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		// The role requires a second factor and the app is the last one.
		s := mustService(t, withRoles("user"))
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.mustStepUp(t, a)
		err := s.RemoveTOTP(t.Context(), a.p, client)
		wantError(t, err, auth.KindConflict, msgRoleRequiresMFA)
		s.wantMethods(t, a.p, auth.MethodTOTP, auth.MethodRecoveryCode)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodSMS)
		s.mustStepUp(t, a)
		err := s.RemoveTOTP(t.Context(), a.p, client)
		wantError(t, err, auth.KindNotFound, msgNoApp)
	})
}
