package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestDB_CreateSession(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		t.Run("OK", func(t *testing.T) {
			s := &auth.Session{
				TokenHash: hash("t1"), UserID: u.ID, AAL: auth.AAL2,
				CreatedAt: t0, LastSeenAt: t0.Add(time.Second), VerifiedAt: t0.Add(2 * time.Second),
				ReauthAt: t0.Add(3 * time.Second), ReauthMethod: auth.MethodTOTP,
				IP: "2001:db8::1", UserAgent: "Mozilla/5.0",
			}
			if err := db.CreateSession(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			if s.ID == 0 {
				t.Error("got ID 0, want it set")
			}
			got, _, err := db.SessionByTokenHash(t.Context(), hash("t1"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, got); diff != "" {
				t.Errorf("session mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			// A session of a user that does not exist.
			err := db.CreateSession(t.Context(), &auth.Session{TokenHash: hash("t2"), UserID: 999, AAL: 1, CreatedAt: t0, LastSeenAt: t0})
			wantNotFound(t, err)
		})
	})
}

func TestDB_SessionByTokenHash(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			s := mustCreateSession(t, db, u.ID, "t1")
			gotS, gotU, err := db.SessionByTokenHash(t.Context(), hash("t1"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, gotS); diff != "" {
				t.Errorf("session mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(u, gotU); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
			if !gotS.VerifiedAt.IsZero() || !gotS.ReauthAt.IsZero() {
				t.Errorf("got verified %v, reauth %v, want zero times", gotS.VerifiedAt, gotS.ReauthAt)
			}
		})
		t.Run("MicrosecondsUTC", func(t *testing.T) {
			// Times come back in UTC, truncated to the microsecond.
			u := mustCreateUser(t, db, "b@example.com")
			at := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 5*3600))
			s := &auth.Session{TokenHash: hash("t2"), UserID: u.ID, AAL: 1, CreatedAt: at, LastSeenAt: at}
			if err := db.CreateSession(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			got, _, err := db.SessionByTokenHash(t.Context(), hash("t2"))
			if err != nil {
				t.Fatal(err)
			}
			want := at.Truncate(time.Microsecond).UTC()
			if got.CreatedAt != want {
				t.Errorf("got created_at %v, want %v", got.CreatedAt, want)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, _, err := db.SessionByTokenHash(t.Context(), hash("nope"))
			wantNotFound(t, err)
		})
	})
}

func TestDB_TouchSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		s1 := mustCreateSession(t, db, u.ID, "t1") // last seen t0
		s2 := mustCreateSession(t, db, u.ID, "t2")
		later := t0.Add(time.Hour)
		// s1 moves forward, s2 would move back (and must not), 999 is gone.
		err := db.TouchSessions(t.Context(), map[int64]time.Time{s1.ID: later, s2.ID: t0.Add(-time.Hour), 999: later})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			token string
			want  time.Time
		}{{"t1", later}, {"t2", t0}} {
			got, _, err := db.SessionByTokenHash(t.Context(), hash(c.token))
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastSeenAt.Equal(c.want) {
				t.Errorf("%s: got last seen %v, want %v", c.token, got.LastSeenAt, c.want)
			}
		}

		// A flush of many sessions (written in several transactions).
		many := map[int64]time.Time{}
		for i := range 250 {
			s := mustCreateSession(t, db, u.ID, fmt.Sprintf("m%d", i))
			many[s.ID] = later.Add(time.Duration(i) * time.Second)
		}
		if err := db.TouchSessions(t.Context(), many); err != nil {
			t.Fatal(err)
		}
		for i := range 250 {
			got, _, err := db.SessionByTokenHash(t.Context(), hash(fmt.Sprintf("m%d", i)))
			if err != nil {
				t.Fatal(err)
			}
			if want := many[got.ID]; !got.LastSeenAt.Equal(want) {
				t.Errorf("m%d: got last seen %v, want %v", i, got.LastSeenAt, want)
			}
		}
	})
}

func TestDB_RotateSession(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		t.Run("OK", func(t *testing.T) {
			s := mustCreateSession(t, db, u.ID, "old")
			verified := t0.Add(time.Minute)
			if err := db.RotateSession(t.Context(), s.ID, hash("old"), hash("new"), auth.AAL2, verified); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.SessionByTokenHash(t.Context(), hash("old"))
			wantNotFound(t, err)
			got, _, err := db.SessionByTokenHash(t.Context(), hash("new"))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != s.ID || got.AAL != auth.AAL2 || !got.VerifiedAt.Equal(verified) {
				t.Errorf("got id %d aal %d verified %v, want %d %d %v", got.ID, got.AAL, got.VerifiedAt, s.ID, auth.AAL2, verified)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := mustCreateSession(t, db, u.ID, "old2")
			if err := db.RotateSession(t.Context(), s.ID, hash("old2"), hash("new2"), auth.AAL2, t0); err != nil {
				t.Fatal(err)
			}
			// A second rotation from the same old token loses.
			wantNotFound(t, db.RotateSession(t.Context(), s.ID, hash("old2"), hash("new3"), auth.AAL2, t0))
			wantNotFound(t, db.RotateSession(t.Context(), 999, hash("x"), hash("y"), auth.AAL2, t0))
		})
		t.Run("Concurrent", func(t *testing.T) {
			s := mustCreateSession(t, db, u.ID, "old4")
			var i atomic.Int64
			n := concurrently(t, db, 10, func() (bool, error) {
				next := hash(fmt.Sprintf("new4-%d", i.Add(1)))
				err := db.RotateSession(context.Background(), s.ID, hash("old4"), next, auth.AAL2, t0)
				if errors.Is(err, auth.ErrNotFound) {
					return false, nil
				}
				return err == nil, err
			})
			if n != 1 {
				t.Fatalf("%d rotations from one token succeeded, want 1", n)
			}
		})
	})
}

func TestDB_SetSessionReauth(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			s := mustCreateSession(t, db, u.ID, "t1")
			at := t0.Add(time.Minute)
			if err := db.SetSessionReauth(t.Context(), s.ID, auth.MethodPassword, at); err != nil {
				t.Fatal(err)
			}
			got, _, _ := db.SessionByTokenHash(t.Context(), hash("t1"))
			if got.ReauthMethod != auth.MethodPassword || !got.ReauthAt.Equal(at) {
				t.Errorf("got reauth %q at %v, want %q at %v", got.ReauthMethod, got.ReauthAt, auth.MethodPassword, at)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.SetSessionReauth(t.Context(), 999, auth.MethodTOTP, t0))
		})
	})
}

func TestDB_DeleteSession(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			s := mustCreateSession(t, db, u.ID, "t1")
			if err := db.DeleteSession(t.Context(), s.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.SessionByTokenHash(t.Context(), hash("t1"))
			wantNotFound(t, err)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.DeleteSession(t.Context(), 999))
		})
	})
}

func TestTx_DeleteOtherSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := mustCreateUser(t, db, "a@example.com")
		b := mustCreateUser(t, db, "b@example.com")
		keep := mustCreateSession(t, db, a.ID, "a1")
		mustCreateSession(t, db, a.ID, "a2")
		mustCreateSession(t, db, a.ID, "a3")
		mustCreateSession(t, db, b.ID, "b1")
		exists := func(token string) bool {
			_, _, err := db.SessionByTokenHash(t.Context(), hash(token))
			return err == nil
		}
		t.Run("ExceptOne", func(t *testing.T) {
			if err := deleteOtherSessions(t.Context(), db, a.ID, keep.ID); err != nil {
				t.Fatal(err)
			}
			got := []bool{exists("a1"), exists("a2"), exists("a3"), exists("b1")}
			if diff := cmp.Diff([]bool{true, false, false, true}, got); diff != "" {
				t.Errorf("sessions a1 a2 a3 b1 exist (-want +got):\n%s", diff)
			}
		})
		t.Run("All", func(t *testing.T) {
			if err := deleteOtherSessions(t.Context(), db, a.ID, 0); err != nil {
				t.Fatal(err)
			}
			if exists("a1") || !exists("b1") {
				t.Errorf("got a1 %v b1 %v, want a1 gone and b1 kept", exists("a1"), exists("b1"))
			}
			// Nothing left to delete is not an error.
			if err := deleteOtherSessions(t.Context(), db, a.ID, 0); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestDB_DeleteExpiredSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "a@example.com")
		mk := func(token string, created, seen time.Time) {
			err := db.CreateSession(t.Context(), &auth.Session{TokenHash: hash(token), UserID: u.ID, AAL: 1, CreatedAt: created, LastSeenAt: seen})
			if err != nil {
				t.Fatal(err)
			}
		}
		mk("fresh", t0, t0.Add(3*time.Hour))
		mk("idle", t0, t0.Add(time.Hour))                     // last seen too long ago
		mk("old", t0.Add(-48*time.Hour), t0.Add(3*time.Hour)) // created too long ago
		n, err := db.DeleteExpiredSessions(t.Context(), t0.Add(2*time.Hour), t0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("deleted %d sessions, want 2", n)
		}
		for token, want := range map[string]bool{"fresh": true, "idle": false, "old": false} {
			_, _, err := db.SessionByTokenHash(t.Context(), hash(token))
			if got := err == nil; got != want {
				t.Errorf("session %q exists: got %v, want %v (%v)", token, got, want, err)
			}
		}
	})
}

// BenchmarkSessionByTokenHash measures the lookup every request makes, from
// all cores at once, over 1,000 sessions.
func BenchmarkSessionByTokenHash(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, db *store.DB) {
		const sessions = 1000
		u := mustCreateUser(b, db, "bench@example.com")
		for i := range sessions {
			mustCreateSession(b, db, u.ID, fmt.Sprint("bench-", i))
		}
		hashes := make([][]byte, sessions)
		for i := range hashes {
			hashes[i] = hash(fmt.Sprint("bench-", i))
		}
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h := hashes[next.Add(1)%sessions]
				if _, _, err := db.SessionByTokenHash(context.Background(), h); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
