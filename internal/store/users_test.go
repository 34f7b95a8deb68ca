package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestDB_CreateUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := &auth.User{Email: "a@example.com", PasswordHash: "h", CreatedAt: t0}
			if err := db.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
			if u.ID == 0 {
				t.Error("got ID 0, want it set")
			}
			if u.Role != "user" {
				t.Errorf("got role %q, want the default %q", u.Role, "user")
			}
			got, err := db.UserByID(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			mustCreateUser(t, db, "dup@example.com")
			err := db.CreateUser(t.Context(), &auth.User{Email: "dup@example.com", CreatedAt: t0})
			wantKind(t, err, auth.KindConflict, "A user with this email already exists.")
		})
	})
}

func TestDB_UserByID(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := &auth.User{Email: "admin@example.com", Role: "admin", PasswordHash: "h", PreferredMethod: auth.MethodTOTP, CreatedAt: t0}
			if err := db.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
			got, err := db.UserByID(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.UserByID(t.Context(), 999)
			wantNotFound(t, err)
		})
	})
}

func TestDB_UserByEmail(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			got, err := db.UserByEmail(t.Context(), "a@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.UserByEmail(t.Context(), "nobody@example.com")
			wantNotFound(t, err)
		})
	})
}

func TestDB_ListUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("Empty", func(t *testing.T) {
			got, err := db.ListUsers(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != 0 {
				t.Fatalf("got %v, want an empty non-nil slice", got)
			}
		})
		b := mustCreateUser(t, db, "b@example.com")
		a := mustCreateUser(t, db, "a@example.com")
		t.Run("All", func(t *testing.T) {
			got, err := db.ListUsers(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*auth.User{b, a}, got); diff != "" {
				t.Errorf("users mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ByEmail", func(t *testing.T) {
			got, err := db.ListUsers(t.Context(), "a@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*auth.User{a}, got); diff != "" {
				t.Errorf("users mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("NoMatch", func(t *testing.T) {
			got, err := db.ListUsers(t.Context(), "c@example.com")
			if err != nil || got == nil || len(got) != 0 {
				t.Fatalf("got %v, %v, want an empty non-nil slice", got, err)
			}
		})
	})
}

func TestDB_ReplacePasswordHash(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			if err := db.ReplacePasswordHash(t.Context(), u.ID, u.PasswordHash, "new"); err != nil {
				t.Fatal(err)
			}
			got, _ := db.UserByID(t.Context(), u.ID)
			if got.PasswordHash != "new" || got.PasswordVersion != u.PasswordVersion {
				t.Errorf("got hash %q version %d, want %q version %d", got.PasswordHash, got.PasswordVersion, "new", u.PasswordVersion)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, db.ReplacePasswordHash(t.Context(), 999, "", "new"))
		})
		t.Run("ChangedMeanwhile", func(t *testing.T) {
			// A rehash that lost the race to a password change changes nothing.
			u := mustCreateUser(t, db, "b@example.com")
			if err := setPassword(t.Context(), db, u.ID, "changed", 0); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, db.ReplacePasswordHash(t.Context(), u.ID, u.PasswordHash, "rehashed old"))
			got, _ := db.UserByID(t.Context(), u.ID)
			if got.PasswordHash != "changed" {
				t.Errorf("got hash %q, want %q", got.PasswordHash, "changed")
			}
		})
	})
}

func TestTx_SetPassword(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			keep, other := mustCreateSession(t, db, u.ID, "keep"), mustCreateSession(t, db, u.ID, "other")
			if err := setPassword(t.Context(), db, u.ID, "new", keep.ID,
				&auth.Event{Type: auth.EventPasswordChanged, At: t0}); err != nil {
				t.Fatal(err)
			}
			got, _ := db.UserByID(t.Context(), u.ID)
			if got.PasswordHash != "new" || got.PasswordVersion != u.PasswordVersion+1 {
				t.Errorf("got hash %q version %d, want %q version %d", got.PasswordHash, got.PasswordVersion, "new", u.PasswordVersion+1)
			}
			// The session that changed it goes on under the new version.
			s, _, err := db.SessionByTokenHash(t.Context(), keep.TokenHash)
			if err != nil || s.PasswordVersion != got.PasswordVersion {
				t.Fatalf("kept session: %v, %v", s, err)
			}
			_, _, err = db.SessionByTokenHash(t.Context(), other.TokenHash)
			wantNotFound(t, err)
			events, _ := db.ListEvents(t.Context(), u.ID, 10)
			if len(events) != 1 || events[0].Type != auth.EventPasswordChanged {
				t.Errorf("got events %v, want one password_changed", events)
			}
		})
		t.Run("AllSessions", func(t *testing.T) {
			u := mustCreateUser(t, db, "b@example.com")
			s := mustCreateSession(t, db, u.ID, "s")
			if err := setPassword(t.Context(), db, u.ID, "new", 0); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.SessionByTokenHash(t.Context(), s.TokenHash)
			wantNotFound(t, err)
		})
		t.Run("StaleSessionIsNotFound", func(t *testing.T) {
			// A session inserted with the version read before a password
			// change (a sign-in that raced it) is never usable.
			u := mustCreateUser(t, db, "c@example.com")
			if err := setPassword(t.Context(), db, u.ID, "new", 0); err != nil {
				t.Fatal(err)
			}
			stale := &auth.Session{TokenHash: hash("stale"), UserID: u.ID, AAL: auth.AAL2, CreatedAt: t0, LastSeenAt: t0,
				PasswordVersion: u.PasswordVersion}
			if err := db.CreateSession(t.Context(), stale); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.SessionByTokenHash(t.Context(), stale.TokenHash)
			wantNotFound(t, err)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantNotFound(t, setPassword(t.Context(), db, 999, "new", 0))
		})
	})
}
