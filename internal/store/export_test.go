package store

import "context"

// ExecForTest runs a statement on the writer pool, for tests that need rows
// no method writes yet (phones) or that look at the schema itself.
func ExecForTest(ctx context.Context, db *DB, query string, args ...any) error {
	_, err := db.write.ExecContext(ctx, query, args...)
	return err
}

// CountForTest runs a query that returns one integer.
func CountForTest(ctx context.Context, db *DB, query string, args ...any) (int64, error) {
	var n int64
	err := db.write.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// ExecReaderForTest runs a statement on the reader pool.
func ExecReaderForTest(ctx context.Context, db *DB, query string, args ...any) error {
	_, err := db.read.ExecContext(ctx, query, args...)
	return err
}
