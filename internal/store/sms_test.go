package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// The public messages of the sending caps.
const (
	msgCooldown = "A code was just sent to this number; wait a moment before asking for another."
	msgNumber   = "Too many codes sent to this number; try again later."
	msgAccount  = "Too many codes sent for this account; try again later."
	msgIP       = "Too many codes requested from your network; try again later."
	msgGlobal   = "Too many text messages are being sent right now; try again later."
)

const testIP = "203.0.113.7"

// mustSMSUser creates user name@example.com with a session whose token is
// name.
func mustSMSUser(tb testing.TB, db *store.DB, name string) (*auth.User, *auth.Session) {
	tb.Helper()
	u := mustCreateUser(tb, db, name+"@example.com")
	return u, mustCreateSession(tb, db, u.ID, name)
}

// mustPendingPhone stores number as the user's pending number.
func mustPendingPhone(tb testing.TB, db *store.DB, userID int64, number string, at time.Time) *auth.Phone {
	tb.Helper()
	p := &auth.Phone{UserID: userID, Number: number, CreatedAt: at}
	if err := db.PutPendingPhone(tb.Context(), p); err != nil {
		tb.Fatalf("put pending phone: %v", err)
	}
	return p
}

// smsCode returns a code for the session's user, sent to number at now and
// good for five minutes.
func smsCode(s *auth.Session, purpose, number string, now time.Time) *auth.SMSCode {
	return &auth.SMSCode{
		UserID: s.UserID, SessionID: s.ID, Purpose: purpose, Number: number,
		Hash:      append([]byte("k1:"), hash(purpose+number+now.String())...),
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
	}
}

// reserveSMS reserves c under the caps of l, and returns a refusal as the
// service reports it.
func reserveSMS(ctx context.Context, db *store.DB, c *auth.SMSCode, ip string, now time.Time, l auth.SMSLimits) error {
	refusal, err := db.ReserveSMS(ctx, c, ip, now, auth.SMSCaps(l))
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal.Err(now)
	}
	return nil
}

func mustReserveSMS(tb testing.TB, db *store.DB, c *auth.SMSCode, ip string, now time.Time, l auth.SMSLimits) *auth.SMSCode {
	tb.Helper()
	if err := reserveSMS(tb.Context(), db, c, ip, now, l); err != nil {
		tb.Fatalf("reserve sms at %v: %v", now, err)
	}
	return c
}

// mustSendSMS reserves a login code for the session to number at now.
func mustSendSMS(tb testing.TB, db *store.DB, s *auth.Session, number, ip string, now time.Time, l auth.SMSLimits) *auth.SMSCode {
	tb.Helper()
	return mustReserveSMS(tb, db, smsCode(s, auth.PurposeLogin, number, now), ip, now, l)
}

func wantRateLimited(tb testing.TB, err error, message string, retryAfter time.Duration) {
	tb.Helper()
	wantKind(tb, err, auth.KindRateLimited, message)
	e, _ := errors.AsType[*auth.Error](err)
	if e.RetryAfter != retryAfter {
		tb.Fatalf("got RetryAfter %v, want %v", e.RetryAfter, retryAfter)
	}
}

func wantCount(tb testing.TB, db *store.DB, want int64, query string, args ...any) {
	tb.Helper()
	got, err := store.CountForTest(tb.Context(), db, query, args...)
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	if got != want {
		tb.Fatalf("%s %v: got %d, want %d", query, args, got, want)
	}
}

func wantSMS(tb testing.TB, db *store.DB, userID int64, want bool) {
	tb.Helper()
	m, err := db.MFAMethods(tb.Context(), userID)
	if err != nil {
		tb.Fatal(err)
	}
	if m.SMS != want {
		tb.Fatalf("MFAMethods: got SMS %v, want %v", m.SMS, want)
	}
}

func TestDB_Phones(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("None", func(t *testing.T) {
			u := mustCreateUser(t, db, "none@example.com")
			active, pending, err := db.Phones(t.Context(), u.ID)
			if err != nil || active != nil || pending != nil {
				t.Fatalf("got %+v, %+v, %v, want nil, nil, nil", active, pending, err)
			}
		})
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			a := mustAddPhone(t, db, u.ID, auth.FactorActive)
			p := mustPendingPhone(t, db, u.ID, "+447700900123", t0.Add(time.Hour))
			active, pending, err := db.Phones(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(a, active); diff != "" {
				t.Errorf("active mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(p, pending); diff != "" {
				t.Errorf("pending mismatch (-want +got):\n%s", diff)
			}
		})
	})
}

func TestDB_PutPendingPhone(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			p := mustPendingPhone(t, db, u.ID, "+14155550123", t0)
			want := &auth.Phone{ID: p.ID, UserID: u.ID, Number: "+14155550123", State: auth.FactorPending, CreatedAt: t0}
			if p.ID == 0 || !cmp.Equal(p, want) {
				t.Errorf("got %+v, want %+v with an ID", p, want)
			}
			_, pending, _ := db.Phones(t.Context(), u.ID)
			if diff := cmp.Diff(want, pending); diff != "" {
				t.Errorf("pending mismatch (-want +got):\n%s", diff)
			}
			// A pending number is not a method.
			wantSMS(t, db, u.ID, false)
		})
		t.Run("ReplacesPending", func(t *testing.T) {
			u := mustCreateUser(t, db, "replace@example.com")
			a := mustAddPhone(t, db, u.ID, auth.FactorActive)
			first := mustPendingPhone(t, db, u.ID, "+14155550001", t0)
			second := mustPendingPhone(t, db, u.ID, "+14155550002", t0.Add(time.Minute))
			active, pending, _ := db.Phones(t.Context(), u.ID)
			if pending == nil || pending.ID != second.ID || pending.Number != "+14155550002" {
				t.Errorf("got pending %+v, want the second one", pending)
			}
			if active == nil || active.ID != a.ID {
				t.Errorf("got active %+v, want %d untouched", active, a.ID)
			}
			wantCount(t, db, 0, `SELECT COUNT(*) FROM phones WHERE id = $1`, first.ID)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.PutPendingPhone(t.Context(), &auth.Phone{UserID: 999, Number: "+14155550123", CreatedAt: t0}))
		})
	})
}

func TestTx_ActivatePhone(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		const noPending = "No pending phone number to confirm."
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			old := mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustRecoveryCode(t, db, u.ID, "old-rc")
			p := mustPendingPhone(t, db, u.ID, "+447700900123", t0)
			now := t0.Add(time.Minute)
			rc := &auth.RecoveryCode{Hash: hash("rc"), CreatedAt: now}
			err := activatePhone(t.Context(), db, u.ID, p.ID, now, rc,
				&auth.Event{Type: auth.EventPhoneAdded, At: now},
				&auth.Event{Type: auth.EventRecoveryCodeGenerated, At: now})
			if err != nil {
				t.Fatal(err)
			}
			active, pending, err := db.Phones(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := &auth.Phone{ID: p.ID, UserID: u.ID, Number: "+447700900123", State: auth.FactorActive, CreatedAt: t0, ConfirmedAt: now}
			if diff := cmp.Diff(want, active); diff != "" {
				t.Errorf("active mismatch (-want +got):\n%s", diff)
			}
			if pending != nil {
				t.Errorf("got pending %+v, want none", pending)
			}
			wantCount(t, db, 0, `SELECT COUNT(*) FROM phones WHERE id = $1`, old.ID)
			got, err := db.RecoveryCode(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&auth.RecoveryCode{UserID: u.ID, Hash: hash("rc"), CreatedAt: now}, got); diff != "" {
				t.Errorf("recovery code mismatch (-want +got):\n%s", diff)
			}
			wantEventTypes(t, db, u.ID, auth.EventRecoveryCodeGenerated, auth.EventPhoneAdded)
			wantSMS(t, db, u.ID, true)
		})
		t.Run("ErrConflictReplaced", func(t *testing.T) {
			// The pending number was replaced (another tab, another
			// instance) before this confirmation arrived.
			u := mustCreateUser(t, db, "replaced@example.com")
			old := mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustRecoveryCode(t, db, u.ID, "old-rc")
			first := mustPendingPhone(t, db, u.ID, "+14155550001", t0)
			second := mustPendingPhone(t, db, u.ID, "+14155550002", t0)
			err := activatePhone(t.Context(), db, u.ID, first.ID, t0, &auth.RecoveryCode{Hash: hash("rc"), CreatedAt: t0},
				&auth.Event{Type: auth.EventPhoneAdded, At: t0})
			wantKind(t, err, auth.KindConflict, noPending)
			// Rolled back: the active number, the pending one, the
			// recovery code are as they were, and nothing was recorded.
			active, pending, _ := db.Phones(t.Context(), u.ID)
			if active == nil || active.ID != old.ID {
				t.Errorf("got active %+v, want the earlier number %d kept", active, old.ID)
			}
			if pending == nil || pending.ID != second.ID {
				t.Errorf("got pending %+v, want %d kept", pending, second.ID)
			}
			if rc, _ := db.RecoveryCode(t.Context(), u.ID); rc == nil || string(rc.Hash) != string(hash("old-rc")) {
				t.Error("the recovery code was replaced")
			}
			wantEventTypes(t, db, u.ID)
		})
		t.Run("ErrConflictTwice", func(t *testing.T) {
			u := mustCreateUser(t, db, "twice@example.com")
			p := mustPendingPhone(t, db, u.ID, "+14155550123", t0)
			if err := activatePhone(t.Context(), db, u.ID, p.ID, t0, nil); err != nil {
				t.Fatal(err)
			}
			wantKind(t, activatePhone(t.Context(), db, u.ID, p.ID, t0, nil), auth.KindConflict, noPending)
			active, _, _ := db.Phones(t.Context(), u.ID)
			if active == nil || active.ID != p.ID {
				t.Errorf("got active %+v, want %d to stay active", active, p.ID)
			}
		})
		t.Run("ErrConflictOtherUser", func(t *testing.T) {
			a := mustCreateUser(t, db, "owner@example.com")
			b := mustCreateUser(t, db, "thief@example.com")
			p := mustPendingPhone(t, db, a.ID, "+14155550123", t0)
			wantKind(t, activatePhone(t.Context(), db, b.ID, p.ID, t0, nil), auth.KindConflict, noPending)
		})
	})
}

func TestTx_DeletePhone(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustPendingPhone(t, db, u.ID, "+447700900123", t0)
			mustRecoveryCode(t, db, u.ID, "rc")
			ok, err := deleteFactor(t.Context(), db, auth.Tx.DeletePhone, u.ID, &auth.Event{Type: auth.EventPhoneRemoved, At: t0})
			if err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			active, pending, _ := db.Phones(t.Context(), u.ID)
			if active != nil || pending != nil {
				t.Errorf("got %+v, %+v, want both numbers gone", active, pending)
			}
			// No method is left, so the recovery code went too.
			_, err = db.RecoveryCode(t.Context(), u.ID)
			wantNotFound(t, err)
			wantEventTypes(t, db, u.ID, auth.EventPhoneRemoved)
			wantSMS(t, db, u.ID, false)
		})
		t.Run("KeepsCodeWithTOTP", func(t *testing.T) {
			u := mustCreateUser(t, db, "totp@example.com")
			mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustActiveTOTP(t, db, u.ID, 1)
			mustRecoveryCode(t, db, u.ID, "rc")
			if ok, err := deleteFactor(t.Context(), db, auth.Tx.DeletePhone, u.ID); err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			if _, err := db.RecoveryCode(t.Context(), u.ID); err != nil {
				t.Errorf("recovery code: got %v, want it kept beside the authenticator app", err)
			}
		})
		t.Run("PendingTOTPIsNoMethod", func(t *testing.T) {
			u := mustCreateUser(t, db, "pendingtotp@example.com")
			mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			mustRecoveryCode(t, db, u.ID, "rc")
			if ok, err := deleteFactor(t.Context(), db, auth.Tx.DeletePhone, u.ID); err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			_, err := db.RecoveryCode(t.Context(), u.ID)
			wantNotFound(t, err)
		})
		t.Run("NoActive", func(t *testing.T) {
			u := mustCreateUser(t, db, "none@example.com")
			p := mustPendingPhone(t, db, u.ID, "+14155550123", t0)
			ok, err := deleteFactor(t.Context(), db, auth.Tx.DeletePhone, u.ID, &auth.Event{Type: auth.EventPhoneRemoved, At: t0})
			if err != nil || ok {
				t.Fatalf("got %v, %v, want false", ok, err)
			}
			_, pending, _ := db.Phones(t.Context(), u.ID)
			if pending == nil || pending.ID != p.ID {
				t.Errorf("got pending %+v, want it untouched", pending)
			}
			wantEventTypes(t, db, u.ID)
		})
	})
}

// TestTx_ForgetFactors_SMS checks what ResetMFA does to the SMS tables: phones
// and codes go, the send log (which the caps count) stays.
func TestTx_ForgetFactors_SMS(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		_, other := mustSMSUser(t, db, "b")
		mustAddPhone(t, db, u.ID, auth.FactorActive) // ends the user's sessions, so the session comes after
		s := mustCreateSession(t, db, u.ID, "a")
		mustPendingPhone(t, db, u.ID, "+447700900123", t0)
		mustSendSMS(t, db, s, "+14155550123", testIP, t0, auth.SMSLimits{})
		mustReserveSMS(t, db, smsCode(s, auth.PurposeEnroll, "+447700900123", t0), testIP, t0, auth.SMSLimits{})
		kept := mustSendSMS(t, db, other, "+14155550999", testIP, t0, auth.SMSLimits{})

		if err := resetMFA(t.Context(), db, u.ID, &auth.Event{Type: auth.EventMFAResetByAdmin, At: t0}); err != nil {
			t.Fatal(err)
		}
		wantCount(t, db, 0, `SELECT COUNT(*) FROM phones WHERE user_id = $1`, u.ID)
		wantCount(t, db, 0, `SELECT COUNT(*) FROM sms_codes WHERE user_id = $1`, u.ID)
		wantCount(t, db, 2, `SELECT COUNT(*) FROM sms_sends WHERE user_id = $1`, u.ID)
		if _, err := db.LiveSMSCode(t.Context(), other.UserID, other.ID, auth.PurposeLogin, t0, 5); err != nil {
			t.Errorf("another user's code: %v", err)
		}
		if ok, _ := useSMSCode(t.Context(), db, kept.ID, t0, 5); !ok {
			t.Error("another user's code could not be used")
		}
	})
}

func TestDB_ReserveSMS(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "ok")
			c := smsCode(s, auth.PurposeLogin, "+14155550100", t0)
			c.Attempts = 3 // ignored: a new code has no wrong tries
			mustReserveSMS(t, db, c, testIP, t0, auth.DefaultConfig().SMSLimits)
			if c.ID == 0 || c.Attempts != 0 {
				t.Errorf("got ID %d, attempts %d, want an ID and 0 attempts", c.ID, c.Attempts)
			}
			got, err := db.LiveSMSCode(t.Context(), s.UserID, s.ID, auth.PurposeLogin, t0, 5)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("code mismatch (-want +got):\n%s", diff)
			}
			wantCount(t, db, 1, `SELECT COUNT(*) FROM sms_sends
				WHERE code_id = $1 AND user_id = $2 AND number = '+14155550100' AND ip = $3 AND purpose = 'login' AND at = $4`,
				c.ID, s.UserID, testIP, t0.UnixMicro())
		})
		t.Run("CreatedAtDefaultsToNow", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "createdat")
			c := smsCode(s, auth.PurposeLogin, "+14155550101", t0)
			c.CreatedAt = time.Time{}
			mustReserveSMS(t, db, c, testIP, t0.Add(time.Second), auth.SMSLimits{})
			if !c.CreatedAt.Equal(t0.Add(time.Second)) {
				t.Errorf("got CreatedAt %v, want now", c.CreatedAt)
			}
		})
		t.Run("ReplacesLiveCode", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "replace")
			old := mustSendSMS(t, db, s, "+14155550102", testIP, t0, auth.SMSLimits{})
			reauth := mustReserveSMS(t, db, smsCode(s, auth.PurposeReauth, "+14155550102", t0), testIP, t0, auth.SMSLimits{})
			next := mustSendSMS(t, db, s, "+14155550102", testIP, t0.Add(time.Minute), auth.SMSLimits{})
			got, err := db.LiveSMSCode(t.Context(), s.UserID, s.ID, auth.PurposeLogin, t0.Add(time.Minute), 5)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != next.ID {
				t.Errorf("got live code %d, want the newer %d", got.ID, next.ID)
			}
			// The older code is void: it can be neither used nor failed.
			if ok, err := useSMSCode(t.Context(), db, old.ID, t0.Add(time.Minute), 5); err != nil || ok {
				t.Errorf("use of the replaced code: got %v, %v, want false", ok, err)
			}
			wantNotFound(t, failSMSCode(t.Context(), db, old.ID))
			// A code of another purpose in the same session is untouched.
			if got, err := db.LiveSMSCode(t.Context(), s.UserID, s.ID, auth.PurposeReauth, t0.Add(time.Minute), 5); err != nil || got.ID != reauth.ID {
				t.Errorf("got reauth code %+v, %v, want %d still live", got, err, reauth.ID)
			}
			// Both login sends happened, so both still count.
			wantCount(t, db, 3, `SELECT COUNT(*) FROM sms_sends WHERE user_id = $1`, s.UserID)
		})
		t.Run("NumberCooldown", func(t *testing.T) {
			l := auth.SMSLimits{NumberCooldown: 30 * time.Second}
			_, s := mustSMSUser(t, db, "cooldown")
			const number = "+14155550103"
			first := mustSendSMS(t, db, s, number, testIP, t0, l)
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, number, t0.Add(10*time.Second)), testIP, t0.Add(10*time.Second), l)
			wantRateLimited(t, err, msgCooldown, 20*time.Second)
			// Refused means nothing written: the first code is still the
			// live one and still the only send.
			if got, err := db.LiveSMSCode(t.Context(), s.UserID, s.ID, auth.PurposeLogin, t0.Add(10*time.Second), 5); err != nil || got.ID != first.ID {
				t.Errorf("got live code %+v, %v, want %d kept", got, err, first.ID)
			}
			wantCount(t, db, 1, `SELECT COUNT(*) FROM sms_sends WHERE number = $1`, number)
			// Never less than a second.
			err = reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, number, t0), testIP, t0.Add(30*time.Second-500*time.Microsecond), l)
			wantRateLimited(t, err, msgCooldown, time.Second)
			// Another number is not held up.
			mustSendSMS(t, db, s, "+14155550104", testIP, t0.Add(10*time.Second), l)
			// The window is open at its end: 30 s later is allowed.
			mustSendSMS(t, db, s, number, testIP, t0.Add(30*time.Second), l)
		})
		t.Run("NumberPerHour", func(t *testing.T) {
			l := auth.SMSLimits{NumberPerHour: 5}
			const number = "+14155550105"
			// Five sessions of five users: only the number is shared.
			for i := range 5 {
				_, s := mustSMSUser(t, db, fmt.Sprint("hour-", i))
				mustSendSMS(t, db, s, number, fmt.Sprint("198.51.100.", i+1), t0.Add(time.Duration(i)*time.Minute), l)
			}
			_, s := mustSMSUser(t, db, "hour-5")
			now := t0.Add(10 * time.Minute)
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, number, now), testIP, now, l)
			wantRateLimited(t, err, msgNumber, 50*time.Minute) // when the send at t0 leaves the hour
			// The send at t0 has left the window (which is open at its end).
			mustSendSMS(t, db, s, number, testIP, t0.Add(time.Hour), l)
			// Full again: the oldest counted send (t0+1m) frees the next.
			now = t0.Add(time.Hour + time.Second)
			err = reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, number, now), testIP, now, l)
			wantRateLimited(t, err, msgNumber, 59*time.Second)
		})
		t.Run("NumberPerDay", func(t *testing.T) {
			l := auth.SMSLimits{NumberPerHour: 5, NumberPerDay: 3}
			_, s := mustSMSUser(t, db, "day")
			const number = "+14155550106"
			for i := range 3 {
				mustSendSMS(t, db, s, number, testIP, t0.Add(time.Duration(2*i)*time.Hour), l)
			}
			now := t0.Add(6 * time.Hour)
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, number, now), testIP, now, l)
			wantRateLimited(t, err, msgNumber, 18*time.Hour)
			mustSendSMS(t, db, s, number, testIP, t0.Add(24*time.Hour), l)
		})
		t.Run("AccountPerHour", func(t *testing.T) {
			l := auth.SMSLimits{AccountPerHour: 2}
			u, s := mustSMSUser(t, db, "account")
			s2 := mustCreateSession(t, db, u.ID, "account-2")
			mustSendSMS(t, db, s, "+14155550107", testIP, t0, l)
			mustSendSMS(t, db, s2, "+14155550108", "198.51.100.9", t0.Add(time.Minute), l)
			now := t0.Add(2 * time.Minute)
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeReauth, "+14155550109", now), "198.51.100.10", now, l)
			wantRateLimited(t, err, msgAccount, 58*time.Minute)
			// Another account is not held up.
			_, other := mustSMSUser(t, db, "account-other")
			mustSendSMS(t, db, other, "+14155550109", testIP, now, l)
		})
		t.Run("IPPerHour", func(t *testing.T) {
			l := auth.SMSLimits{IPPerHour: 2}
			const ip = "2001:db8::42"
			for i, name := range []string{"ip-a", "ip-b"} {
				_, s := mustSMSUser(t, db, name)
				mustSendSMS(t, db, s, fmt.Sprint("+1415555011", i), ip, t0.Add(time.Duration(i)*time.Minute), l)
			}
			_, s := mustSMSUser(t, db, "ip-c")
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, "+14155550112", t0.Add(time.Minute)), ip, t0.Add(time.Minute), l)
			wantRateLimited(t, err, msgIP, 59*time.Minute)
			mustSendSMS(t, db, s, "+14155550112", "2001:db8::43", t0.Add(time.Minute), l)
		})
		t.Run("GlobalPerHour", func(t *testing.T) {
			// Far from the other subtests' sends, which all count here.
			base := t0.Add(1000 * time.Hour)
			l := auth.SMSLimits{GlobalPerHour: 3}
			for i, name := range []string{"global-a", "global-b", "global-c"} {
				_, s := mustSMSUser(t, db, name)
				mustSendSMS(t, db, s, fmt.Sprint("+1415555012", i), fmt.Sprint("198.51.100.", i+1), base.Add(time.Duration(i)*time.Second), l)
			}
			_, s := mustSMSUser(t, db, "global-d")
			now := base.Add(time.Minute)
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, "+14155550129", now), "198.51.100.99", now, l)
			wantRateLimited(t, err, msgGlobal, 59*time.Minute)
		})
		t.Run("LongestWaitWins", func(t *testing.T) {
			// Both the cooldown (20 s left) and the hourly cap (59m50s
			// left) refuse: the answer is the wait that frees both.
			l := auth.SMSLimits{NumberCooldown: 30 * time.Second, NumberPerHour: 1}
			_, s := mustSMSUser(t, db, "longest")
			mustSendSMS(t, db, s, "+14155550130", testIP, t0, l)
			now := t0.Add(10 * time.Second)
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeLogin, "+14155550130", now), testIP, now, l)
			wantRateLimited(t, err, msgNumber, time.Hour-10*time.Second)
		})
		t.Run("CapsAsGiven", func(t *testing.T) {
			// The store runs the caps it is given, whatever they are: here
			// an account cap that counts codes only.
			caps := []auth.SMSCap{{Name: "account-codes", Scope: auth.SMSScopeAccount, Limit: 1, Window: time.Hour, Message: "m"}}
			u, s := mustSMSUser(t, db, "given")
			if err := db.RecordSMSNotice(t.Context(), u.ID, "+14155550140", testIP, t0); err != nil {
				t.Fatal(err)
			}
			if r, err := db.ReserveSMS(t.Context(), smsCode(s, auth.PurposeLogin, "+14155550140", t0), testIP, t0, caps); r != nil || err != nil {
				t.Fatalf("first code: got %+v, %v, want it reserved (the notice does not count)", r, err)
			}
			now := t0.Add(time.Minute)
			r, err := db.ReserveSMS(t.Context(), smsCode(s, auth.PurposeReauth, "+14155550141", now), testIP, now, caps)
			if err != nil {
				t.Fatal(err)
			}
			want := &auth.SMSRefusal{Cap: caps[0], FreesAt: t0.Add(time.Hour)}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrInvalidCap", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "invalid")
			for _, cp := range []auth.SMSCap{
				{Name: "no-limit", Scope: auth.SMSScopeGlobal, Window: time.Hour},
				{Name: "no-window", Scope: auth.SMSScopeGlobal, Limit: 1},
				{Name: "no-scope", Limit: 1, Window: time.Hour},
			} {
				r, err := db.ReserveSMS(t.Context(), smsCode(s, auth.PurposeLogin, "+14155550142", t0), testIP, t0, []auth.SMSCap{cp})
				if err == nil || r != nil {
					t.Errorf("cap %s: got %+v, %v, want an error", cp.Name, r, err)
				}
			}
			wantCount(t, db, 0, `SELECT COUNT(*) FROM sms_sends WHERE number = '+14155550142'`)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "missing")
			c := smsCode(s, auth.PurposeLogin, "+14155550131", t0)
			c.SessionID = 999
			wantNotFound(t, reserveSMS(t.Context(), db, c, testIP, t0, auth.SMSLimits{}))
			c = smsCode(s, auth.PurposeLogin, "+14155550131", t0)
			c.UserID = 999
			wantNotFound(t, reserveSMS(t.Context(), db, c, testIP, t0, auth.SMSLimits{}))
			wantCount(t, db, 0, `SELECT COUNT(*) FROM sms_sends WHERE number = '+14155550131'`)
		})
		t.Run("Concurrent", func(t *testing.T) {
			// 20 sessions ask for a code to one number at once, with no
			// cooldown: the hourly cap of 5 must hold exactly.
			l := auth.SMSLimits{NumberPerHour: 5}
			const number = "+14155550199"
			u := mustCreateUser(t, db, "race@example.com")
			sessions := make([]*auth.Session, 20)
			for i := range sessions {
				sessions[i] = mustCreateSession(t, db, u.ID, fmt.Sprint("race-", i))
			}
			var next atomic.Int64
			n := concurrently(t, db, 20, func() (bool, error) {
				s := sessions[next.Add(1)-1]
				err := reserveSMS(context.Background(), db, smsCode(s, auth.PurposeLogin, number, t0), testIP, t0, l)
				if auth.IsKind(err, auth.KindRateLimited) {
					return false, nil
				}
				return err == nil, err
			})
			if n != 5 {
				t.Fatalf("%d of 20 concurrent sends to one number accepted, want 5", n)
			}
			wantCount(t, db, 5, `SELECT COUNT(*) FROM sms_sends WHERE number = $1`, number)
			wantCount(t, db, 5, `SELECT COUNT(*) FROM sms_codes WHERE number = $1`, number)
		})
	})
}

func TestDB_CancelSMS(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		l := auth.SMSLimits{NumberCooldown: 30 * time.Second, NumberPerHour: 1}
		t.Run("OK", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "ok")
			const number = "+14155550200"
			c := mustSendSMS(t, db, s, number, testIP, t0, l)
			if err := db.CancelSMS(t.Context(), c.ID); err != nil {
				t.Fatal(err)
			}
			_, err := db.LiveSMSCode(t.Context(), s.UserID, s.ID, auth.PurposeLogin, t0, 5)
			wantNotFound(t, err)
			wantCount(t, db, 0, `SELECT COUNT(*) FROM sms_sends WHERE number = $1`, number)
			// The failed delivery counts against no cap: neither the
			// cooldown nor the hourly cap of 1 refuses the retry.
			mustSendSMS(t, db, s, number, testIP, t0.Add(time.Second), l)
		})
		t.Run("ReplacedCode", func(t *testing.T) {
			// The code was replaced before its delivery failed: its send
			// record still goes, the newer code and its send stay.
			_, s := mustSMSUser(t, db, "replaced")
			old := mustSendSMS(t, db, s, "+14155550201", testIP, t0, auth.SMSLimits{})
			next := mustSendSMS(t, db, s, "+14155550201", testIP, t0, auth.SMSLimits{})
			if err := db.CancelSMS(t.Context(), old.ID); err != nil {
				t.Fatal(err)
			}
			wantCount(t, db, 1, `SELECT COUNT(*) FROM sms_sends WHERE number = '+14155550201'`)
			if got, err := db.LiveSMSCode(t.Context(), s.UserID, s.ID, auth.PurposeLogin, t0, 5); err != nil || got.ID != next.ID {
				t.Errorf("got live code %+v, %v, want %d kept", got, err, next.ID)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.CancelSMS(t.Context(), 999))
		})
	})
}

func TestDB_RecordSMSNotice(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u, s := mustSMSUser(t, db, "notice")
			const number = "+14155550300"
			// No cap stops a notice: three at once to one number.
			for range 3 {
				if err := db.RecordSMSNotice(t.Context(), u.ID, number, testIP, t0); err != nil {
					t.Fatal(err)
				}
			}
			wantCount(t, db, 3, `SELECT COUNT(*) FROM sms_sends WHERE user_id = $1 AND purpose = 'notice' AND code_id IS NULL`, u.ID)
			// The number caps count codes only: a code may follow at once.
			mustSendSMS(t, db, s, number, "198.51.100.1", t0, auth.SMSLimits{NumberCooldown: time.Hour, NumberPerHour: 1, NumberPerDay: 1})
			// The account and IP caps count notices too.
			err := reserveSMS(t.Context(), db, smsCode(s, auth.PurposeReauth, "+14155550301", t0), "198.51.100.2", t0, auth.SMSLimits{AccountPerHour: 4})
			wantRateLimited(t, err, msgAccount, time.Hour)
			_, other := mustSMSUser(t, db, "notice-other")
			err = reserveSMS(t.Context(), db, smsCode(other, auth.PurposeLogin, "+14155550302", t0), testIP, t0, auth.SMSLimits{IPPerHour: 3})
			wantRateLimited(t, err, msgIP, time.Hour)
		})
		t.Run("NoUser", func(t *testing.T) {
			if err := db.RecordSMSNotice(t.Context(), 0, "+14155550303", testIP, t0); err != nil {
				t.Fatal(err)
			}
			wantCount(t, db, 1, `SELECT COUNT(*) FROM sms_sends WHERE number = '+14155550303' AND user_id IS NULL`)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.RecordSMSNotice(t.Context(), 999, "+14155550304", testIP, t0))
		})
	})
}

func TestDB_LiveSMSCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u, s := mustSMSUser(t, db, "a")
		c := mustSendSMS(t, db, s, "+14155550400", testIP, t0, auth.SMSLimits{})
		t.Run("OK", func(t *testing.T) {
			got, err := db.LiveSMSCode(t.Context(), u.ID, s.ID, auth.PurposeLogin, c.ExpiresAt.Add(-time.Microsecond), 5)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("code mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("Expired", func(t *testing.T) {
			_, err := db.LiveSMSCode(t.Context(), u.ID, s.ID, auth.PurposeLogin, c.ExpiresAt, 5)
			wantNotFound(t, err)
		})
		t.Run("OtherBinding", func(t *testing.T) {
			other := mustCreateSession(t, db, u.ID, "a-2")
			_, stranger := mustSMSUser(t, db, "b")
			for _, tc := range []struct {
				name              string
				userID, sessionID int64
				purpose           string
			}{
				{"OtherSession", u.ID, other.ID, auth.PurposeLogin},
				{"OtherPurpose", u.ID, s.ID, auth.PurposeReauth},
				{"OtherUser", stranger.UserID, s.ID, auth.PurposeLogin},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := db.LiveSMSCode(t.Context(), tc.userID, tc.sessionID, tc.purpose, t0, 5)
					wantNotFound(t, err)
				})
			}
		})
		t.Run("Used", func(t *testing.T) {
			if ok, err := useSMSCode(t.Context(), db, c.ID, t0, 5); err != nil || !ok {
				t.Fatalf("use: got %v, %v, want true", ok, err)
			}
			_, err := db.LiveSMSCode(t.Context(), u.ID, s.ID, auth.PurposeLogin, t0, 5)
			wantNotFound(t, err)
		})
	})
}

func TestTx_FailSMSCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("UpToMax", func(t *testing.T) {
			const maxAttempts = 3
			u, s := mustSMSUser(t, db, "a")
			c := mustSendSMS(t, db, s, "+14155550500", testIP, t0, auth.SMSLimits{})
			for i := 1; i <= maxAttempts; i++ {
				if err := failSMSCode(t.Context(), db, c.ID); err != nil {
					t.Fatal(err)
				}
				got, err := db.LiveSMSCode(t.Context(), u.ID, s.ID, auth.PurposeLogin, t0, maxAttempts)
				if i < maxAttempts {
					if err != nil || got.Attempts != i {
						t.Fatalf("after %d wrong tries: got %+v, %v, want the code with %d attempts", i, got, err, i)
					}
					continue
				}
				// The last allowed wrong try voids the code.
				wantNotFound(t, err)
			}
			if ok, err := useSMSCode(t.Context(), db, c.ID, t0, maxAttempts); err != nil || ok {
				t.Fatalf("use after %d wrong tries: got %v, %v, want false", maxAttempts, ok, err)
			}
		})
		t.Run("Concurrent", func(t *testing.T) {
			u, s := mustSMSUser(t, db, "b")
			c := mustSendSMS(t, db, s, "+14155550501", testIP, t0, auth.SMSLimits{})
			concurrently(t, db, 20, func() (bool, error) {
				return true, failSMSCode(context.Background(), db, c.ID)
			})
			got, err := db.LiveSMSCode(t.Context(), u.ID, s.ID, auth.PurposeLogin, t0, 100)
			if err != nil || got.Attempts != 20 {
				t.Fatalf("got %+v, %v, want 20 attempts counted", got, err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, failSMSCode(t.Context(), db, 999))
		})
	})
}

func TestTx_UseSMSCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		use := func(t *testing.T, id int64, now time.Time, want bool) {
			t.Helper()
			ok, err := useSMSCode(t.Context(), db, id, now, 5)
			if err != nil || ok != want {
				t.Fatalf("got %v, %v, want %v", ok, err, want)
			}
		}
		t.Run("OK", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "a")
			c := mustSendSMS(t, db, s, "+14155550600", testIP, t0, auth.SMSLimits{})
			use(t, c.ID, t0.Add(time.Minute), true)
			use(t, c.ID, t0.Add(time.Minute), false) // a code is good once
		})
		t.Run("Expired", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "b")
			c := mustSendSMS(t, db, s, "+14155550601", testIP, t0, auth.SMSLimits{})
			use(t, c.ID, c.ExpiresAt, false)
		})
		t.Run("Unknown", func(t *testing.T) {
			use(t, 999, t0, false)
		})
		t.Run("Concurrent", func(t *testing.T) {
			_, s := mustSMSUser(t, db, "c")
			c := mustSendSMS(t, db, s, "+14155550602", testIP, t0, auth.SMSLimits{})
			n := concurrently(t, db, 20, func() (bool, error) {
				return useSMSCode(context.Background(), db, c.ID, t0, 5)
			})
			if n != 1 {
				t.Fatalf("%d of 20 concurrent uses of one code accepted, want 1", n)
			}
		})
	})
}

func TestDB_DeleteOldSMS(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u, s := mustSMSUser(t, db, "a")
		old := t0.Add(-25 * time.Hour)
		mustSendSMS(t, db, s, "+14155550700", testIP, old, auth.SMSLimits{}) // send and code both old
		recent := t0.Add(-time.Hour)
		mustReserveSMS(t, db, smsCode(s, auth.PurposeReauth, "+14155550700", recent), testIP, recent, auth.SMSLimits{})
		if err := db.RecordSMSNotice(t.Context(), u.ID, "+14155550700", testIP, t0.Add(-30*time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteOldSMS(t.Context(), t0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("got %d rows deleted, want 3 (two sends, one code)", n)
		}
		wantCount(t, db, 1, `SELECT COUNT(*) FROM sms_sends`)
		wantCount(t, db, 1, `SELECT COUNT(*) FROM sms_codes WHERE purpose = 'reauth'`)
		wantCount(t, db, 0, `SELECT COUNT(*) FROM sms_codes WHERE purpose = 'login'`)
	})
}
