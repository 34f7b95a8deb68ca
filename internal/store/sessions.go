package store

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// CreateSession inserts s and sets s.ID (auth.ErrNotFound if its user does
// not exist).
func (db *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	err := db.write(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `
			INSERT INTO sessions (token_hash, user_id, aal, created_at, last_seen_at,
				verified_at, reauth_at, reauth_method, ip, user_agent, password_version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			RETURNING id`,
			s.TokenHash, s.UserID, s.AAL, timeValue(s.CreatedAt), timeValue(s.LastSeenAt),
			timeValue(s.VerifiedAt), timeValue(s.ReauthAt), s.ReauthMethod, s.IP, s.UserAgent, s.PasswordVersion,
		).Scan(&s.ID)
	})
	return db.fail("create session", err)
}

// sessionByTokenHashSQL is the lookup of every request: one indexed join.
// A session made under an earlier password version (a sign-in that checked
// the old password while it was being changed) is not found: the password
// change, not the race, decides.
const sessionByTokenHashSQL = `
	SELECT s.id, s.token_hash, s.user_id, s.aal, s.created_at, s.last_seen_at,
		s.verified_at, s.reauth_at, s.reauth_method, s.ip, s.user_agent, s.password_version,
		u.id, u.email, u.role, u.password_hash, u.preferred_method, u.password_version, u.created_at
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.token_hash = $1 AND s.password_version = u.password_version`

// SessionByTokenHash returns the session with this token hash and its user
// in one query on the reader pool: this is the lookup of every request.
// auth.ErrNotFound if there is none.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte) (*auth.Session, *auth.User, error) {
	row := db.read.QueryRowContext(ctx, sessionByTokenHashSQL, hash)
	s, u := &auth.Session{}, &auth.User{}
	err := row.Scan(
		&s.ID, &s.TokenHash, &s.UserID, &s.AAL, scanTime(&s.CreatedAt), scanTime(&s.LastSeenAt),
		scanTime(&s.VerifiedAt), scanTime(&s.ReauthAt), &s.ReauthMethod, &s.IP, &s.UserAgent, &s.PasswordVersion,
		&u.ID, &u.Email, &u.Role, &u.PasswordHash, &u.PreferredMethod, &u.PasswordVersion, scanTime(&u.CreatedAt),
	)
	if err != nil {
		return nil, nil, db.fail("session by token hash", err)
	}
	return s, u, nil
}

// touchChunk is how many sessions one transaction of TouchSessions moves.
// A flush after a busy second can hold thousands; in one transaction they
// would hold SQLite's writer, and every request that writes, for tens of
// milliseconds (docs/performance.md, "Figures behind the design").
const touchChunk = 100

// TouchSessions moves last_seen_at of each session in seen forward to its
// time, never back, in transactions of at most touchChunk sessions, in the
// order of their ids. Sessions that are gone are skipped. On an error, the
// chunks before it are written.
func (db *DB) TouchSessions(ctx context.Context, seen map[int64]time.Time) error {
	ids := slices.Sorted(maps.Keys(seen))
	for chunk := range slices.Chunk(ids, touchChunk) {
		err := db.inTx(ctx, func(tx querier) error {
			for _, id := range chunk {
				_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`,
					id, seen[id].UnixMicro())
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return db.fail("touch sessions", err)
		}
	}
	return nil
}

// RotateSession gives session id a new token hash, aal and verified_at, but
// only while its token hash is still oldHash; otherwise auth.ErrNotFound.
func (db *DB) RotateSession(ctx context.Context, id int64, oldHash, newHash []byte, aal int, verifiedAt time.Time) error {
	// Compare-and-swap on the token hash: of two requests rotating the same
	// token at once (two instances, or a replayed cookie), exactly one wins,
	// and the old token stops working the moment this commits.
	err := db.writeOne(ctx, `
		UPDATE sessions SET token_hash = $3, aal = $4, verified_at = $5
		WHERE id = $1 AND token_hash = $2`,
		id, oldHash, newHash, aal, timeValue(verifiedAt))
	return db.fail("rotate session", err)
}

// SetSessionReauth records a step-up made in session id (auth.ErrNotFound
// if the session is gone).
func (db *DB) SetSessionReauth(ctx context.Context, id int64, method string, at time.Time) error {
	err := db.writeOne(ctx, `UPDATE sessions SET reauth_at = $2, reauth_method = $3 WHERE id = $1`,
		id, timeValue(at), method)
	return db.fail("set session reauth", err)
}

// DeleteSession deletes session id (auth.ErrNotFound if it was already
// gone, which a caller signing out may ignore).
func (db *DB) DeleteSession(ctx context.Context, id int64) error {
	err := db.writeOne(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return db.fail("delete session", err)
}

// deleteOtherSessions deletes every session of the user except keepID (0
// deletes them all).
func deleteOtherSessions(ctx context.Context, q querier, userID, keepID int64) error {
	_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keepID)
	return err
}

// DeleteExpiredSessions deletes the sessions last seen before idleBefore or
// created before createdBefore, and returns how many. A zero time bounds
// nothing.
func (db *DB) DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	n, err := db.writeCount(ctx, `DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2`,
		timeValue(idleBefore), timeValue(createdBefore))
	if err != nil {
		return 0, db.fail("delete expired sessions", err)
	}
	return n, nil
}
