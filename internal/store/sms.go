package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// smsSendLockKey is the PostgreSQL advisory lock that serializes every
// ReserveSMS: "lksmssnd" in ASCII. It must differ from goose's migration
// lock key, and nothing else in Latchkey takes it.
const smsSendLockKey int64 = 0x6c6b_736d_7373_6e64

// The public messages of the sending caps. Each says which limit refused.
const (
	msgSMSCooldown = "A code was just sent to this number; wait a moment before asking for another."
	msgSMSNumber   = "Too many codes sent to this number; try again later."
	msgSMSAccount  = "Too many codes sent for this account; try again later."
	msgSMSIP       = "Too many codes requested from your network; try again later."
	msgSMSGlobal   = "Too many text messages are being sent right now; try again later."
)

// smsCodeColumns are the columns scanSMSCode reads, in its order.
const smsCodeColumns = `id, user_id, session_id, purpose, number, hash, created_at, expires_at, attempts`

func scanSMSCode(row scanner) (*auth.SMSCode, error) {
	c := &auth.SMSCode{}
	err := row.Scan(&c.ID, &c.UserID, &c.SessionID, &c.Purpose, &c.Number, &c.Hash,
		scanTime(&c.CreatedAt), scanTime(&c.ExpiresAt), &c.Attempts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ReserveSMS checks every cap of l for a send of c to c.Number caused from
// ip at now and, if all allow it, records the send and stores c as the only
// code of (c.UserID, c.SessionID, c.Purpose), deleting any earlier one, in
// one transaction serialized against every other ReserveSMS. It sets c.ID,
// c.Attempts (0) and, if it was zero, c.CreatedAt (now).
//
// Every cap counts sms_sends rows at > now-window. The number caps
// (NumberCooldown, NumberPerHour, NumberPerDay) count the codes sent to the
// number; the account, IP and global caps count notices too. A zero cap is
// off. When caps refuse, the answer is an *auth.Error of KindRateLimited
// naming the cap that frees last, with RetryAfter the time until it does
// (at least a second), and nothing is written. auth.ErrNotFound if the user
// or the session does not exist.
func (db *DB) ReserveSMS(ctx context.Context, c *auth.SMSCode, ip string, now time.Time, l auth.SMSLimits) error {
	if c.ExpiresAt.IsZero() {
		return errors.New("reserve sms: ExpiresAt is required")
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = now
	}
	var id int64
	err := db.inTx(ctx, func(tx querier) error {
		if err := db.lockSMSSends(ctx, tx); err != nil {
			return err
		}
		if err := checkSMSCaps(ctx, tx, c.UserID, c.Number, ip, now, l); err != nil {
			return err
		}
		// One code per binding: sending a new code voids the earlier one.
		_, err := tx.ExecContext(ctx, `DELETE FROM sms_codes WHERE user_id = $1 AND session_id = $2 AND purpose = $3`,
			c.UserID, c.SessionID, c.Purpose)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO sms_codes (user_id, session_id, purpose, number, hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id`,
			c.UserID, c.SessionID, c.Purpose, c.Number, c.Hash, timeValue(created), timeValue(c.ExpiresAt),
		).Scan(&id)
		if err != nil {
			return err
		}
		return insertSMSSend(ctx, tx, c.UserID, c.Number, ip, c.Purpose, now, id)
	})
	if err != nil {
		return db.fail("reserve sms", err)
	}
	c.ID, c.CreatedAt, c.Attempts = id, created, 0
	return nil
}

// lockSMSSends serializes the caller's transaction against every other
// send, until it ends. Why: the caps are a count followed by an insert, and
// under PostgreSQL's READ COMMITTED two transactions (on any instances)
// would both count 4 sends, both find room under a cap of 5, and both
// insert — N parallel requests could exceed every cap N-fold. The
// transaction-level advisory lock makes the count-then-insert one critical
// section, released at commit or rollback. It relies on READ COMMITTED
// (inTx's default): each later statement takes a fresh snapshot and so sees
// the sends committed by the previous holder, which a snapshot taken before
// the lock (REPEATABLE READ) would not.
//
// SQLite needs no extra lock: a transaction there begins IMMEDIATE (the
// write lock, see sqlitePragmas) on the one writer connection, so write
// transactions already run one at a time.
func (db *DB) lockSMSSends(ctx context.Context, tx querier) error {
	if db.dialect != DialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, smsSendLockKey)
	return err
}

// smsCap is one cap of auth.SMSLimits: at most limit sends matching filter
// (with arg as $3) in any window.
type smsCap struct {
	limit   int
	window  time.Duration
	filter  string // "" counts every send
	arg     any
	message string
}

// checkSMSCaps returns the refusal of the caps of l that do not allow one
// more send at now (nil if they all do). When several refuse, it names the
// one that frees last, so a client that waits RetryAfter is not refused
// again by another.
func checkSMSCaps(ctx context.Context, tx querier, userID int64, number, ip string, now time.Time, l auth.SMSLimits) error {
	// The number caps count codes only: a notice goes to a number that was
	// just removed or replaced, and must not keep its owner from getting a
	// code there.
	const toNumber = `number = $3 AND purpose <> 'notice'`
	caps := []smsCap{
		{limit: 1, window: l.NumberCooldown, filter: toNumber, arg: number, message: msgSMSCooldown},
		{limit: l.NumberPerHour, window: time.Hour, filter: toNumber, arg: number, message: msgSMSNumber},
		{limit: l.NumberPerDay, window: 24 * time.Hour, filter: toNumber, arg: number, message: msgSMSNumber},
		{limit: l.AccountPerHour, window: time.Hour, filter: `user_id = $3`, arg: userID, message: msgSMSAccount},
		// An empty ip is one shared bucket, not an exemption: fail closed.
		{limit: l.IPPerHour, window: time.Hour, filter: `ip = $3`, arg: ip, message: msgSMSIP},
		{limit: l.GlobalPerHour, window: time.Hour, message: msgSMSGlobal},
	}
	var refusal *auth.Error
	for _, c := range caps {
		if c.limit <= 0 || c.window <= 0 {
			continue
		}
		wait, err := smsCapWait(ctx, tx, c, now)
		if err != nil {
			return err
		}
		if wait > 0 && (refusal == nil || wait > refusal.RetryAfter) {
			refusal = &auth.Error{Kind: auth.KindRateLimited, Message: c.message, RetryAfter: wait}
		}
	}
	if refusal == nil {
		return nil
	}
	return refusal
}

// smsCapWait returns how long until cap c allows one more send, 0 if it
// does at now. It looks up the limit-th newest matching send in the window:
// if there is one, the cap is full, and it frees when that send leaves the
// window (the limit-1 newer ones then leave room for one). This also holds
// when notices have pushed the count past the limit, and the index on
// (key, at) answers it by reading at most limit entries.
func smsCapWait(ctx context.Context, tx querier, c smsCap, now time.Time) (time.Duration, error) {
	query := `SELECT at FROM sms_sends WHERE at > $1`
	args := []any{now.Add(-c.window).UnixMicro(), c.limit - 1}
	if c.filter != "" {
		query += ` AND ` + c.filter
		args = append(args, c.arg)
	}
	query += ` ORDER BY at DESC LIMIT 1 OFFSET $2`
	var at time.Time
	err := tx.QueryRowContext(ctx, query, args...).Scan(scanTime(&at))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	// Retry-After is in whole seconds on the wire; never tell a client 0.
	return max(at.Add(c.window).Sub(now), time.Second), nil
}

// insertSMSSend records one SMS sent (codeID 0 for a notice).
func insertSMSSend(ctx context.Context, tx querier, userID int64, number, ip, purpose string, at time.Time, codeID int64) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO sms_sends (user_id, number, ip, purpose, at, code_id)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		idValue(userID), number, ip, purpose, timeValue(at), idValue(codeID))
	return err
}

// CancelSMS undoes ReserveSMS after a failed delivery: it deletes code
// codeID and its send record in one transaction, so the failure counts
// against no cap. The send record goes even if the code was already
// replaced by a newer one, since this send never happened.
// auth.ErrNotFound if neither was there.
func (db *DB) CancelSMS(ctx context.Context, codeID int64) error {
	// No advisory lock: deleting a send can only lower a count, so a
	// concurrent ReserveSMS that still sees it errs on the safe side.
	err := db.inTx(ctx, func(tx querier) error {
		sends, err := execCount(ctx, tx, `DELETE FROM sms_sends WHERE code_id = $1`, codeID)
		if err != nil {
			return err
		}
		codes, err := execCount(ctx, tx, `DELETE FROM sms_codes WHERE id = $1`, codeID)
		if err != nil {
			return err
		}
		if sends+codes == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
	return db.fail("cancel sms", err)
}

// RecordSMSNotice records a notice sent to number for the user (0: for no
// account), caused from ip at now. It counts toward the account, IP and
// global caps of later sends, but no cap stops it, so it takes no lock.
// auth.ErrNotFound if the user does not exist.
func (db *DB) RecordSMSNotice(ctx context.Context, userID int64, number, ip string, now time.Time) error {
	_, err := db.writeCount(ctx, `
		INSERT INTO sms_sends (user_id, number, ip, purpose, at)
		VALUES ($1, $2, $3, $4, $5)`,
		idValue(userID), number, ip, auth.PurposeNotice, timeValue(now))
	return db.fail("record sms notice", err)
}

// LiveSMSCode returns the live code of (user, session, purpose): unused,
// unexpired at now (expires_at > now) and with fewer than maxAttempts wrong
// tries (so a maxAttempts of 0 or less leaves no code live). auth.ErrNotFound
// if there is none.
func (db *DB) LiveSMSCode(ctx context.Context, userID, sessionID int64, purpose string, now time.Time, maxAttempts int) (*auth.SMSCode, error) {
	c, err := scanSMSCode(db.read.QueryRowContext(ctx, `
		SELECT `+smsCodeColumns+` FROM sms_codes
		WHERE user_id = $1 AND session_id = $2 AND purpose = $3
			AND used_at IS NULL AND expires_at > $4 AND attempts < $5`,
		userID, sessionID, purpose, now.UnixMicro(), maxAttempts))
	if err != nil {
		return nil, db.fail("live sms code", err)
	}
	return c, nil
}

// DeleteOldSMS deletes the send records older than before and the codes
// that expired before it, and returns how many rows went. Callers pass
// now-24h: a send must be kept as long as the longest cap window
// (NumberPerDay) can count it.
func (db *DB) DeleteOldSMS(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	err := db.inTx(ctx, func(tx querier) error {
		sends, err := execCount(ctx, tx, `DELETE FROM sms_sends WHERE at < $1`, before.UnixMicro())
		if err != nil {
			return err
		}
		codes, err := execCount(ctx, tx, `DELETE FROM sms_codes WHERE expires_at < $1`, before.UnixMicro())
		if err != nil {
			return err
		}
		total = sends + codes
		return nil
	})
	if err != nil {
		return 0, db.fail("delete old sms", err)
	}
	return total, nil
}
