package auth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
)

// newPassword is the password the tests change to.
const newPassword = "quartz meadow tin drum"

// wantPassword fails the test unless pw signs the account in and the other
// of testPassword and newPassword does not.
func (s *testService) wantPassword(t *testing.T, email, pw string) {
	t.Helper()
	old := testPassword
	if pw == testPassword {
		old = newPassword
	}
	if _, err := s.Login(t.Context(), email, pw, client, ""); err != nil {
		t.Errorf("login with the password: %v", err)
	}
	_, err := s.Login(t.Context(), email, old, client, "")
	wantError(t, err, auth.KindInvalidCredentials, msgInvalidCredentials)
}

func TestService_ChangePassword(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name    string
			methods []string
		}{
			{"NoFactor", nil},
			{"TOTP", []string{auth.MethodTOTP}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				other := s.mustSignIn(t, a)
				s.mustStepUp(t, a)
				if err := s.ChangePassword(t.Context(), a.p, testPassword, newPassword, client); err != nil {
					t.Fatal(err)
				}
				// Whoever used the old password is cut off; this session stays.
				s.wantSignedOut(t, other)
				s.mustAuth(t, a.p.Token)
				s.wantPassword(t, a.user.Email, newPassword)
			})
		}
	})

	t.Run("OKSessionUnderOldPasswordIsDead", func(t *testing.T) {
		// A sign-in that checked the old password while the change
		// committed gets a session, but one that never works.
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		s.mustStepUp(t, a)
		checking, release := make(chan struct{}), make(chan struct{})
		s.hasher.holdNextCheck(func() {
			close(checking)
			<-release
		})
		type result struct {
			res *auth.LoginResult
			err error
		}
		login := make(chan result, 1)
		go func() {
			res, err := s.Login(t.Context(), a.user.Email, testPassword, client, "")
			login <- result{res, err}
		}()
		<-checking
		err := s.ChangePassword(t.Context(), a.p, testPassword, newPassword, client)
		close(release)
		if err != nil {
			t.Fatal(err)
		}
		r := <-login
		if r.err != nil {
			t.Fatalf("the racing login: %v", r.err)
		}
		_, err = s.Authenticate(t.Context(), r.res.Token)
		wantError(t, err, auth.KindUnauthenticated, msgUnauthenticated)
		s.mustAuth(t, a.p.Token)
	})

	t.Run("ErrReauthRequired", func(t *testing.T) {
		tests := []struct {
			name        string
			methods     []string
			wantMethods []string
		}{
			{"NoFactor", nil, []string{auth.MethodPassword}},
			// A holder of a stolen session and the password must not be
			// able to evict the owner.
			{"TOTP", []string{auth.MethodTOTP}, []string{auth.MethodTOTP, auth.MethodRecoveryCode}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				s.clock.Advance(s.Config().StepUpWindow)
				err := s.ChangePassword(t.Context(), a.p, testPassword, newPassword, client)
				e := wantError(t, err, auth.KindReauthRequired, msgReauthRequired)
				if !slices.Equal(e.Methods, tc.wantMethods) {
					t.Errorf("methods: got %v, want %v", e.Methods, tc.wantMethods)
				}
				s.wantPassword(t, a.user.Email, testPassword)
			})
		}
	})

	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		s.mustStepUp(t, a)
		err := s.ChangePassword(t.Context(), a.p, "not the password", newPassword, client)
		wantError(t, err, auth.KindInvalidCredentials, msgWrongPassword)
		s.wantPassword(t, a.user.Email, testPassword)
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		// The current password is throttled like a login.
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		s.mustStepUp(t, a)
		for i := range 10 {
			err := s.ChangePassword(t.Context(), a.p, fmt.Sprintf("wrong password %d", i), newPassword, client)
			wantError(t, err, auth.KindInvalidCredentials, msgWrongPassword)
		}
		err := s.ChangePassword(t.Context(), a.p, testPassword, newPassword, client)
		wantError(t, err, auth.KindRateLimited, msgRateLimited)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		tests := []struct{ name, current, next, want string }{
			{"NoCurrent", "", newPassword, "The current_password field is required."},
			{"TooShort", testPassword, "abc", "Password must be at least 8 characters (15 or more recommended)."},
			// The issuer and the email are words a guesser tries first.
			{"IssuerName", testPassword, "my latchkey passphrase", "Password must not contain the name of this service or your email address."},
			{"Email", testPassword, "ada@example.com", "Password must not contain the name of this service or your email address."},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com")
				s.mustStepUp(t, a)
				err := s.ChangePassword(t.Context(), a.p, tc.current, tc.next, client)
				wantError(t, err, auth.KindInvalid, tc.want)
				s.wantPassword(t, a.user.Email, testPassword)
			})
		}
	})
}

// TestService_ValidatePassword: a new password over the bound sign-in
// applies before hashing is refused when it is set, so no password can be
// set that could never be typed in.
func TestService_ValidatePassword(t *testing.T) {
	svc := mustService(t)
	t.Run("OK", func(t *testing.T) {
		if err := svc.ValidatePassword("봄날의 햇살 아래 고양이가 잠든 골목", "a@example.com"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrTooLongForSignIn", func(t *testing.T) {
		// 256 Hangul syllables typed decomposed: 256 characters to the
		// policy, 2,304 bytes to sign-in.
		decomposed := strings.Repeat("\u1112\u1161\u11ab", 256)
		wantError(t, svc.ValidatePassword(decomposed, "a@example.com"), auth.KindInvalid, "Password must be at most 1024 bytes.")
	})
}
