package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// openTestSQLite opens and migrates a fresh SQLite file.
func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), storetest.SQLite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// insertUser is a unit that adds a user with this email.
func insertUser(email string) func(q querier) error {
	return func(q querier) error {
		_, err := q.ExecContext(context.Background(),
			`INSERT INTO users (email, role, password_hash, preferred_method, created_at) VALUES ($1, 'user', '', '', 0)`, email)
		return err
	}
}

func userCount(t *testing.T, db *DB, email string) int64 {
	t.Helper()
	var n int64
	if err := db.read.QueryRowContext(t.Context(), `SELECT count(*) FROM users WHERE email = $1`, email).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// unit makes a write unit for commit, as do would.
func unit(ctx context.Context, fn func(q querier) error) *writeUnit {
	return &writeUnit{ctx: ctx, fn: fn, done: make(chan error, 1)}
}

func TestBatchWriter_FailedUnitUndoesOnlyItself(t *testing.T) {
	db := openTestSQLite(t)
	errBoom := errors.New("boom")
	var batch []*writeUnit
	for i := range 6 {
		fn := insertUser(fmt.Sprintf("u%d@example.com", i))
		if i%2 == 1 {
			// Writes, then fails: its write must be undone, and only its.
			ins := fn
			fn = func(q querier) error {
				if err := ins(q); err != nil {
					return err
				}
				return errBoom
			}
		}
		batch = append(batch, unit(t.Context(), fn))
	}
	db.writer.commit(batch)

	for i, u := range batch {
		err := <-u.done
		want := int64(1)
		if i%2 == 1 {
			want = 0
			if !errors.Is(err, errBoom) {
				t.Errorf("unit %d: got %v, want its own error", i, err)
			}
		} else if err != nil {
			t.Errorf("unit %d: %v", i, err)
		}
		if got := userCount(t, db, fmt.Sprintf("u%d@example.com", i)); got != want {
			t.Errorf("unit %d: %d rows, want %d", i, got, want)
		}
	}
}

func TestBatchWriter_PanickingUnitFailsAlone(t *testing.T) {
	db := openTestSQLite(t)
	a := unit(t.Context(), insertUser("a@example.com"))
	b := unit(t.Context(), func(q querier) error {
		if err := insertUser("b@example.com")(q); err != nil {
			return err
		}
		panic("a bug in a unit")
	})
	c := unit(t.Context(), insertUser("c@example.com"))
	db.writer.commit([]*writeUnit{a, b, c})
	if err := <-b.done; err == nil {
		t.Error("the panicking unit succeeded")
	}
	for _, u := range []*writeUnit{a, c} {
		if err := <-u.done; err != nil {
			t.Errorf("a unit beside the panicking one: %v", err)
		}
	}
	for email, want := range map[string]int64{"a@example.com": 1, "b@example.com": 0, "c@example.com": 1} {
		if got := userCount(t, db, email); got != want {
			t.Errorf("%s: %d rows, want %d", email, got, want)
		}
	}
}

func TestBatchWriter_BrokenTransactionFailsTheWholeBatch(t *testing.T) {
	db := openTestSQLite(t)
	a := unit(t.Context(), insertUser("a@example.com"))
	// Ends the batch's transaction under the writer's feet, as an I/O
	// error that makes SQLite roll back would.
	b := unit(t.Context(), func(q querier) error {
		_, err := q.ExecContext(context.Background(), `ROLLBACK`)
		return err
	})
	c := unit(t.Context(), insertUser("c@example.com"))
	db.writer.commit([]*writeUnit{a, b, c})

	for name, u := range map[string]*writeUnit{"a": a, "b": b, "c": c} {
		if err := <-u.done; err == nil {
			t.Errorf("unit %s succeeded in a batch that could not commit", name)
		}
	}
	for _, email := range []string{"a@example.com", "c@example.com"} {
		if n := userCount(t, db, email); n != 0 {
			t.Errorf("%s: %d rows were kept from a failed batch", email, n)
		}
	}
	// The writer goes on with the next batch.
	if err := db.inTx(t.Context(), insertUser("d@example.com")); err != nil {
		t.Fatal(err)
	}
	if n := userCount(t, db, "d@example.com"); n != 1 {
		t.Errorf("after a failed batch: %d rows, want 1", n)
	}
}

func TestBatchWriter_SkipsUnitOfCallerThatLeft(t *testing.T) {
	db := openTestSQLite(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	u := unit(ctx, func(q querier) error {
		ran = true
		return insertUser("gone@example.com")(q)
	})
	db.writer.commit([]*writeUnit{u})
	if err := <-u.done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if ran {
		t.Error("the unit ran although its caller had gone")
	}
	if err := db.inTx(ctx, insertUser("late@example.com")); !errors.Is(err, context.Canceled) {
		t.Errorf("inTx with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestBatchWriter_ConcurrentUnitsAreBatched(t *testing.T) {
	db := openTestSQLite(t)
	const n = 64
	// Hold the writer so that the units below queue up behind it.
	hold, held := make(chan struct{}), make(chan struct{})
	go db.inTx(t.Context(), func(q querier) error { //nolint:errcheck // only holds the writer
		close(held)
		<-hold
		return nil
	})
	<-held
	before := db.writer.batches.Load()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = db.inTx(t.Context(), insertUser(fmt.Sprintf("c%d@example.com", i))) })
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	close(hold)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("unit %d: %v", i, err)
		}
	}
	var total int64
	if err := db.read.QueryRowContext(t.Context(), `SELECT count(*) FROM users WHERE email LIKE 'c%'`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Errorf("%d users, want %d", total, n)
	}
	// The held batch plus the queued units: far fewer commits than units.
	if batches := db.writer.batches.Load() - before; batches > n/4 {
		t.Errorf("%d units took %d commits; want them batched", n, batches)
	}
}

func TestBatchWriter_CachesStatementsAndCheckpoints(t *testing.T) {
	db := openTestSQLite(t)
	const q = `UPDATE users SET role = role WHERE id = $1`
	for range 2 {
		err := db.inTx(t.Context(), func(tx querier) error {
			_, err := tx.ExecContext(context.Background(), q, 1)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if db.writer.stmts.lookup(q) == nil {
		t.Error("a statement the writer ran is not prepared for the next batch")
	}
	deadline := time.Now().Add(5 * time.Second)
	for db.writer.checkpointN.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint ran after commits")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeFor commits one small unit after another for d, and returns the
// longest time between two commits.
func writeFor(t *testing.T, db *DB, d time.Duration) (longestGap time.Duration) {
	t.Helper()
	last := time.Now()
	for end := last.Add(d); time.Now().Before(end); {
		err := db.inTx(t.Context(), func(q querier) error {
			_, err := q.ExecContext(context.Background(), `UPDATE users SET role = role WHERE id = 1`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		longestGap = max(longestGap, now.Sub(last))
		last = now
		time.Sleep(time.Millisecond)
	}
	return longestGap
}

// waitCheckpoints waits up to 5 s for the checkpoint count to pass n.
func waitCheckpoints(t *testing.T, db *DB, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); db.writer.checkpointN.Load() <= n; {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint ran after commits (%d so far)", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatchWriter_CheckpointsWhenCommitsPause(t *testing.T) {
	db := openTestSQLite(t)
	const idle = 200 * time.Millisecond
	db.writer.pace.Store(&checkpointPace{idle: idle, maxDelay: time.Hour})
	for try := 0; ; try++ {
		before := db.writer.checkpointN.Load()
		gap := writeFor(t, db, 600*time.Millisecond) // a commit every millisecond or so
		if gap >= idle/2 {
			// The machine stalled this test for a pause of its own.
			if try == 2 {
				t.Skipf("commits paused for %v in three tries: the test cannot tell", gap)
			}
			waitCheckpoints(t, db, before)
			continue
		}
		if n := db.writer.checkpointN.Load(); n != before {
			t.Errorf("%d checkpoints ran while commits kept coming; want none before they pause", n-before)
		}
		waitCheckpoints(t, db, before)
		return
	}
}

func TestBatchWriter_CheckpointsUnderEndlessWrites(t *testing.T) {
	db := openTestSQLite(t)
	db.writer.pace.Store(&checkpointPace{idle: time.Hour, maxDelay: 50 * time.Millisecond})
	before := db.writer.checkpointN.Load()
	writeFor(t, db, time.Second)
	if n := db.writer.checkpointN.Load() - before; n < 2 {
		t.Errorf("%d checkpoints in 1 s of commits with a 50 ms longest delay; want several", n)
	}
}

func TestTouchSessions_ShortTransactions(t *testing.T) {
	db := openTestSQLite(t)
	if err := db.inTx(t.Context(), insertUser("a@example.com")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	seen := map[int64]time.Time{}
	for i := range 3*touchChunk + 1 {
		h := sha256.Sum256(fmt.Appendf(nil, "token %d", i))
		s := &auth.Session{TokenHash: h[:], UserID: 1, AAL: auth.AAL1, CreatedAt: now, LastSeenAt: now}
		if err := db.CreateSession(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		seen[s.ID] = now.Add(time.Minute)
	}
	before := db.writer.batches.Load()
	if err := db.TouchSessions(t.Context(), seen); err != nil {
		t.Fatal(err)
	}
	// Alone on the writer, each transaction is a batch of its own.
	if n := db.writer.batches.Load() - before; n != 4 {
		t.Errorf("%d sessions took %d transactions; want 4 of at most %d", len(seen), n, touchChunk)
	}
}

func TestBatchWriter_ClosedDBRefusesWrites(t *testing.T) {
	db, err := Open(t.Context(), storetest.SQLite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.inTx(t.Context(), insertUser("x@example.com")); !errors.Is(err, errClosed) {
		t.Errorf("got %v, want errClosed", err)
	}
}

func TestCachedReader_AnswersCallerThatLeft(t *testing.T) {
	db := openTestSQLite(t)
	if err := db.inTx(t.Context(), insertUser("r@example.com")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Errorf("got %d, %v; want 1, nil", n, err)
	}
}
