package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// mustTOTPUnder gives the session's user a factor sealed under keyID:
// pending until expires, or active when expires is zero (activated from
// the session, which is kept).
func mustTOTPUnder(tb testing.TB, db *store.DB, s *auth.Session, keyID string, expires time.Time) {
	tb.Helper()
	f := &auth.TOTPFactor{UserID: s.UserID, CreatedAt: t0, ExpiresAt: expires}
	if expires.IsZero() {
		f.ExpiresAt = t0.Add(time.Minute)
	}
	err := db.PutPendingTOTP(tb.Context(), f, func(id int64) ([]byte, string, error) {
		return fmt.Appendf(nil, "sealed-%d", id), keyID, nil
	})
	if err != nil {
		tb.Fatalf("put pending totp: %v", err)
	}
	if expires.IsZero() {
		if err := activateTOTP(tb.Context(), db, s.UserID, f.ID, 1, t0, nil); err != nil {
			tb.Fatalf("activate totp: %v", err)
		}
	}
}

func mustRecoveryHash(tb testing.TB, db *store.DB, userID int64, h string) {
	tb.Helper()
	if err := replaceRecoveryCode(tb.Context(), db, &auth.RecoveryCode{UserID: userID, Hash: []byte(h), CreatedAt: t0}); err != nil {
		tb.Fatalf("replace recovery code: %v", err)
	}
}

// mustSMSUnder stores a code of the session under keyID, sent at sentAt
// and good for five minutes.
func mustSMSUnder(tb testing.TB, db *store.DB, s *auth.Session, purpose, keyID string, sentAt time.Time) *auth.SMSCode {
	tb.Helper()
	c := smsCode(s, purpose, "+14155550123", sentAt)
	c.Hash = append([]byte(keyID+":"), hash(purpose)...)
	return mustReserveSMS(tb, db, c, testIP, sentAt, auth.SMSLimits{})
}

func TestDB_KeyUsage(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		usage := func(now time.Time) []store.KeyUsage {
			t.Helper()
			got, err := db.KeyUsage(ctx, now)
			if err != nil {
				t.Fatalf("key usage: %v", err)
			}
			return got
		}
		if got := usage(t0); len(got) != 0 {
			t.Fatalf("empty database: got %v, want nothing", got)
		}

		u1, s1 := mustSMSUser(t, db, "one")
		mustTOTPUnder(t, db, s1, "k1", time.Time{})
		mustTOTPUnder(t, db, s1, "k2", t0.Add(10*time.Minute)) // pending
		mustRecoveryHash(t, db, u1.ID, "k1:"+string(hash("one")))
		mustSMSUnder(t, db, s1, auth.PurposeLogin, "k1", t0)
		used := mustSMSUnder(t, db, s1, auth.PurposeReauth, "k1", t0)
		if ok, err := useSMSCode(ctx, db, used.ID, t0, 5); err != nil || !ok {
			t.Fatalf("use sms code: %v %v", ok, err)
		}
		mustSMSUnder(t, db, s1, auth.PurposeEnroll, "k1", t0.Add(-10*time.Minute)) // expired

		u2, s2 := mustSMSUser(t, db, "two")
		mustTOTPUnder(t, db, s2, "k2", time.Time{})
		mustTOTPUnder(t, db, s2, "k1", t0.Add(-time.Second)) // pending, expired
		mustRecoveryHash(t, db, u2.ID, "k2:"+string(hash("two")))
		mustSMSUnder(t, db, s2, auth.PurposeReauth, "k3", t0)

		u3 := mustCreateUser(t, db, "three@example.com")
		mustRecoveryHash(t, db, u3.ID, "no key id")

		tests := []struct {
			name string
			now  time.Time
			want []store.KeyUsage
		}{
			{"Now", t0, []store.KeyUsage{
				{KeyID: "", RecoveryCodes: 1},
				{KeyID: "k1", TOTPActive: 1, RecoveryCodes: 1, SMSCodes: 1},
				{KeyID: "k2", TOTPActive: 1, TOTPPending: 1, RecoveryCodes: 1},
				{KeyID: "k3", SMSCodes: 1},
			}},
			// The SMS codes and the pending enrolment have lapsed.
			{"AnHourLater", t0.Add(time.Hour), []store.KeyUsage{
				{KeyID: "", RecoveryCodes: 1},
				{KeyID: "k1", TOTPActive: 1, RecoveryCodes: 1},
				{KeyID: "k2", TOTPActive: 1, RecoveryCodes: 1},
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, usage(tc.now)); diff != "" {
					t.Errorf("key usage (-want +got):\n%s", diff)
				}
			})
		}
	})
}
