package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestDB_PutPendingTOTP(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			f := &auth.TOTPFactor{UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
			var sealedID int64
			err := db.PutPendingTOTP(t.Context(), f, func(id int64) ([]byte, string, error) {
				sealedID = id
				return []byte("sealed"), "k1", nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if f.ID == 0 || f.ID != sealedID {
				t.Errorf("got ID %d, sealed with %d, want the same non-zero id", f.ID, sealedID)
			}
			want := &auth.TOTPFactor{
				ID: f.ID, UserID: u.ID, State: auth.FactorPending, SealedSecret: []byte("sealed"), KeyID: "k1",
				LastStep: -1, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
			}
			if diff := cmp.Diff(want, f); diff != "" {
				t.Errorf("factor after put mismatch (-want +got):\n%s", diff)
			}
			_, pending, err := db.TOTPFactors(t.Context(), u.ID, t0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, pending); diff != "" {
				t.Errorf("stored factor mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ReplacesPending", func(t *testing.T) {
			u := mustCreateUser(t, db, "b@example.com")
			first := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			second := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			_, pending, err := db.TOTPFactors(t.Context(), u.ID, t0)
			if err != nil {
				t.Fatal(err)
			}
			if pending == nil || pending.ID != second.ID || first.ID == second.ID {
				t.Fatalf("got pending %+v, want the second (%d), not the first (%d)", pending, second.ID, first.ID)
			}
		})
		t.Run("SealError", func(t *testing.T) {
			// A failing seal rolls everything back: the earlier pending
			// factor stays.
			u := mustCreateUser(t, db, "c@example.com")
			first := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			f := &auth.TOTPFactor{UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			err := db.PutPendingTOTP(t.Context(), f, func(int64) ([]byte, string, error) { return nil, "", errors.New("no key") })
			if err == nil {
				t.Fatal("got no error from a failing seal")
			}
			if f.ID != 0 {
				t.Errorf("got ID %d after a failure, want 0", f.ID)
			}
			_, pending, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if pending == nil || pending.ID != first.ID {
				t.Errorf("got pending %+v, want the earlier one (%d)", pending, first.ID)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			f := &auth.TOTPFactor{UserID: 999, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			err := db.PutPendingTOTP(t.Context(), f, func(int64) ([]byte, string, error) { return []byte("s"), "k", nil })
			wantNotFound(t, err)
		})
	})
}

func TestDB_TOTPFactors(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("None", func(t *testing.T) {
			u := mustCreateUser(t, db, "none@example.com")
			active, pending, err := db.TOTPFactors(t.Context(), u.ID, t0)
			if err != nil || active != nil || pending != nil {
				t.Fatalf("got %v, %v, %v, want nil, nil, nil", active, pending, err)
			}
		})
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			a := mustActiveTOTP(t, db, u.ID, 7)
			p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Minute))
			active, pending, err := db.TOTPFactors(t.Context(), u.ID, t0)
			if err != nil {
				t.Fatal(err)
			}
			wantActive := &auth.TOTPFactor{
				ID: a.ID, UserID: u.ID, State: auth.FactorActive, SealedSecret: a.SealedSecret, KeyID: "k1",
				LastStep: 7, CreatedAt: t0, ConfirmedAt: t0,
			}
			if diff := cmp.Diff(wantActive, active); diff != "" {
				t.Errorf("active mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(p, pending); diff != "" {
				t.Errorf("pending mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ExpiredPending", func(t *testing.T) {
			u := mustCreateUser(t, db, "expired@example.com")
			mustPendingTOTP(t, db, u.ID, t0.Add(time.Minute))
			_, pending, err := db.TOTPFactors(t.Context(), u.ID, t0.Add(time.Minute))
			if err != nil || pending != nil {
				t.Fatalf("got %+v, %v, want no pending factor once expired", pending, err)
			}
		})
	})
}

func TestTx_ConsumeTOTPStep(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		f := mustActiveTOTP(t, db, u.ID, 100)
		consume := func(t *testing.T, step int64, want bool) {
			t.Helper()
			got, err := consumeStep(t.Context(), db, f.ID, step)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("consume step %d: got %v, want %v", step, got, want)
			}
		}
		t.Run("OK", func(t *testing.T) {
			consume(t, 101, true)
		})
		t.Run("Replay", func(t *testing.T) {
			consume(t, 102, true)
			consume(t, 102, false)
			consume(t, 100, false) // the step used at confirmation
		})
		t.Run("OlderAfterNewer", func(t *testing.T) {
			consume(t, 110, true)
			consume(t, 109, false)
		})
		t.Run("Concurrent", func(t *testing.T) {
			n := concurrently(t, db, 20, func() (bool, error) {
				return consumeStep(context.Background(), db, f.ID, 200)
			})
			if n != 1 {
				t.Fatalf("%d of 20 concurrent uses of one step accepted, want 1", n)
			}
		})
		t.Run("PendingFactor", func(t *testing.T) {
			p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			ok, err := consumeStep(t.Context(), db, p.ID, 1000)
			if err != nil || ok {
				t.Fatalf("got %v, %v, want false: a pending factor has no steps to consume", ok, err)
			}
		})
	})
}

func TestTx_ActivateTOTP(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		const noPending = "No pending enrolment to confirm."
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			old := mustActiveTOTP(t, db, u.ID, 5)
			p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			now := t0.Add(time.Minute)
			rc := &auth.RecoveryCode{Hash: hash("rc"), CreatedAt: now}
			err := activateTOTP(t.Context(), db, u.ID, p.ID, 42, now, rc,
				&auth.Event{Type: auth.EventTOTPEnrolled, At: now},
				&auth.Event{Type: auth.EventRecoveryCodeGenerated, At: now})
			if err != nil {
				t.Fatal(err)
			}
			active, pending, err := db.TOTPFactors(t.Context(), u.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			if pending != nil {
				t.Errorf("got pending %+v, want none", pending)
			}
			if active == nil || active.ID != p.ID || active.ID == old.ID || active.LastStep != 42 ||
				!active.ConfirmedAt.Equal(now) || !active.ExpiresAt.IsZero() || active.State != auth.FactorActive {
				t.Errorf("got active %+v, want factor %d confirmed at %v with last step 42", active, p.ID, now)
			}
			all, _ := db.AllTOTPFactors(t.Context())
			for _, f := range all {
				if f.ID == old.ID {
					t.Errorf("the earlier active factor %d is still there", old.ID)
				}
			}
			got, err := db.RecoveryCode(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&auth.RecoveryCode{UserID: u.ID, Hash: hash("rc"), CreatedAt: now}, got); diff != "" {
				t.Errorf("recovery code mismatch (-want +got):\n%s", diff)
			}
			wantEventTypes(t, db, u.ID, auth.EventRecoveryCodeGenerated, auth.EventTOTPEnrolled)
		})
		t.Run("ErrConflictExpired", func(t *testing.T) {
			u := mustCreateUser(t, db, "expired@example.com")
			old := mustActiveTOTP(t, db, u.ID, 5)
			p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Minute))
			err := activateTOTP(t.Context(), db, u.ID, p.ID, 42, t0.Add(time.Minute), nil,
				&auth.Event{Type: auth.EventTOTPEnrolled, At: t0})
			wantKind(t, err, auth.KindConflict, noPending)
			// Rolled back: the earlier active factor is still active, and
			// nothing was recorded.
			active, _, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if active == nil || active.ID != old.ID {
				t.Errorf("got active %+v, want the earlier factor %d kept", active, old.ID)
			}
			wantEventTypes(t, db, u.ID)
		})
		t.Run("ErrConflictTwice", func(t *testing.T) {
			u := mustCreateUser(t, db, "twice@example.com")
			p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			if err := activateTOTP(t.Context(), db, u.ID, p.ID, 1, t0, nil); err != nil {
				t.Fatal(err)
			}
			err := activateTOTP(t.Context(), db, u.ID, p.ID, 2, t0, nil)
			wantKind(t, err, auth.KindConflict, noPending)
			active, _, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if active == nil || active.ID != p.ID {
				t.Errorf("got active %+v, want factor %d to stay active", active, p.ID)
			}
		})
		t.Run("ErrConflictOtherUser", func(t *testing.T) {
			a := mustCreateUser(t, db, "owner@example.com")
			b := mustCreateUser(t, db, "thief@example.com")
			p := mustPendingTOTP(t, db, a.ID, t0.Add(time.Hour))
			wantKind(t, activateTOTP(t.Context(), db, b.ID, p.ID, 1, t0, nil), auth.KindConflict, noPending)
		})
	})
}

func TestTx_DeleteTOTP(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			mustActiveTOTP(t, db, u.ID, 1)
			mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			mustRecoveryCode(t, db, u.ID, "rc")
			ok, err := deleteFactor(t.Context(), db, auth.Tx.DeleteTOTP, u.ID, &auth.Event{Type: auth.EventTOTPRemoved, At: t0})
			if err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			active, pending, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if active != nil || pending != nil {
				t.Errorf("got %+v, %+v, want both factors gone", active, pending)
			}
			// No method is left, so the recovery code went too.
			_, err = db.RecoveryCode(t.Context(), u.ID)
			wantNotFound(t, err)
			wantEventTypes(t, db, u.ID, auth.EventTOTPRemoved)
		})
		t.Run("KeepsCodeWithPhone", func(t *testing.T) {
			u := mustCreateUser(t, db, "phone@example.com")
			mustActiveTOTP(t, db, u.ID, 1)
			mustAddPhone(t, db, u.ID, auth.FactorActive)
			mustRecoveryCode(t, db, u.ID, "rc")
			if ok, err := deleteFactor(t.Context(), db, auth.Tx.DeleteTOTP, u.ID); err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			if _, err := db.RecoveryCode(t.Context(), u.ID); err != nil {
				t.Errorf("recovery code: got %v, want it kept beside the phone", err)
			}
		})
		t.Run("NoActive", func(t *testing.T) {
			u := mustCreateUser(t, db, "none@example.com")
			p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
			ok, err := deleteFactor(t.Context(), db, auth.Tx.DeleteTOTP, u.ID, &auth.Event{Type: auth.EventTOTPRemoved, At: t0})
			if err != nil || ok {
				t.Fatalf("got %v, %v, want false", ok, err)
			}
			_, pending, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if pending == nil || pending.ID != p.ID {
				t.Errorf("got pending %+v, want it untouched", pending)
			}
			wantEventTypes(t, db, u.ID)
		})
	})
}

func TestDB_ResealTOTP(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		a := mustActiveTOTP(t, db, u.ID, 1)
		p := mustPendingTOTP(t, db, u.ID, t0.Add(time.Hour))
		t.Run("AllTOTPFactors", func(t *testing.T) {
			all, err := db.AllTOTPFactors(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || all[0].ID != a.ID || all[1].ID != p.ID {
				t.Fatalf("got %d factors, want the active %d and the pending %d", len(all), a.ID, p.ID)
			}
		})
		t.Run("OK", func(t *testing.T) {
			if err := db.ResealTOTP(t.Context(), a.ID, "k1", []byte("resealed"), "k2"); err != nil {
				t.Fatal(err)
			}
			active, _, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if string(active.SealedSecret) != "resealed" || active.KeyID != "k2" {
				t.Errorf("got %q under %q, want %q under %q", active.SealedSecret, active.KeyID, "resealed", "k2")
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			// The key id moved on (k1 -> k2 above): the stale re-seal loses.
			wantNotFound(t, db.ResealTOTP(t.Context(), a.ID, "k1", []byte("stale"), "k3"))
			active, _, _ := db.TOTPFactors(t.Context(), u.ID, t0)
			if active.KeyID != "k2" {
				t.Errorf("got key id %q, want %q kept", active.KeyID, "k2")
			}
			wantNotFound(t, db.ResealTOTP(t.Context(), 999, "k1", []byte("x"), "k2"))
		})
	})
}

// BenchmarkConsumeTOTPStep measures the replay guard: one conditional
// UPDATE, each accepted.
func BenchmarkConsumeTOTPStep(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, db *store.DB) {
		u := mustCreateUser(b, db, "bench@example.com")
		f := mustActiveTOTP(b, db, u.ID, 0)
		b.ResetTimer()
		for i := range b.N {
			ok, err := consumeStep(context.Background(), db, f.ID, int64(i)+1)
			if err != nil || !ok {
				b.Fatalf("step %d: got %v, %v, want accepted", i+1, ok, err)
			}
		}
	})
}
