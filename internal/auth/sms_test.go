package auth_test

import (
	"context"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/sms"
	"github.com/latchkey/latchkey/internal/totp"
)

const (
	msgNoPendingPhone = "There is no pending phone number to confirm in this session; add it again."
	msgNoPhone        = "There is no phone number to remove."
)

// stepUpBySMS opens the step-up window of the account's session with a
// code sent to its phone.
func (s *testService) stepUpBySMS(t *testing.T, a *account) {
	t.Helper()
	if _, err := s.Reauth(t.Context(), a.p, auth.MethodSMS, s.sendReauthSMS(t, a, a.p), "", client); err != nil {
		t.Fatalf("step up by sms: %v", err)
	}
}

// startPhone starts adding number in the account's session and returns
// the code sent to it.
func (s *testService) startPhone(t *testing.T, a *account, number string) string {
	t.Helper()
	return s.mustSend(t, number, func(ctx context.Context) (*auth.SMSSent, error) {
		return s.StartPhone(ctx, a.p, number, client)
	})
}

// wantNotice fails the test unless the last message went to number and
// carried no code.
func (s *testService) wantNotice(t *testing.T, number string) {
	t.Helper()
	msgs := s.outbox.Messages()
	if len(msgs) == 0 || msgs[0].To != number || msgs[0].Purpose != sms.PurposeNotice || smsCode.MatchString(msgs[0].Body) {
		t.Errorf("last message: got %+v, want a notice to %s", msgs[:min(len(msgs), 1)], number)
	}
}

func TestService_StartPhone(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name    string
			methods []string
			stepUp  func(s *testService, t *testing.T, a *account)
			number  string
		}{
			// Adding a phone takes a step-up by any method.
			{"Add", []string{auth.MethodTOTP}, (*testService).mustStepUp, numberA},
			// Changing it takes proof of the current phone.
			{"Change", []string{auth.MethodSMS}, (*testService).stepUpBySMS, numberB},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				tc.stepUp(s, t, a)
				s.clock.Advance(s.Config().SMSLimits.NumberCooldown)
				sent, err := s.StartPhone(t.Context(), a.p, tc.number[:2]+" "+tc.number[2:5]+" "+tc.number[5:], client)
				if err != nil {
					t.Fatal(err)
				}
				if want := "+1••••••" + tc.number[len(tc.number)-4:]; sent.Phone != want || sent.ExpiresIn != s.Config().SMSCodeTTL {
					t.Errorf("got %+v, want phone %s expiring in %v", sent, want, s.Config().SMSCodeTTL)
				}
				if msgs := s.outbox.Messages(); msgs[0].To != tc.number || msgs[0].Purpose != sms.PurposeEnroll {
					t.Errorf("last message: got %+v, want an enrolment code to %s", msgs[0], tc.number)
				}
				if !s.mustOverview(t, a.p).PhonePending {
					t.Error("no pending phone in the starting session")
				}
				// Nothing changes before the confirmation.
				s.wantMethods(t, a.p, slices.Concat(tc.methods, []string{auth.MethodRecoveryCode})...)
			})
		}
	})

	t.Run("ErrReauthRequired", func(t *testing.T) {
		tests := []struct {
			name        string
			methods     []string
			stepUp      func(s *testService, t *testing.T, a *account)
			wantMethods []string
		}{
			{"AddStepUpLapsed", []string{auth.MethodTOTP}, func(s *testService, t *testing.T, a *account) {
				s.clock.Advance(s.Config().StepUpWindow)
			}, []string{auth.MethodTOTP, auth.MethodRecoveryCode}},
			// A stolen session and another factor must not be enough to
			// move the SMS factor to the thief's phone.
			{"ChangeStepUpByApp", []string{auth.MethodTOTP, auth.MethodSMS}, (*testService).mustStepUp, []string{auth.MethodSMS}},
			{"ChangeStepUpByRecoveryCode", []string{auth.MethodSMS}, func(s *testService, t *testing.T, a *account) {
				if _, err := s.Reauth(t.Context(), a.p, auth.MethodRecoveryCode, a.recovery, "", client); err != nil {
					t.Fatal(err)
				}
			}, []string{auth.MethodSMS}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				tc.stepUp(s, t, a)
				sent := len(s.outbox.Messages())
				_, err := s.StartPhone(t.Context(), a.p, numberB, client)
				e := wantError(t, err, auth.KindReauthRequired, msgReauthRequired)
				if !slices.Equal(e.Methods, tc.wantMethods) {
					t.Errorf("methods: got %v, want %v", e.Methods, tc.wantMethods)
				}
				if n := len(s.outbox.Messages()) - sent; n != 0 {
					t.Errorf("sent %d messages, want none", n)
				}
			})
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodSMS)
		s.stepUpBySMS(t, a)
		_, err := s.StartPhone(t.Context(), a.p, numberA, client)
		wantError(t, err, auth.KindConflict, "This is already your phone number.")
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com")
		_, err := s.StartPhone(t.Context(), a.p, "12", client)
		wantError(t, err, auth.KindInvalid, "Phone must be a valid mobile number in international format, e.g. +1 415 555 2671.")
	})
}

func TestService_ConfirmPhone(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		other := s.mustSignIn(t, a)
		s.mustStepUp(t, a)
		res, err := s.ConfirmPhone(t.Context(), a.p, s.startPhone(t, a, numberA), client)
		if err != nil {
			t.Fatal(err)
		}
		if res.RecoveryCode == "" || res.RecoveryCode == a.recovery {
			t.Errorf("recovery code: got %q, want a new one", res.RecoveryCode)
		}
		s.wantMethods(t, a.p, auth.MethodTOTP, auth.MethodSMS, auth.MethodRecoveryCode)
		// Every other session ends; this one stays.
		s.wantSignedOut(t, other)
		s.mustAuth(t, a.p.Token)
		_, err = s.Reauth(t.Context(), a.p, auth.MethodRecoveryCode, a.recovery, "", client)
		wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		if _, err := s.Reauth(t.Context(), a.p, auth.MethodRecoveryCode, res.RecoveryCode, "", client); err != nil {
			t.Errorf("the new recovery code: %v", err)
		}
	})

	t.Run("OKReplace", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodSMS)
		s.stepUpBySMS(t, a)
		if _, err := s.ConfirmPhone(t.Context(), a.p, s.startPhone(t, a, numberB), client); err != nil {
			t.Fatal(err)
		}
		// The earlier number is told, and codes now go to the new one.
		s.wantNotice(t, numberA)
		a.number = numberB
		s.mustSignIn(t, a)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		tests := []struct {
			name string
			// confirmer starts what it needs and returns the session that
			// tries to confirm, with the code it has.
			confirmer func(t *testing.T, s *testService, a *account) (*auth.Principal, string)
		}{
			{"NothingStarted", func(t *testing.T, s *testService, a *account) (*auth.Principal, string) {
				return a.p, "123456"
			}},
			// Only the session that started (and stepped up for) the change
			// may finish it.
			{"OtherSession", func(t *testing.T, s *testService, a *account) (*auth.Principal, string) {
				s.mustStepUp(t, a)
				code := s.startPhone(t, a, numberA)
				return s.mustSignIn(t, a), code
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
				p, code := tc.confirmer(t, s, a)
				_, err := s.ConfirmPhone(t.Context(), p, code, client)
				wantError(t, err, auth.KindConflict, msgNoPendingPhone)
				s.wantMethods(t, p, auth.MethodTOTP, auth.MethodRecoveryCode)
			})
		}
	})

	t.Run("ErrInvalidCode", func(t *testing.T) {
		tests := []struct {
			name string
			code func(t *testing.T, s *testService, sent string) string
		}{
			{"Wrong", func(t *testing.T, s *testService, sent string) string { return otherCode(sent) }},
			// A pending number does not lapse, but its code does.
			{"Expired", func(t *testing.T, s *testService, sent string) string {
				s.clock.Advance(s.Config().SMSCodeTTL)
				return sent
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
				s.mustStepUp(t, a)
				sent := s.startPhone(t, a, numberA)
				_, err := s.ConfirmPhone(t.Context(), a.p, tc.code(t, s, sent), client)
				wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
				s.wantMethods(t, a.p, auth.MethodTOTP, auth.MethodRecoveryCode)
			})
		}
	})

	t.Run("ErrLocked", func(t *testing.T) {
		// Confirming is an attempt like any other: wrong codes count
		// toward the account's lockout.
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.mustStepUp(t, a)
		sent := s.startPhone(t, a, numberA)
		for range s.Config().Lockout.LockEvery {
			_, err := s.ConfirmPhone(t.Context(), a.p, otherCode(sent), client)
			wantError(t, err, auth.KindInvalidCode, msgInvalidCode)
		}
		_, err := s.ConfirmPhone(t.Context(), a.p, sent, client)
		wantError(t, err, auth.KindLocked, msgLocked)
		_, err = s.Reauth(t.Context(), a.p, auth.MethodTOTP, totp.CodeAt(a.secret, totp.Step(s.clock.Now())), "", client)
		wantError(t, err, auth.KindLocked, msgLocked)
	})
}

func TestService_RemovePhone(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name        string
			methods     []string
			wantMethods []string
			// The recovery code goes with the last method: alone, it is no
			// second factor.
			wantRecoveryCode bool
		}{
			{"LastMethod", []string{auth.MethodSMS}, []string{}, false},
			// The step-up is by the app: the way out for a lost phone.
			{"AppRemains", []string{auth.MethodTOTP, auth.MethodSMS}, []string{auth.MethodTOTP, auth.MethodRecoveryCode}, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := mustService(t)
				a := s.mustAccount(t, "ada@example.com", tc.methods...)
				s.mustStepUp(t, a)
				if err := s.RemovePhone(t.Context(), a.p, client); err != nil {
					t.Fatal(err)
				}
				s.wantMethods(t, a.p, tc.wantMethods...)
				if got := s.mustOverview(t, a.p); got.SMSEnabled || got.Phone != "" || got.RecoveryCode != tc.wantRecoveryCode {
					t.Errorf("got SMSEnabled %v, Phone %q, RecoveryCode %v; want false, none, %v", got.SMSEnabled, got.Phone, got.RecoveryCode, tc.wantRecoveryCode)
				}
				s.wantNotice(t, numberA)
				if res := s.mustLogin(t, a.user.Email); res.MFARequired != tc.wantRecoveryCode {
					t.Errorf("next login: MFARequired %v, want %v", res.MFARequired, tc.wantRecoveryCode)
				}
			})
		}
	})

	t.Run("ErrReauthRequired", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodSMS)
		s.mustStepUp(t, a)
		s.clock.Advance(s.Config().StepUpWindow)
		err := s.RemovePhone(t.Context(), a.p, client)
		e := wantError(t, err, auth.KindReauthRequired, msgReauthRequired)
		if want := []string{auth.MethodSMS, auth.MethodRecoveryCode}; !slices.Equal(e.Methods, want) {
			t.Errorf("methods: got %v, want %v", e.Methods, want)
		}
		s.wantMethods(t, a.p, auth.MethodSMS, auth.MethodRecoveryCode)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		// The role requires a second factor and the phone is the last one.
		s := mustService(t, withRoles("user"))
		a := s.mustAccount(t, "ada@example.com", auth.MethodSMS)
		s.mustStepUp(t, a)
		err := s.RemovePhone(t.Context(), a.p, client)
		wantError(t, err, auth.KindConflict, msgRoleRequiresMFA)
		s.wantMethods(t, a.p, auth.MethodSMS, auth.MethodRecoveryCode)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := mustService(t)
		a := s.mustAccount(t, "ada@example.com", auth.MethodTOTP)
		s.mustStepUp(t, a)
		err := s.RemovePhone(t.Context(), a.p, client)
		wantError(t, err, auth.KindNotFound, msgNoPhone)
	})
}
