package store_test

import (
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

// forEachDBBench is forEachDB for benchmarks.
func forEachDBBench(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, mustOpenDB(b, storetest.SQLite(b))) })
	b.Run("postgres", func(b *testing.B) { fn(b, mustOpenDB(b, storetest.Postgres(b))) })
}
