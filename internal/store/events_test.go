package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestDB_AddEvent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		t.Run("OK", func(t *testing.T) {
			e := &auth.Event{UserID: u.ID, Type: auth.EventLoginFailed, At: t0, IP: "192.0.2.1", UserAgent: "ua", Detail: "wrong password"}
			if err := db.AddEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			if e.ID == 0 {
				t.Error("got ID 0, want it set")
			}
			got, err := db.ListEvents(t.Context(), u.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*auth.Event{e}, got); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("NoUser", func(t *testing.T) {
			if err := db.AddEvent(t.Context(), &auth.Event{Type: auth.EventLoginFailed, At: t0}); err != nil {
				t.Fatalf("event without a user: %v", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.AddEvent(t.Context(), &auth.Event{UserID: 999, Type: auth.EventLoginFailed, At: t0}))
		})
	})
}

func TestDB_ListEvents(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := mustCreateUser(t, db, "a@example.com")
		b := mustCreateUser(t, db, "b@example.com")
		var ids []int64
		for i := range 5 {
			e := &auth.Event{UserID: a.ID, Type: fmt.Sprint("e", i), At: t0} // same time: order by insertion
			if err := db.AddEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
			if err := db.AddEvent(t.Context(), &auth.Event{UserID: b.ID, Type: "other", At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("NewestFirst", func(t *testing.T) {
			wantEventTypes(t, db, a.ID, "e4", "e3", "e2", "e1", "e0")
		})
		t.Run("Limit", func(t *testing.T) {
			got, err := db.ListEvents(t.Context(), a.ID, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].ID != ids[4] || got[1].ID != ids[3] {
				t.Errorf("got %d events, want the 2 newest", len(got))
			}
		})
		t.Run("None", func(t *testing.T) {
			got, err := db.ListEvents(t.Context(), 999, 10)
			if err != nil || got == nil || len(got) != 0 {
				t.Fatalf("got %v, %v, want an empty non-nil slice", got, err)
			}
		})
	})
}

func TestDB_HasSucceededFrom(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := mustCreateUser(t, db, "a@example.com")
		b := mustCreateUser(t, db, "b@example.com")
		for _, e := range []*auth.Event{
			{UserID: a.ID, Type: auth.EventLoginSucceeded, At: t0, IP: "192.0.2.1"},
			{UserID: a.ID, Type: auth.EventLoginFailed, At: t0, IP: "192.0.2.2"},
			{UserID: b.ID, Type: auth.EventLoginSucceeded, At: t0, IP: "192.0.2.3"},
		} {
			if err := db.AddEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name  string
			user  int64
			ip    string
			since time.Time
			want  bool
		}{
			{"OK", a.ID, "192.0.2.1", t0.Add(-time.Hour), true},
			{"AtSince", a.ID, "192.0.2.1", t0, true},
			{"Ever", a.ID, "192.0.2.1", time.Time{}, true},
			{"TooOld", a.ID, "192.0.2.1", t0.Add(time.Microsecond), false},
			{"OtherIP", a.ID, "192.0.2.9", t0.Add(-time.Hour), false},
			{"FailedOnly", a.ID, "192.0.2.2", t0.Add(-time.Hour), false},
			{"OtherUser", a.ID, "192.0.2.3", t0.Add(-time.Hour), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.HasSucceededFrom(t.Context(), tc.user, tc.ip, tc.since)
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
	})
}
