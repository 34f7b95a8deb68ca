package store

import "context"

// CountForTest runs a query that returns one integer, for tests that look
// at rows or the schema directly.
func CountForTest(ctx context.Context, db *DB, query string, args ...any) (int64, error) {
	var n int64
	err := db.write(ctx, func(q querier) error { return q.QueryRowContext(ctx, query, args...).Scan(&n) })
	return n, err
}

// ExecReaderForTest runs a statement on the reader pool.
func ExecReaderForTest(ctx context.Context, db *DB, query string, args ...any) error {
	_, err := db.readPool.ExecContext(ctx, query, args...)
	return err
}
