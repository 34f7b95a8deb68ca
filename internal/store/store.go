// Package store is Latchkey's database: one database/sql implementation of
// auth.Store and auth.SMSStore for both SQLite (modernc.org/sqlite, the
// default) and PostgreSQL (pgx, for several instances serving together),
// with the migrations embedded.
//
// The SQL text is shared: modernc binds $1..$N by number, exactly like
// PostgreSQL, and both support RETURNING and ON CONFLICT. The dialects differ
// only in the DDL (migrations/<dialect>), in how connections are pooled and
// in how driver errors are recognised.
//
// Every time is stored as unix microseconds UTC (NULL for the zero time), so
// callers get back times with microsecond precision, in UTC.
//
// Every rule that must hold across instances (TOTP replay, lockout, recovery
// code use, session rotation, SMS code use and sending caps) is one
// conditional statement or one transaction, so N instances on one
// PostgreSQL behave as one.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/latchkey/latchkey/internal/auth"
)

// The dialects, as Dialect returns them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// postgresMaxConns bounds the PostgreSQL pool of one instance. Several
// instances share one server, whose max_connections (100 by default) is the
// real limit; 20 is plenty for a handful of indexed statements per request.
const postgresMaxConns = 20

// sqlitePragmas configure every SQLite connection: wait for the writer lock
// instead of failing at once, write-ahead logging (readers never block the
// writer nor it them), foreign keys (ON DELETE CASCADE), and the synchronous
// level that is safe with WAL. _txlock=immediate takes the write lock at
// BEGIN, so a transaction never fails half-way on a lock upgrade.
//
// wal_autocheckpoint is raised from 1,000 pages to a safety net: the
// writer's checkpointer folds the WAL into the database in the background
// (see batchWriter), and only if it fell far behind would a commit do it.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(65536)&_txlock=immediate"

// sqliteReadPragmas configure the reader pool: the same, minus journal_mode
// (WAL is a property of the file, set by the writer) and plus query_only, so
// a write that strays onto a reader fails instead of fighting for the lock.
const sqliteReadPragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=query_only(1)"

//go:embed migrations
var migrations embed.FS

// DB is the Latchkey database. It implements auth.Store and auth.SMSStore
// and is safe for concurrent use.
type DB struct {
	dialect string
	logger  *slog.Logger

	// writePool runs the writes and readPool the reads. On PostgreSQL both
	// are the same pool.
	//
	// Why two pools on SQLite: SQLite allows one writer at a time, and a
	// pool of writers only queues on the file lock (busy_timeout) with
	// SQLITE_BUSY at the end of the queue. One writer connection, driven by
	// one goroutine (writer), queues writers in Go instead, in order and
	// without errors. In WAL mode readers never wait for the writer, so the
	// per-request session lookup runs on its own pool of reader connections
	// and is never stuck behind the writer's queue.
	writePool *sql.DB
	readPool  *sql.DB

	// read runs every pure read: on SQLite with prepared statements (see
	// cachedReader), on PostgreSQL on the pool.
	read querier

	// writer runs every write on SQLite (see batchWriter); nil on
	// PostgreSQL.
	writer *batchWriter
	// readStmts are the reader pool's prepared statements (SQLite).
	readStmts *stmtCache
}

var (
	_ auth.Store    = (*DB)(nil)
	_ auth.SMSStore = (*DB)(nil)
)

// Open opens the database named by dsn: a "postgres://" or "postgresql://"
// URL selects PostgreSQL, anything else is a SQLite file path (query
// parameters for modernc.org/sqlite may follow a "?"). It does not migrate.
//
// PostgreSQL connects lazily, so an instance can start while the database is
// down (its errors are then of auth.KindUnavailable); SQLite opens the file
// at once, creating it if needed. A nil logger discards.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(dsn, logger)
	}
	return openSQLite(ctx, dsn, logger)
}

func openPostgres(dsn string, logger *slog.Logger) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("open postgres: invalid connection URL")
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(postgresMaxConns)
	pool.SetMaxIdleConns(postgresMaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: DialectPostgres, logger: logger, writePool: pool, readPool: pool, read: pool}, nil
}

func openSQLite(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	if path == "" || strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		// Two pools would be two different in-memory databases.
		return nil, errors.New("open sqlite: a file path is required")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}

	write, err := sql.Open("sqlite", path+sep+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect the writer first: it creates the file and switches it to WAL
	// before any reader looks at it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}

	read, err := sql.Open("sqlite", path+sep+sqliteReadPragmas)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readers := 2 * runtime.GOMAXPROCS(0)
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)

	// The checkpointer's own connection, so that a checkpoint (which waits
	// for the disk) holds neither the writer nor a reader. query_only does
	// not stop a checkpoint.
	ckpt, err := sql.Open("sqlite", path+sep+sqliteReadPragmas)
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	ckpt.SetConnMaxLifetime(0)
	ckpt.SetConnMaxIdleTime(0)

	readStmts := newStmtCache(read)
	return &DB{
		dialect: DialectSQLite, logger: logger,
		writePool: write, readPool: read,
		read:      cachedReader{pool: read, stmts: readStmts},
		writer:    newBatchWriter(write, ckpt, logger),
		readStmts: readStmts,
	}, nil
}

// Close closes the database. On SQLite, a write in progress is finished
// first, and later writes fail.
func (db *DB) Close() error {
	if db.readPool == db.writePool {
		return db.writePool.Close()
	}
	return errors.Join(db.writer.close(), db.readStmts.close(), db.readPool.Close(), db.writePool.Close())
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writePool.PingContext(ctx); err != nil {
		return db.fail("ping", err)
	}
	if db.readPool != db.writePool {
		if err := db.readPool.PingContext(ctx); err != nil {
			return db.fail("ping", err)
		}
	}
	return nil
}

// Migrate brings the schema up to date with the embedded migrations. It is
// idempotent. On PostgreSQL it holds a session-level advisory lock while it
// works, so instances that start together migrate one after the other (the
// later ones find nothing to do); it waits up to five minutes for the lock.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.logger),
	}
	dialect := goose.DialectSQLite3
	if db.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		// Poll every second (not the default five) for up to five minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	// The provider uses one connection of the writer pool throughout; it
	// must not be closed (Provider.Close would close our pool).
	provider, err := goose.NewProvider(dialect, db.writePool, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return db.fail("migrate", err)
	}
	for _, r := range results {
		db.logger.InfoContext(ctx, "applied migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer, so that the small helpers
// below run alone or inside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn as one atomic unit of writes: it commits if fn returns nil
// and undoes all of fn's changes otherwise. On PostgreSQL that is a
// transaction of its own; on SQLite a savepoint in the writer's next batch
// (see batchWriter), serialized with every other write. fn must not use db
// itself: on SQLite the writer is busy running fn.
func (db *DB) inTx(ctx context.Context, fn func(q querier) error) error {
	if db.writer != nil {
		return db.writer.do(ctx, fn)
	}
	tx, err := db.writePool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// write runs fn, which makes a single statement's writes: on PostgreSQL
// with the pool, without a transaction of its own (one round trip, not
// three); on SQLite like inTx.
func (db *DB) write(ctx context.Context, fn func(q querier) error) error {
	if db.writer != nil {
		return db.writer.do(ctx, fn)
	}
	return fn(db.writePool)
}

// writeOne runs a statement that must change exactly one row as a write
// of its own, and returns auth.ErrNotFound if it changed none.
func (db *DB) writeOne(ctx context.Context, query string, args ...any) error {
	return db.write(ctx, func(q querier) error { return execOne(ctx, q, query, args...) })
}

// writeCount runs a statement as a write of its own and returns how many
// rows it changed.
func (db *DB) writeCount(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := db.write(ctx, func(q querier) error {
		var err error
		n, err = execCount(ctx, q, query, args...)
		return err
	})
	return n, err
}

// execOne runs a statement that must change exactly one row, and returns
// auth.ErrNotFound if it changed none.
func execOne(ctx context.Context, q querier, query string, args ...any) error {
	n, err := execCount(ctx, q, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// timeValue is the stored form of t: unix microseconds UTC, or NULL for the
// zero time. Every time written goes through it.
func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// scanTime reads a stored time into *t: a zero time.Time for NULL, else the
// time in UTC with microsecond precision. Every time read goes through it.
func scanTime(t *time.Time) sql.Scanner { return timeScanner{t} }

type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		*s.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

// idValue is the stored form of an optional reference: NULL for 0.
func idValue(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// scanID reads an optional reference into *id: 0 for NULL (see idValue).
func scanID(id *int64) sql.Scanner { return idScanner{id} }

type idScanner struct{ id *int64 }

func (s idScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.id = 0
	case int64:
		*s.id = v
	default:
		return fmt.Errorf("scan id: unexpected %T", src)
	}
	return nil
}
