package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch bounds how many write units one SQLite transaction carries, so
// that a batch commits, and answers its callers, in bounded time.
const maxBatch = 64

// errClosed answers a write submitted after Close.
var errClosed = errors.New("store: database closed")

// writeUnit is one atomic unit of writes (what would otherwise be one
// transaction) waiting for the SQLite writer.
type writeUnit struct {
	ctx  context.Context
	fn   func(q querier) error
	err  error
	done chan error // buffered: the writer never waits for the caller
}

// batchWriter runs every write to a SQLite database on its one writer
// connection, from one goroutine, and commits the units that queued up
// while the previous commit ran together in one transaction (group commit).
//
// Why: SQLite allows one writer at a time. With one transaction per unit,
// every request that writes queued for the connection in database/sql
// (which hands it to a random waiter), and each hand-off waited for the next
// holder to be scheduled while the connection sat idle; every unit also paid
// for its own commit. Here the writer never changes hands, a commit covers
// many units, and units are served in arrival order.
//
// Each unit runs inside a savepoint: when its function fails, exactly its
// own changes are undone, as its own transaction's rollback would, and the
// other units of the batch are unaffected. Units run one after another, so
// each sees the writes of the units before it, as it would after their
// commits. A caller learns of its unit's success only after the commit that
// made it durable; if the batch cannot commit, every unit of it fails.
//
// Units run without their caller's cancellation: SQLite's interrupt rolls
// back the whole transaction, which would take the other units with it. A
// unit whose caller has gone before it starts is skipped.
//
// The writer also keeps the WAL short: a checkpoint on a connection of its
// own copies the committed pages into the database file, so that a commit
// never stops to do that work, and wait for the disk, while every writer
// waits for it. The checkpoint runs when commits pause (see
// checkpointPace): its disk flushes slow down the commits that run beside
// it, for as long as the checkpoint takes (docs/performance.md).
type batchWriter struct {
	pool   *sql.DB // the writer pool: one connection
	ckpt   *sql.DB // the checkpointer's: one connection
	logger *slog.Logger
	stmts  *stmtCache
	units  chan *writeUnit
	wrote  chan struct{} // a commit since the last checkpoint
	quit   chan struct{}
	done   sync.WaitGroup
	once   sync.Once

	pace atomic.Pointer[checkpointPace]

	// Counted for tests: batches committed and checkpoints run.
	batches     atomic.Int64
	checkpointN atomic.Int64
}

// checkpointPace says when the checkpointer runs: once commits have paused
// for idle, or once the oldest commit not yet checkpointed is maxDelay old,
// whichever comes first. Under writes that never pause, the WAL then holds
// at most about maxDelay of commits; a checkpoint copies each page once
// however often it changed.
type checkpointPace struct {
	idle, maxDelay time.Duration
}

var defaultCheckpointPace = checkpointPace{idle: 20 * time.Millisecond, maxDelay: time.Second}

func newBatchWriter(pool, ckpt *sql.DB, logger *slog.Logger) *batchWriter {
	w := &batchWriter{
		pool:   pool,
		ckpt:   ckpt,
		logger: logger,
		stmts:  newStmtCache(pool),
		units:  make(chan *writeUnit),
		wrote:  make(chan struct{}, 1),
		quit:   make(chan struct{}),
	}
	w.pace.Store(&defaultCheckpointPace)
	w.done.Add(2)
	go w.run()
	go w.checkpoints()
	return w
}

// do runs fn as one atomic unit in a coming batch and returns its error, or
// the batch's if the batch failed. fn receives the batch's transaction; it
// must not use the DB (the writer is busy running it), and the context it
// passes to the querier is ignored (see batchWriter).
func (w *batchWriter) do(ctx context.Context, fn func(q querier) error) error {
	u := &writeUnit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.units <- u:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errClosed
	}
	// Once taken, a unit is always answered, within one batch.
	return <-u.done
}

// close stops the writer after the batch in progress; later writes fail
// with errClosed.
func (w *batchWriter) close() error {
	w.once.Do(func() { close(w.quit) })
	w.done.Wait()
	return errors.Join(w.stmts.close(), w.ckpt.Close())
}

func (w *batchWriter) run() {
	defer w.done.Done()
	batch := make([]*writeUnit, 0, maxBatch)
	for {
		select {
		case u := <-w.units:
			batch = append(batch, u)
		case <-w.quit:
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case u := <-w.units:
				batch = append(batch, u)
			default:
				break fill
			}
		}
		w.commit(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// commit runs the units of batch in one transaction and answers each.
func (w *batchWriter) commit(batch []*writeUnit) {
	ctx := context.Background()
	tx, err := w.pool.BeginTx(ctx, nil)
	if err != nil {
		for _, u := range batch {
			u.done <- err
		}
		return
	}
	q := &batchQuerier{tx: tx, stmts: w.stmts}
	broken := w.runUnits(ctx, q, batch)
	if broken == nil {
		broken = tx.Commit()
	} else {
		tx.Rollback() //nolint:errcheck // the batch already failed
	}
	if broken == nil {
		w.batches.Add(1)
		select {
		case w.wrote <- struct{}{}:
		default: // already signalled
		}
	}
	for _, u := range batch {
		switch {
		case u.err != nil:
			// Its own error (or its caller's): nothing of it was kept.
			u.done <- u.err
		case broken != nil:
			u.done <- broken
		default:
			u.done <- nil
		}
	}
	// Statements first run in this batch are prepared now, while the
	// connection is free, for the batches after it.
	for _, query := range q.missed {
		w.stmts.prepare(ctx, query) //nolint:errcheck // the next run compiles it again
	}
}

// checkpoints runs a passive checkpoint after commits, paced by w.pace,
// until the writer closes. Passive: it copies what no reader still needs and
// never waits for a reader or the writer. When the last connection closes,
// SQLite checkpoints what is left.
func (w *batchWriter) checkpoints() {
	defer w.done.Done()
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	for {
		select {
		case <-w.wrote:
		case <-w.quit:
			return
		}
		pace := w.pace.Load()
		deadline := time.NewTimer(pace.maxDelay)
		pause.Reset(pace.idle)
	wait:
		for {
			select {
			case <-w.wrote:
				pause.Reset(pace.idle)
			case <-pause.C:
				break wait
			case <-deadline.C:
				break wait
			case <-w.quit:
				return
			}
		}
		deadline.Stop()
		pause.Stop()
		if _, err := w.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			w.logger.Warn("wal checkpoint", "err", err)
		} else {
			w.checkpointN.Add(1)
		}
	}
}

// runUnits runs each unit of batch inside a savepoint of q's transaction,
// recording its error in it. It returns an error, and stops, when the
// transaction itself failed (a savepoint could not be set, released or
// rolled back to): then nothing of the batch can be committed.
func (w *batchWriter) runUnits(ctx context.Context, q *batchQuerier, batch []*writeUnit) error {
	for _, u := range batch {
		if err := u.ctx.Err(); err != nil {
			u.err = err // its caller has gone: skip it
			continue
		}
		if _, err := q.ExecContext(ctx, `SAVEPOINT unit`); err != nil {
			return fmt.Errorf("batch savepoint: %w", err)
		}
		if err := runUnit(u.fn, q); err != nil {
			u.err = err
			if _, err := q.ExecContext(ctx, `ROLLBACK TO unit`); err != nil {
				return fmt.Errorf("batch rollback to savepoint: %w", err)
			}
		}
		if _, err := q.ExecContext(ctx, `RELEASE unit`); err != nil {
			return fmt.Errorf("batch release savepoint: %w", err)
		}
	}
	return nil
}

// runUnit runs fn, turning a panic into its error: the panic belongs to the
// request that sent the unit (where it was recovered before the writer
// existed), not to the writer that serves every request.
func runUnit(fn func(q querier) error, q querier) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write unit panicked: %v", r)
		}
	}()
	return fn(q)
}

// batchQuerier runs a unit's statements in the batch's transaction, with
// the statements prepared in the writer's cache where it has them, and
// remembers those it did not have. It ignores the context it is given:
// every statement runs with the batch's (see batchWriter).
type batchQuerier struct {
	tx     *sql.Tx
	stmts  *stmtCache
	missed []string
}

func (q *batchQuerier) stmt(query string) *sql.Stmt {
	stmt := q.stmts.lookup(query)
	if stmt == nil {
		q.missed = append(q.missed, query)
		return nil
	}
	// The statement was prepared on this very connection, so Tx.Stmt
	// reuses it instead of preparing it again.
	return q.tx.Stmt(stmt)
}

func (q *batchQuerier) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := q.stmt(query); stmt != nil {
		return stmt.Exec(args...)
	}
	return q.tx.Exec(query, args...)
}

func (q *batchQuerier) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := q.stmt(query); stmt != nil {
		return stmt.Query(args...)
	}
	return q.tx.Query(query, args...)
}

func (q *batchQuerier) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	if stmt := q.stmt(query); stmt != nil {
		return stmt.QueryRow(args...)
	}
	return q.tx.QueryRow(query, args...)
}
