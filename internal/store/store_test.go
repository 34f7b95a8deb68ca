package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// t0 is the tests' "now". It has microsecond precision, like stored times.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)

// forEachDB runs fn as subtest "sqlite" on a fresh migrated SQLite file and
// as subtest "postgres" on a fresh migrated PostgreSQL database.
func forEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, mustOpenDB(t, storetest.SQLite(t))) })
	t.Run("postgres", func(t *testing.T) { fn(t, mustOpenDB(t, storetest.Postgres(t))) })
}

// mustOpenDB opens and migrates the database, and closes it when the test
// ends.
func mustOpenDB(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db := mustOpen(tb, dsn)
	if err := db.Migrate(tb.Context()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// mustOpen opens the database without migrating it.
func mustOpen(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.Context(), dsn, nil)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

// hash returns a token hash for a name, as the auth layer would store it.
func hash(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

func mustCreateUser(tb testing.TB, db *store.DB, email string) *auth.User {
	tb.Helper()
	u := &auth.User{Email: email, PasswordHash: "$argon2id$x", CreatedAt: t0}
	if err := db.CreateUser(tb.Context(), u); err != nil {
		tb.Fatalf("create user: %v", err)
	}
	return u
}

func mustCreateSession(tb testing.TB, db *store.DB, userID int64, token string) *auth.Session {
	tb.Helper()
	s := &auth.Session{
		TokenHash: hash(token), UserID: userID, AAL: auth.AAL1,
		CreatedAt: t0, LastSeenAt: t0, IP: "192.0.2.1", UserAgent: "test",
	}
	if err := db.CreateSession(tb.Context(), s); err != nil {
		tb.Fatalf("create session: %v", err)
	}
	return s
}

// mustActiveTOTP gives the user an active factor whose last step is step.
func mustActiveTOTP(tb testing.TB, db *store.DB, userID, step int64) *auth.TOTPFactor {
	tb.Helper()
	f := mustPendingTOTP(tb, db, userID, t0.Add(10*time.Minute))
	if err := activateTOTP(tb.Context(), db, userID, f.ID, step, t0, nil); err != nil {
		tb.Fatalf("activate totp: %v", err)
	}
	return f
}

func mustPendingTOTP(tb testing.TB, db *store.DB, userID int64, expires time.Time) *auth.TOTPFactor {
	tb.Helper()
	f := &auth.TOTPFactor{UserID: userID, CreatedAt: t0, ExpiresAt: expires}
	err := db.PutPendingTOTP(tb.Context(), f, func(id int64) ([]byte, string, error) {
		return fmt.Appendf(nil, "sealed-%d", id), "k1", nil
	})
	if err != nil {
		tb.Fatalf("put pending totp: %v", err)
	}
	return f
}

func mustRecoveryCode(tb testing.TB, db *store.DB, userID int64, code string) {
	tb.Helper()
	if err := replaceRecoveryCode(tb.Context(), db, &auth.RecoveryCode{UserID: userID, Hash: hash(code), CreatedAt: t0}); err != nil {
		tb.Fatalf("replace recovery code: %v", err)
	}
}

// mustAddPhone gives the user the number +14155550123 in state
// (auth.FactorPending or auth.FactorActive).
func mustAddPhone(tb testing.TB, db *store.DB, userID int64, state string) *auth.Phone {
	tb.Helper()
	p := &auth.Phone{UserID: userID, Number: "+14155550123", CreatedAt: t0}
	if err := db.PutPendingPhone(tb.Context(), p); err != nil {
		tb.Fatalf("put pending phone: %v", err)
	}
	if state == auth.FactorActive {
		if err := activatePhone(tb.Context(), db, userID, p.ID, t0, nil); err != nil {
			tb.Fatalf("activate phone: %v", err)
		}
		p.State, p.ConfirmedAt = auth.FactorActive, t0
	}
	return p
}

func wantNotFound(tb testing.TB, err error) {
	tb.Helper()
	if !errors.Is(err, auth.ErrNotFound) {
		tb.Fatalf("got error %v, want auth.ErrNotFound", err)
	}
}

func wantKind(tb testing.TB, err error, kind auth.Kind, message string) {
	tb.Helper()
	e, ok := errors.AsType[*auth.Error](err)
	if !ok {
		tb.Fatalf("got error %v, want an *auth.Error of kind %d", err, kind)
	}
	if e.Kind != kind || e.Message != message {
		tb.Fatalf("got error kind %d %q, want kind %d %q", e.Kind, e.Message, kind, message)
	}
}

func wantEventTypes(tb testing.TB, db *store.DB, userID int64, want ...string) {
	tb.Helper()
	events, err := db.ListEvents(tb.Context(), userID, 100)
	if err != nil {
		tb.Fatal(err)
	}
	got := []string{}
	for _, e := range events {
		got = append(got, e.Type)
	}
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Fatalf("event types (newest first) mismatch (-want +got):\n%s", diff)
	}
}

// concurrently runs fn n times at once and returns how many returned true.
func concurrently(t *testing.T, db *store.DB, n int, fn func() (bool, error)) int {
	t.Helper()
	warmPool(t, db, n)
	var wg sync.WaitGroup
	var count atomic.Int64
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			<-start
			ok, err := fn()
			if err != nil {
				errs <- err
			}
			if ok {
				count.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	return int(count.Load())
}

// warmPool opens n connections on PostgreSQL before a concurrency test, so
// that its calls race each other instead of queueing behind connection
// setup. (The SQLite writer pool has one connection by design.)
func warmPool(t *testing.T, db *store.DB, n int) {
	t.Helper()
	if db.Dialect() != "postgres" {
		return
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := store.CountForTest(t.Context(), db, `SELECT COUNT(*) FROM pg_sleep(0.05)`); err != nil {
				t.Errorf("warm pool: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestOpen(t *testing.T) {
	t.Run("Dialect", func(t *testing.T) {
		forEachDB(t, func(t *testing.T, db *store.DB) {
			want := path.Base(t.Name()) // the subtest: "sqlite" or "postgres"
			if got := db.Dialect(); got != want {
				t.Errorf("got dialect %q, want %q", got, want)
			}
			if err := db.Ping(t.Context()); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
	})
	t.Run("SQLitePools", func(t *testing.T) {
		db := mustOpenDB(t, storetest.SQLite(t))
		n, err := store.CountForTest(t.Context(), db, `SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'`)
		if err != nil || n != 1 {
			t.Errorf("journal mode is not WAL (%d, %v)", n, err)
		}
		// Pure reads run on their own pool, which cannot write.
		err = store.ExecReaderForTest(t.Context(), db, `DELETE FROM users`)
		if err == nil {
			t.Error("a write on the reader pool succeeded, want it refused (query_only)")
		}
	})
	t.Run("ErrMemory", func(t *testing.T) {
		if _, err := store.Open(t.Context(), ":memory:", nil); err == nil {
			t.Fatal("got no error for an in-memory SQLite database")
		}
	})
	t.Run("ErrInvalidURL", func(t *testing.T) {
		_, err := store.Open(t.Context(), "postgres://u:s3cret@127.0.0.1:5432/db?sslmode=bogus", nil)
		if err == nil {
			t.Fatal("got no error for an invalid URL")
		}
		if got := err.Error(); strings.Contains(got, "s3cret") {
			t.Errorf("error %q reveals the password", got)
		}
	})
	t.Run("KindUnavailable", func(t *testing.T) {
		// Nothing listens on port 1. PostgreSQL connects lazily, so Open
		// succeeds and the first query says the database is unavailable.
		db := mustOpen(t, "postgres://postgres:s3cret@127.0.0.1:1/latchkey?sslmode=disable&connect_timeout=2")
		const msg = "The database is unavailable; try again shortly."
		_, err := db.UserByID(t.Context(), 1)
		wantKind(t, err, auth.KindUnavailable, msg)
		wantKind(t, db.Ping(t.Context()), auth.KindUnavailable, msg)
		_, err = consumeStep(t.Context(), db, 1, 1)
		wantKind(t, err, auth.KindUnavailable, msg)
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q reveals the password", err)
		}
	})
}

func TestDB_Migrate(t *testing.T) {
	t.Run("Idempotent", func(t *testing.T) {
		forEachDB(t, func(t *testing.T, db *store.DB) {
			u := mustCreateUser(t, db, "a@example.com")
			for range 2 {
				if err := db.Migrate(t.Context()); err != nil {
					t.Fatalf("migrate again: %v", err)
				}
			}
			if _, err := db.UserByID(t.Context(), u.ID); err != nil {
				t.Fatalf("user after migrating again: %v", err)
			}
			n, err := store.CountForTest(t.Context(), db, `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 1`)
			if err != nil || n != 1 {
				t.Fatalf("got %d rows for version 1 (%v), want 1", n, err)
			}
		})
	})
	t.Run("ConcurrentPostgres", func(t *testing.T) {
		// Two instances start at once on one fresh database: the advisory
		// lock makes one wait, and it then finds nothing to do.
		dsn := storetest.Postgres(t)
		a, b := mustOpen(t, dsn), mustOpen(t, dsn)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, db := range []*store.DB{a, b} {
			wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
		}
		n, err := store.CountForTest(t.Context(), a, `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 1`)
		if err != nil || n != 1 {
			t.Fatalf("got %d rows for version 1 (%v), want 1", n, err)
		}
		mustCreateUser(t, b, "a@example.com")
	})
}

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
			if err := db.SetPassword(t.Context(), u.ID, "changed", 0); err != nil {
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

func TestDB_SetPassword(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			keep, other := mustCreateSession(t, db, u.ID, "keep"), mustCreateSession(t, db, u.ID, "other")
			if err := db.SetPassword(t.Context(), u.ID, "new", keep.ID,
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
			if err := db.SetPassword(t.Context(), u.ID, "new", 0); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.SessionByTokenHash(t.Context(), s.TokenHash)
			wantNotFound(t, err)
		})
		t.Run("StaleSessionIsNotFound", func(t *testing.T) {
			// A session inserted with the version read before a password
			// change (a sign-in that raced it) is never usable.
			u := mustCreateUser(t, db, "c@example.com")
			if err := db.SetPassword(t.Context(), u.ID, "new", 0); err != nil {
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
			wantNotFound(t, db.SetPassword(t.Context(), 999, "new", 0))
		})
	})
}

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

func TestDB_APITokenByHash(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("OK", func(t *testing.T) {
			for _, admin := range []bool{true, false} {
				tok := &auth.APIToken{Name: fmt.Sprint("ci-", admin), TokenHash: hash(fmt.Sprint("tok-", admin)), Admin: admin, CreatedAt: t0}
				if err := db.CreateAPIToken(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
				if tok.ID == 0 {
					t.Error("got ID 0, want it set")
				}
				got, err := db.APITokenByHash(t.Context(), tok.TokenHash)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tok, got); diff != "" {
					t.Errorf("token mismatch (-want +got):\n%s", diff)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.APITokenByHash(t.Context(), hash("nope"))
			wantNotFound(t, err)
		})
	})
}

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

func TestDB_BeginMFAAttempt(t *testing.T) {
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

func TestDB_ResetMFAFailures(t *testing.T) {
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

func TestDB_ConsumeTOTPStep(t *testing.T) {
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

func TestDB_RecordMFASuccess(t *testing.T) {
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

func TestDB_AttemptMFA(t *testing.T) {
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

func TestDB_ActivateTOTP(t *testing.T) {
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

func TestDB_DeleteTOTP(t *testing.T) {
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

func TestDB_RecoveryCode(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		t.Run("ErrNotFound", func(t *testing.T) {
			u := mustCreateUser(t, db, "a@example.com")
			_, err := db.RecoveryCode(t.Context(), u.ID)
			wantNotFound(t, err)
		})
	})
}

func TestDB_ReplaceRecoveryCode(t *testing.T) {
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

func TestDB_SwapRecoveryCode(t *testing.T) {
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

func TestDB_ResetMFA(t *testing.T) {
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

			if err := db.ResetMFA(t.Context(), u.ID, &auth.Event{Type: auth.EventMFAResetByAdmin, At: t0}); err != nil {
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
			wantNotFound(t, db.ResetMFA(t.Context(), 999, &auth.Event{Type: auth.EventMFAResetByAdmin, At: t0}))
		})
	})
}

// forEachDBBench is forEachDB for benchmarks.
func forEachDBBench(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, mustOpenDB(b, storetest.SQLite(b))) })
	b.Run("postgres", func(b *testing.B) { fn(b, mustOpenDB(b, storetest.Postgres(b))) })
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
