package auth_test

import (
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
)

func TestService_RegenerateRecoveryCode(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.mustStepUp(t, a)
		code, err := s.RegenerateRecoveryCode(t.Context(), a.p, client)
		if err != nil {
			t.Fatal(err)
		}
		if code == "" || code == a.recovery {
			t.Fatalf("got %q, want a new code", code)
		}
		// The earlier code is void at once; the new one works.
		_, err = s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodRecoveryCode, a.recovery, client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		if _, err := s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodRecoveryCode, code, client); err != nil {
			t.Errorf("the new code: %v", err)
		}
	})

	t.Run("ErrReauthRequired", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP, auth.MethodSMS)
		s.clock.Advance(s.Config().StepUpWindow)
		_, err := s.RegenerateRecoveryCode(t.Context(), a.p, client)
		e := wantError(t, err, auth.KindReauthRequired, msgReauthRequired)
		if want := []string{auth.MethodTOTP, auth.MethodSMS, auth.MethodRecoveryCode}; !slices.Equal(e.Methods, want) {
			t.Errorf("methods: got %v, want %v", e.Methods, want)
		}
		// The code is unchanged.
		if _, err := s.VerifyLogin(t.Context(), s.mustChallenge(t, a), auth.MethodRecoveryCode, a.recovery, client); err != nil {
			t.Errorf("the code after the refusal: %v", err)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		// A recovery code exists only beside a method.
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		s.mustStepUp(t, a)
		_, err := s.RegenerateRecoveryCode(t.Context(), a.p, client)
		wantError(t, err, auth.KindConflict, "Add an authenticator app or a phone first; a recovery code comes with them.")
		if s.mustOverview(t, a.p).RecoveryCode {
			t.Error("the account has a recovery code")
		}
	})
}
