package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// smsSendLockKey is the PostgreSQL advisory lock that serializes every
// ReserveSMS: "lksmssnd" in ASCII. It must differ from goose's migration
// lock key, and nothing else in Latchkey takes it.
const smsSendLockKey int64 = 0x6c6b_736d_7373_6e64

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

// ReserveSMS checks every cap of caps for a send of c to c.Number caused
// from ip at now and, if all allow it, records the send and stores c as the
// only code of (c.UserID, c.SessionID, c.Purpose), deleting any earlier one,
// in one transaction serialized against every other ReserveSMS. It sets
// c.ID, c.Attempts (0) and, if it was zero, c.CreatedAt (now).
//
// Every cap counts the sms_sends rows of its scope at > now-window, notices
// only if the cap says so. When caps refuse, nothing is written and the
// answer is the refusal of the cap that frees last. auth.ErrNotFound if the
// user or the session does not exist.
func (db *DB) ReserveSMS(ctx context.Context, c *auth.SMSCode, ip string, now time.Time, caps []auth.SMSCap) (*auth.SMSRefusal, error) {
	if c.ExpiresAt.IsZero() {
		return nil, errors.New("reserve sms: ExpiresAt is required")
	}
	for _, cp := range caps {
		if cp.Limit < 1 || cp.Window <= 0 {
			return nil, fmt.Errorf("reserve sms: cap %q needs a limit of at least 1 and a positive window", cp.Name)
		}
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = now
	}
	var id int64
	var refusal *auth.SMSRefusal
	err := db.inTx(ctx, func(tx querier) error {
		if err := db.lockSMSSends(ctx, tx); err != nil {
			return err
		}
		var err error
		if refusal, err = checkSMSCaps(ctx, tx, c, ip, now, caps); err != nil || refusal != nil {
			return err // refused: nothing written
		}
		// One code per binding: sending a new code voids the earlier one.
		_, err = tx.ExecContext(ctx, `DELETE FROM sms_codes WHERE user_id = $1 AND session_id = $2 AND purpose = $3`,
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
		return nil, db.fail("reserve sms", err)
	}
	if refusal != nil {
		return refusal, nil
	}
	c.ID, c.CreatedAt, c.Attempts = id, created, 0
	return nil, nil
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

// checkSMSCaps returns the refusal of the caps that do not allow one more
// send of c from ip at now (nil if they all do). When several refuse, it
// names the one that frees last.
func checkSMSCaps(ctx context.Context, tx querier, c *auth.SMSCode, ip string, now time.Time, caps []auth.SMSCap) (*auth.SMSRefusal, error) {
	var refusal *auth.SMSRefusal
	for _, cp := range caps {
		freesAt, err := smsCapFreesAt(ctx, tx, cp, c, ip, now)
		if err != nil {
			return nil, err
		}
		if !freesAt.IsZero() && (refusal == nil || freesAt.After(refusal.FreesAt)) {
			refusal = &auth.SMSRefusal{Cap: cp, FreesAt: freesAt}
		}
	}
	return refusal, nil
}

// smsCapFreesAt returns when cap cp allows one more send of c from ip, the
// zero time if it does at now. It looks up the limit-th newest counted send
// in the window: if there is one, the cap is full, and it frees when that
// send leaves the window (the limit-1 newer ones then leave room for one).
// This also holds when notices have pushed the count past the limit, and
// the index on (key, at) answers it by reading at most limit entries.
func smsCapFreesAt(ctx context.Context, tx querier, cp auth.SMSCap, c *auth.SMSCode, ip string, now time.Time) (time.Time, error) {
	query := `SELECT at FROM sms_sends WHERE at > $1`
	args := []any{now.Add(-cp.Window).UnixMicro(), cp.Limit - 1}
	switch cp.Scope {
	case auth.SMSScopeNumber:
		query += ` AND number = $3`
		args = append(args, c.Number)
	case auth.SMSScopeAccount:
		query += ` AND user_id = $3`
		args = append(args, c.UserID)
	case auth.SMSScopeIP:
		query += ` AND ip = $3`
		args = append(args, ip)
	case auth.SMSScopeGlobal:
	default:
		return time.Time{}, fmt.Errorf("sms cap %q: unknown scope %d", cp.Name, cp.Scope)
	}
	if !cp.Notices {
		// A constant, so the statement text stays fixed.
		query += ` AND purpose <> '` + auth.PurposeNotice + `'`
	}
	query += ` ORDER BY at DESC LIMIT 1 OFFSET $2`
	var at time.Time
	err := tx.QueryRowContext(ctx, query, args...).Scan(scanTime(&at))
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return at.Add(cp.Window), nil
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
// that expired before it, and returns how many rows went. A send must be
// kept as long as the longest cap window can count it (see
// auth.Service.CleanupSMS).
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
