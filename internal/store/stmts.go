package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts bounds a statement cache. The store's SQL texts are
// constants (a few dozen), so the bound is never reached in practice.
const maxCachedStmts = 256

// stmtCache keeps prepared statements of one SQLite pool by SQL text.
//
// Why: modernc.org/sqlite compiles the SQL text anew on every call that is
// not a prepared statement, and compiling is a large part of the cost of the
// short indexed statements the store runs (several times the cost of running
// them; docs/performance.md). PostgreSQL needs no such cache: pgx keeps one per
// connection. database/sql prepares a cached statement again on each
// connection it runs on, once.
type stmtCache struct {
	pool  *sql.DB
	mu    sync.Mutex // serializes prepare
	n     int        // statements kept, under mu
	stmts sync.Map   // SQL text → *sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool}
}

// lookup returns the prepared statement of query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if v, ok := c.stmts.Load(query); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

// prepare prepares query on the pool and keeps it, unless it is already
// kept or the cache is full (then it returns nil and no error). The caller
// must not hold one of the pool's connections in a transaction: on the
// single-connection writer pool that would wait forever.
func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stmt := c.lookup(query); stmt != nil {
		return stmt, nil
	}
	if c.n >= maxCachedStmts {
		return nil, nil
	}
	stmt, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts.Store(query, stmt)
	c.n++
	return stmt, nil
}

// close closes every kept statement.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	c.stmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		c.stmts.Delete(k)
		return true
	})
	c.n = 0
	return errors.Join(errs...)
}

// cachedReader runs the store's reads on SQLite's reader pool with prepared
// statements, preparing each SQL text on first use.
//
// It also runs them without their caller's cancellation. Why: for a
// cancellable context modernc.org/sqlite starts a goroutine per statement to
// interrupt it, which costs more than the statement (indexed lookups of
// microseconds). A caller that has gone still gets its answer, at once.
type cachedReader struct {
	pool  *sql.DB
	stmts *stmtCache
}

func (r cachedReader) stmt(ctx context.Context, query string) *sql.Stmt {
	if stmt := r.stmts.lookup(query); stmt != nil {
		return stmt
	}
	stmt, err := r.stmts.prepare(ctx, query)
	if err != nil {
		return nil // the plain call below reports the same error
	}
	return stmt
}

func (r cachedReader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if stmt := r.stmt(ctx, query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return r.pool.ExecContext(ctx, query, args...)
}

func (r cachedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if stmt := r.stmt(ctx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return r.pool.QueryContext(ctx, query, args...)
}

func (r cachedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if stmt := r.stmt(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return r.pool.QueryRowContext(ctx, query, args...)
}
