package store_test

import (
	"context"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestTx_ClearFailuresSetsPreferred(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			if err := setPreferred(t.Context(), db, u.ID, auth.MethodSMS); err != nil {
				t.Fatal(err)
			}
			got, _ := db.UserByID(t.Context(), u.ID)
			if got.PreferredMethod != auth.MethodSMS {
				t.Errorf("got preferred method %q, want %q", got.PreferredMethod, auth.MethodSMS)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, setPreferred(t.Context(), db, 999, auth.MethodSMS))
		})
	})
}

func TestDB_MFAMethods(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		check := func(t *testing.T, userID int64, want auth.MethodSet) {
			t.Helper()
			got, err := db.MFAMethods(t.Context(), userID)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}
		t.Run("None", func(t *testing.T) {
			u := mustCreateUser(t, db, "none@example.com")
			check(t, u.ID, auth.MethodSet{})
		})
		t.Run("PendingDoesNotCount", func(t *testing.T) {
			u := mustCreateUser(t, db, "pending@example.com")
			mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			mustAddPhone(t, db, u.ID, auth.FactorPending)
			check(t, u.ID, auth.MethodSet{})
		})
		t.Run("TOTP", func(t *testing.T) {
			u := mustCreateUser(t, db, "totp@example.com")
			mustActiveTOTP(t, db, u.ID, 1)
			mustRecoveryCode(t, db, u.ID, "rc")
			check(t, u.ID, auth.MethodSet{TOTP: true, RecoveryCode: true})
		})
		t.Run("SMS", func(t *testing.T) {
			u := mustCreateUser(t, db, "sms@example.com")
			mustAddPhone(t, db, u.ID, auth.FactorActive)
			check(t, u.ID, auth.MethodSet{SMS: true})
		})
	})
}

func TestDB_MFAState(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			got, err := db.MFAState(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != (auth.MFAState{}) {
				t.Errorf("got %+v, want the zero state", got)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.MFAState(t.Context(), 999)
			wantNotFound(t, err)
		})
	})
}

func TestTx_CountAttempt(t *testing.T) {
	policy := auth.LockoutPolicy{LockEvery: 10, LockFor: 15 * time.Minute, MaxFailures: 100}
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			for i := 1; i <= 9; i++ {
				st, ok, err := beginAttempt(t.Context(), db, u.ID, t0, policy, true)
				if err != nil || !ok || st != (auth.MFAState{Failures: i}) {
					t.Fatalf("attempt %d: got %+v, %v, %v, want admitted with %d failures", i, st, ok, err, i)
				}
			}
			// The tenth is admitted and locks.
			locked := t0.Add(policy.LockFor)
			st, ok, err := beginAttempt(t.Context(), db, u.ID, t0, policy, true)
			if err != nil || !ok || st != (auth.MFAState{Failures: 10, LockedUntil: locked}) {
				t.Fatalf("attempt 10: got %+v, %v, %v, want admitted and locked until %v", st, ok, err, locked)
			}
			// Locked: nothing is admitted, nothing is counted.
			for _, now := range []time.Time{t0, locked.Add(-time.Microsecond)} {
				st, ok, err = beginAttempt(t.Context(), db, u.ID, now, policy, true)
				if err != nil || ok || st != (auth.MFAState{Failures: 10, LockedUntil: locked}) {
					t.Fatalf("while locked: got %+v, %v, %v, want refused", st, ok, err)
				}
			}
			// Once the lock has run out, attempts are admitted again.
			st, ok, err = beginAttempt(t.Context(), db, u.ID, locked, policy, true)
			if err != nil || !ok || st != (auth.MFAState{Failures: 11}) {
				t.Fatalf("after the lock: got %+v, %v, %v, want admitted with 11 failures", st, ok, err)
			}
		})
		t.Run("Capped", func(t *testing.T) {
			u := mustCreateUser(t, db, "capped@example.com")
			p := auth.LockoutPolicy{LockEvery: 10, LockFor: time.Minute, MaxFailures: 3}
			for i := 1; i <= 3; i++ {
				if _, ok, err := beginAttempt(t.Context(), db, u.ID, t0, p, true); err != nil || !ok {
					t.Fatalf("attempt %d: got %v, %v, want admitted", i, ok, err)
				}
			}
			st, ok, err := beginAttempt(t.Context(), db, u.ID, t0, p, true)
			if err != nil || ok || st.Failures != 3 {
				t.Fatalf("at the cap: got %+v, %v, %v, want refused at 3", st, ok, err)
			}
			// Uncapped (e.g. a recovery code attempt), the cap does not apply.
			if st, ok, err := beginAttempt(t.Context(), db, u.ID, t0, p, false); err != nil || !ok || st.Failures != 4 {
				t.Fatalf("uncapped: got %+v, %v, %v, want admitted with 4", st, ok, err)
			}
			// MaxFailures 0 is no cap.
			p.MaxFailures = 0
			if _, ok, err := beginAttempt(t.Context(), db, u.ID, t0, p, true); err != nil || !ok {
				t.Fatalf("no cap: got %v, %v, want admitted", ok, err)
			}
		})
		t.Run("NeverLock", func(t *testing.T) {
			u := mustCreateUser(t, db, "never@example.com")
			p := auth.LockoutPolicy{LockEvery: 0, LockFor: time.Minute}
			for i := 1; i <= 12; i++ {
				if st, ok, err := beginAttempt(t.Context(), db, u.ID, t0, p, true); err != nil || !ok || !st.LockedUntil.IsZero() {
					t.Fatalf("attempt %d: got %+v, %v, %v, want admitted, unlocked", i, st, ok, err)
				}
			}
		})
		t.Run("Concurrent", func(t *testing.T) {
			u := mustCreateUser(t, db, "concurrent@example.com")
			n := concurrently(t, db, 50, func() (bool, error) {
				_, ok, err := beginAttempt(context.Background(), db, u.ID, t0, policy, true)
				return ok, err
			})
			if n != 10 {
				t.Fatalf("%d of 50 parallel attempts admitted, want 10", n)
			}
			st, _ := db.MFAState(t.Context(), u.ID)
			if st.Failures != 10 {
				t.Errorf("got %d failures, want 10", st.Failures)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, _, err := beginAttempt(t.Context(), db, 999, t0, policy, true)
			wantNotFound(t, err)
		})
	})
}

func TestTx_ClearFailures(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			p := auth.LockoutPolicy{LockEvery: 1, LockFor: time.Hour}
			if _, ok, err := beginAttempt(t.Context(), db, u.ID, t0, p, false); err != nil || !ok {
				t.Fatalf("attempt: %v, %v", ok, err)
			}
			if err := clearFailures(t.Context(), db, u.ID); err != nil {
				t.Fatal(err)
			}
			if st, _ := db.MFAState(t.Context(), u.ID); st != (auth.MFAState{}) {
				t.Errorf("got %+v, want the zero state", st)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, clearFailures(t.Context(), db, 999))
		})
	})
}

func TestTx_SuccessUnit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		f := mustActiveTOTP(t, db, u.ID, 100)
		sess := mustCreateSession(t, db, u.ID, "s")
		fail := func(t *testing.T) {
			t.Helper()
			if _, ok, err := beginAttempt(t.Context(), db, u.ID, t0, auth.LockoutPolicy{LockEvery: 10, LockFor: time.Minute}, true); err != nil || !ok {
				t.Fatalf("begin attempt: %v %v", ok, err)
			}
		}
		success := func(step int64) mfaSuccess {
			return mfaSuccess{
				UserID: u.ID, FactorID: f.ID, Step: step, PreferredMethod: auth.MethodTOTP,
				ReauthSessionID: sess.ID, ReauthMethod: auth.MethodTOTP, At: t0,
				Events: []*auth.Event{{Type: auth.EventMFASucceeded, At: t0, Detail: "totp reauth"}},
			}
		}
		t.Run("OK", func(t *testing.T) {
			fail(t)
			ok, err := recordSuccess(t.Context(), db, success(101))
			if err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			st, _ := db.MFAState(t.Context(), u.ID)
			if st.Failures != 0 {
				t.Errorf("failures %d, want 0 after a success", st.Failures)
			}
			s, got, err := db.SessionByTokenHash(t.Context(), hash("s"))
			if err != nil {
				t.Fatal(err)
			}
			if !s.ReauthAt.Equal(t0) || s.ReauthMethod != auth.MethodTOTP || got.PreferredMethod != auth.MethodTOTP {
				t.Errorf("got reauth %v %q, preferred %q", s.ReauthAt, s.ReauthMethod, got.PreferredMethod)
			}
		})
		t.Run("ReplayChangesNothing", func(t *testing.T) {
			fail(t)
			before, _ := db.ListEvents(t.Context(), u.ID, 100)
			ok, err := recordSuccess(t.Context(), db, success(101))
			if err != nil || ok {
				t.Fatalf("got %v, %v, want false for a used step", ok, err)
			}
			st, _ := db.MFAState(t.Context(), u.ID)
			after, _ := db.ListEvents(t.Context(), u.ID, 100)
			if st.Failures != 1 || len(after) != len(before) {
				t.Errorf("a replay changed state: failures %d (want 1), events %d -> %d", st.Failures, len(before), len(after))
			}
		})
		t.Run("Concurrent", func(t *testing.T) {
			n := concurrently(t, db, 20, func() (bool, error) {
				s := success(300)
				s.Events = nil
				return recordSuccess(context.Background(), db, s)
			})
			if n != 1 {
				t.Fatalf("%d of 20 concurrent successes with one step recorded, want 1", n)
			}
		})
		t.Run("WithoutTOTP", func(t *testing.T) {
			ok, err := recordSuccess(t.Context(), db, mfaSuccess{UserID: u.ID, At: t0})
			if err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
		})
	})
}

func TestTx_AttemptUnit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		f := mustActiveTOTP(t, db, u.ID, 100)
		p := auth.LockoutPolicy{LockEvery: 10, LockFor: time.Minute, MaxFailures: 100}
		win := func(step int64) *mfaSuccess {
			return &mfaSuccess{UserID: u.ID, FactorID: f.ID, Step: step, At: t0,
				Events: []*auth.Event{{Type: auth.EventMFASucceeded, At: t0}}}
		}
		attempt := func(t *testing.T, now time.Time, s *mfaSuccess) (auth.MFAState, bool, bool) {
			t.Helper()
			st, admitted, ok, err := attemptMFA(t.Context(), db, u.ID, now, p, true, s)
			if err != nil {
				t.Fatal(err)
			}
			return st, admitted, ok
		}
		t.Run("FailureCounts", func(t *testing.T) {
			if st, admitted, ok := attempt(t, t0, nil); !admitted || ok || st.Failures != 1 {
				t.Fatalf("got %+v admitted %v ok %v, want one counted failure", st, admitted, ok)
			}
		})
		t.Run("SuccessResets", func(t *testing.T) {
			if st, admitted, ok := attempt(t, t0, win(101)); !admitted || !ok || st.Failures != 0 {
				t.Fatalf("got %+v admitted %v ok %v, want a success that clears the count", st, admitted, ok)
			}
		})
		t.Run("ReplayKeepsTheCount", func(t *testing.T) {
			st, admitted, ok := attempt(t, t0, win(101))
			if !admitted || ok || st.Failures != 1 {
				t.Fatalf("got %+v admitted %v ok %v, want a counted replay", st, admitted, ok)
			}
			if got, _ := db.MFAState(t.Context(), u.ID); got.Failures != 1 {
				t.Fatalf("stored failures %d, want 1", got.Failures)
			}
		})
		t.Run("LockedChangesNothing", func(t *testing.T) {
			for range 9 {
				attempt(t, t0, nil)
			}
			st, admitted, ok := attempt(t, t0, win(102))
			if admitted || ok || !st.LockedUntil.Equal(t0.Add(time.Minute)) {
				t.Fatalf("got %+v admitted %v ok %v, want refused while locked", st, admitted, ok)
			}
			// The right code during the lock consumed nothing: it works after.
			if _, admitted, ok := attempt(t, t0.Add(2*time.Minute), win(102)); !admitted || !ok {
				t.Fatalf("after the lock: admitted %v ok %v, want the step still usable", admitted, ok)
			}
		})
		t.Run("ConcurrentBurst", func(t *testing.T) {
			later := t0.Add(time.Hour)
			n := concurrently(t, db, 50, func() (bool, error) {
				_, admitted, _, err := attemptMFA(context.Background(), db, u.ID, later, p, true, nil)
				return admitted, err
			})
			if n != 10 {
				t.Fatalf("%d of 50 concurrent attempts admitted, want 10", n)
			}
		})
	})
}

func TestTx_ForgetFactors(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			other := mustCreateUser(t, db, "b@example.com")
			mustActiveTOTP(t, db, u.ID, 1)
			mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustRecoveryCode(t, db, u.ID, "rc")
			mustCreateSession(t, db, u.ID, "s1")
			mustCreateSession(t, db, u.ID, "s2")
			mustCreateSession(t, db, other.ID, "other")
			if err := setPreferred(t.Context(), db, u.ID, auth.MethodTOTP); err != nil {
				t.Fatal(err)
			}
			p := auth.LockoutPolicy{LockEvery: 1, LockFor: time.Hour}
			if _, _, err := beginAttempt(t.Context(), db, u.ID, t0, p, false); err != nil {
				t.Fatal(err)
			}

			if err := resetMFA(t.Context(), db, u.ID, &auth.Event{Type: auth.EventMFAResetByAdmin, At: t0}); err != nil {
				t.Fatal(err)
			}

			if m, _ := db.MFAMethods(t.Context(), u.ID); m != (auth.MethodSet{}) {
				t.Errorf("got methods %+v, want none", m)
			}
			active, pending, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if active != nil || pending != nil {
				t.Errorf("got factors %+v, %+v, want none", active, pending)
			}
			phones, _ := store.CountForTest(t.Context(), db, `SELECT COUNT(*) FROM phones WHERE user_id = $1`, u.ID)
			if phones != 0 {
				t.Errorf("got %d phones, want 0", phones)
			}
			_, err := db.RecoveryCode(t.Context(), u.ID)
			wantNotFound(t, err)
			for _, token := range []string{"s1", "s2"} {
				_, _, err := db.SessionByTokenHash(t.Context(), hash(token))
				wantNotFound(t, err)
			}
			if _, _, err := db.SessionByTokenHash(t.Context(), hash("other")); err != nil {
				t.Errorf("another user's session: %v", err)
			}
			if st, _ := db.MFAState(t.Context(), u.ID); st != (auth.MFAState{}) {
				t.Errorf("got state %+v, want the zero state", st)
			}
			if got, _ := db.UserByID(t.Context(), u.ID); got.PreferredMethod != "" {
				t.Errorf("got preferred method %q, want none", got.PreferredMethod)
			}
			wantEventTypes(t, db, u.ID, auth.EventMFAResetByAdmin)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, resetMFA(t.Context(), db, 999, &auth.Event{Type: auth.EventMFAResetByAdmin, At: t0}))
		})
	})
}

// BenchmarkAttemptMFA measures what a right TOTP code writes: the admitted
// attempt, the consumed step, the cleared count, the session's step-up and
// the mfa_succeeded event, in one transaction, each accepted.
func BenchmarkAttemptMFA(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, db *store.DB) {
		u := mustCreateUser(b, db, "bench@example.com")
		f := mustActiveTOTP(b, db, u.ID, 0)
		sess := mustCreateSession(b, db, u.ID, "bench")
		p := auth.LockoutPolicy{LockEvery: 10, LockFor: 15 * time.Minute, MaxFailures: 100}
		b.ResetTimer()
		for i := range b.N {
			s := &mfaSuccess{
				UserID: u.ID, FactorID: f.ID, Step: int64(i) + 1, At: t0, PreferredMethod: auth.MethodTOTP,
				ReauthSessionID: sess.ID, ReauthMethod: auth.MethodTOTP,
				Events: []*auth.Event{{Type: auth.EventMFASucceeded, At: t0, IP: "192.0.2.1", UserAgent: "bench", Detail: "totp reauth"}},
			}
			_, admitted, ok, err := attemptMFA(context.Background(), db, u.ID, t0, p, true, s)
			if err != nil || !admitted || !ok {
				b.Fatalf("step %d: admitted %v ok %v err %v, want a success", i+1, admitted, ok, err)
			}
		}
	})
}
