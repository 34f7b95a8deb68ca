package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/auth"
)

// errUnavailable is the public message of every KindUnavailable error.
const errUnavailable = "The database is unavailable; try again shortly."

// fail turns the error of operation op into what auth.Store promises:
// auth.ErrNotFound for a missing row (also a foreign key to a missing row),
// an *auth.Error of KindUnavailable when the database cannot be reached, the
// *auth.Error itself when a helper already decided, else err wrapped with op.
// Driver messages carry no bound values, so no secret reaches the error.
func (db *DB) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, auth.ErrNotFound) || isForeignKeyViolation(err) {
		return fmt.Errorf("%s: %w", op, auth.ErrNotFound)
	}
	if _, ok := errors.AsType[*auth.Error](err); ok {
		return err
	}
	if isUnavailable(err) {
		return &auth.Error{Kind: auth.KindUnavailable, Message: errUnavailable, Err: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// isUnavailable reports whether err means the database could not be
// reached or is refusing work for now, rather than that a statement failed.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; not the database's fault
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutting down, starting up
			return true
		case pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		switch sqliteErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN:
			// Still locked after busy_timeout, or the file is gone.
			return true
		}
		return false
	}
	return strings.Contains(err.Error(), "connection refused")
}

// isUniqueViolation reports whether err is a broken unique constraint
// named constraint (the names are the same in both schemas).
func isUniqueViolation(err error, constraint, column string) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505" && pgErr.ConstraintName == constraint
	}
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		// SQLite names the column, not the constraint.
		return sqliteErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT &&
			strings.Contains(sqliteErr.Error(), "UNIQUE constraint failed: "+column)
	}
	return false
}

// isForeignKeyViolation reports whether err is a reference to a missing row
// (in this schema, a missing user, or the missing session of an SMS code).
func isForeignKeyViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23503"
	}
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY ||
			(sqliteErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(sqliteErr.Error(), "FOREIGN KEY constraint failed"))
	}
	return false
}
