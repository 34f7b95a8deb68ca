package store

import (
	"context"
	"database/sql"

	"github.com/latchkey/latchkey/internal/auth"
)

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, email, role, password_hash, preferred_method, password_version, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (*auth.User, error) {
	u := &auth.User{}
	err := row.Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &u.PreferredMethod, &u.PasswordVersion, scanTime(&u.CreatedAt))
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CreateUser inserts u and sets u.ID (and u.Role to "user" if empty). It
// returns an *auth.Error of KindConflict if the email is taken.
func (db *DB) CreateUser(ctx context.Context, u *auth.User) error {
	if u.Role == "" {
		u.Role = "user"
	}
	err := db.write(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `
			INSERT INTO users (email, role, password_hash, preferred_method, created_at)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING id`,
			u.Email, u.Role, u.PasswordHash, u.PreferredMethod, timeValue(u.CreatedAt),
		).Scan(&u.ID)
	})
	if isUniqueViolation(err, "users_email_key", "users.email") {
		return &auth.Error{Kind: auth.KindConflict, Message: "A user with this email already exists."}
	}
	return db.fail("create user", err)
}

// UserByID returns the user with this id, or auth.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (*auth.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, db.fail("user by id", err)
	}
	return u, nil
}

// UserByEmail returns the user with this email (compared exactly: the
// caller folds case), or auth.ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	if err != nil {
		return nil, db.fail("user by email", err)
	}
	return u, nil
}

// ListUsers returns the users with this email, or all users by id if email
// is empty. It never returns a nil slice.
func (db *DB) ListUsers(ctx context.Context, email string) ([]*auth.User, error) {
	var rows *sql.Rows
	var err error
	if email == "" {
		rows, err = db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	} else {
		rows, err = db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1 ORDER BY id`, email)
	}
	if err != nil {
		return nil, db.fail("list users", err)
	}
	defer rows.Close()
	users := []*auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.fail("list users", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("list users", err)
	}
	return users, nil
}

// ReplacePasswordHash sets the user's password hash to newHash only while
// it is still oldHash, and returns auth.ErrNotFound otherwise (no such user,
// or the password changed meanwhile). The version stays: the password is
// the same, only its hash is renewed.
func (db *DB) ReplacePasswordHash(ctx context.Context, userID int64, oldHash, newHash string) error {
	err := db.writeOne(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`,
		userID, oldHash, newHash)
	return db.fail("replace password hash", err)
}
