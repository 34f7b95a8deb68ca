package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestDB_RecoveryCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("ErrNotFound", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			_, err := db.RecoveryCode(t.Context(), u.ID)
			wantNotFound(t, err)
		})
	})
}

func TestTx_PutRecoveryCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			mustRecoveryCode(t, db, u.ID, "first")
			later := t0.Add(time.Hour)
			err := replaceRecoveryCode(t.Context(), db, &auth.RecoveryCode{UserID: u.ID, Hash: hash("second"), CreatedAt: later},
				&auth.Event{Type: auth.EventRecoveryCodeGenerated, At: later})
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.RecoveryCode(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&auth.RecoveryCode{UserID: u.ID, Hash: hash("second"), CreatedAt: later}, got); diff != "" {
				t.Errorf("recovery code mismatch (-want +got):\n%s", diff)
			}
			wantEventTypes(t, db, u.ID, auth.EventRecoveryCodeGenerated)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, replaceRecoveryCode(t.Context(), db, &auth.RecoveryCode{UserID: 999, Hash: hash("x"), CreatedAt: t0}))
		})
	})
}

func TestTx_SwapRecoveryCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			mustRecoveryCode(t, db, u.ID, "old")
			next := &auth.RecoveryCode{UserID: u.ID, Hash: hash("new"), CreatedAt: t0.Add(time.Hour)}
			ok, err := swapRecoveryCode(t.Context(), db, hash("old"), next, &auth.Event{Type: auth.EventRecoveryCodeUsed, At: t0})
			if err != nil || !ok {
				t.Fatalf("got %v, %v, want true", ok, err)
			}
			got, _ := db.RecoveryCode(t.Context(), u.ID)
			if diff := cmp.Diff(next, got); diff != "" {
				t.Errorf("recovery code mismatch (-want +got):\n%s", diff)
			}
			wantEventTypes(t, db, u.ID, auth.EventRecoveryCodeUsed)
		})
		t.Run("Stale", func(t *testing.T) {
			u := mustCreateUser(t, db, "stale@example.com")
			mustRecoveryCode(t, db, u.ID, "current")
			next := &auth.RecoveryCode{UserID: u.ID, Hash: hash("new"), CreatedAt: t0}
			ok, err := swapRecoveryCode(t.Context(), db, hash("old"), next, &auth.Event{Type: auth.EventRecoveryCodeUsed, At: t0})
			if err != nil || ok {
				t.Fatalf("got %v, %v, want false", ok, err)
			}
			got, _ := db.RecoveryCode(t.Context(), u.ID)
			if string(got.Hash) != string(hash("current")) {
				t.Error("the current code was replaced")
			}
			wantEventTypes(t, db, u.ID)
		})
		t.Run("Concurrent", func(t *testing.T) {
			u := mustCreateUser(t, db, "race@example.com")
			mustRecoveryCode(t, db, u.ID, "old")
			var i atomic.Int64
			n := concurrently(t, db, 20, func() (bool, error) {
				next := &auth.RecoveryCode{UserID: u.ID, Hash: hash(fmt.Sprint("new-", i.Add(1))), CreatedAt: t0}
				return swapRecoveryCode(context.Background(), db, hash("old"), next, &auth.Event{Type: auth.EventRecoveryCodeUsed, At: t0})
			})
			if n != 1 {
				t.Fatalf("%d of 20 concurrent swaps of one code succeeded, want 1", n)
			}
			wantEventTypes(t, db, u.ID, auth.EventRecoveryCodeUsed)
		})
	})
}
