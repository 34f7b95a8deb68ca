package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// AddEvent inserts e and sets e.ID. An event with UserID 0 belongs to no
// account (it is stored with a NULL user); auth.ErrNotFound if UserID names
// a missing user.
func (db *DB) AddEvent(ctx context.Context, e *auth.Event) error {
	return db.fail("add event", db.write(ctx, func(q querier) error { return insertEvent(ctx, q, e) }))
}

// ListEvents returns up to limit events of the user, newest first (by id,
// which follows commit order better than clocks of several instances do).
func (db *DB) ListEvents(ctx context.Context, userID int64, limit int) ([]*auth.Event, error) {
	events := []*auth.Event{}
	if limit <= 0 {
		return events, nil
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, user_id, type, at, ip, user_agent, detail
		FROM events WHERE user_id = $1
		ORDER BY id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, db.fail("list events", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := &auth.Event{}
		var uid sql.NullInt64
		if err := rows.Scan(&e.ID, &uid, &e.Type, scanTime(&e.At), &e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, db.fail("list events", err)
		}
		e.UserID = uid.Int64
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("list events", err)
	}
	return events, nil
}

// HasSucceededFrom reports whether the user has a login_succeeded event from
// ip at or after since (a zero since means ever).
func (db *DB) HasSucceededFrom(ctx context.Context, userID int64, ip string, since time.Time) (bool, error) {
	var ok bool
	err := db.read.QueryRowContext(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM events
			WHERE user_id = $1 AND type = $2 AND ip = $3 AND at >= $4
		)`, userID, auth.EventLoginSucceeded, ip, since.UnixMicro(), // zero: year 1, before every event
	).Scan(&ok)
	if err != nil {
		return false, db.fail("has succeeded from", err)
	}
	return ok, nil
}

// insertEventSQL inserts one event; insertEvent adds RETURNING id.
const insertEventSQL = `
		INSERT INTO events (user_id, type, at, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`

// eventArgs are insertEventSQL's arguments for e.
func eventArgs(e *auth.Event) []any {
	return []any{idValue(e.UserID), e.Type, timeValue(e.At), e.IP, e.UserAgent, e.Detail}
}

// insertEvent inserts e and sets e.ID.
func insertEvent(ctx context.Context, q querier, e *auth.Event) error {
	return q.QueryRowContext(ctx, insertEventSQL+" RETURNING id", eventArgs(e)...).Scan(&e.ID)
}

// insertUserEvents inserts the events of a transaction about one user,
// giving the user's id to those that have none. It does not read their ids
// back (nothing uses them, and on SQLite's single writer the RETURNING
// costs every request that waits for it); AddEvent does.
func insertUserEvents(ctx context.Context, tx querier, userID int64, events []*auth.Event) error {
	for _, e := range events {
		if e.UserID == 0 {
			e.UserID = userID
		}
		if _, err := tx.ExecContext(ctx, insertEventSQL, eventArgs(e)...); err != nil {
			return err
		}
	}
	return nil
}
