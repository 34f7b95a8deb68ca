package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"
)

// KeyUsage counts the stored values that depend on one sealing key: values
// sealed or hashed under it, which no other key opens or checks. A key can
// leave the keyring once every count is 0.
type KeyUsage struct {
	KeyID         string
	TOTPActive    int // active apps whose secret is sealed under the key
	TOTPPending   int // pending (unexpired) enrolments sealed under it
	RecoveryCodes int // recovery codes hashed under it
	SMSCodes      int // live (unused, unexpired) SMS codes hashed under it
}

// KeyUsage returns, by key id, what still depends on each key at now,
// sorted by key id. A key nothing depends on is absent. An expired pending
// enrolment or SMS code cannot be used any more, so it is not counted.
//
// Recovery and SMS codes keep their key id in front of the MAC
// ("<key id>:<mac>"); a hash without one is counted under the key id "".
// The counts are read one table after the other, not as one snapshot:
// while servers run they can only move toward the primary key.
func (db *DB) KeyUsage(ctx context.Context, now time.Time) ([]KeyUsage, error) {
	byKey := map[string]*KeyUsage{}
	usage := func(id string) *KeyUsage {
		u := byKey[id]
		if u == nil {
			u = &KeyUsage{KeyID: id}
			byKey[id] = u
		}
		return u
	}

	rows, err := db.read.QueryContext(ctx, `
		SELECT key_id, state, COUNT(*) FROM totp_factors
		WHERE state = 'active' OR expires_at > $1
		GROUP BY key_id, state`, now.UnixMicro())
	if err != nil {
		return nil, db.fail("key usage", err)
	}
	err = scanEach(rows, func() error {
		var id, state string
		var n int
		if err := rows.Scan(&id, &state, &n); err != nil {
			return err
		}
		if state == "active" {
			usage(id).TOTPActive += n
		} else {
			usage(id).TOTPPending += n
		}
		return nil
	})
	if err != nil {
		return nil, db.fail("key usage", err)
	}

	// The key id is cut from each hash here rather than in SQL: the two
	// dialects share no function that finds a byte in a blob.
	hashQueries := []struct {
		query string
		args  []any
		count func(*KeyUsage)
	}{
		{`SELECT hash FROM recovery_codes`, nil, func(u *KeyUsage) { u.RecoveryCodes++ }},
		{`SELECT hash FROM sms_codes WHERE used_at IS NULL AND expires_at > $1`, []any{now.UnixMicro()}, func(u *KeyUsage) { u.SMSCodes++ }},
	}
	for _, q := range hashQueries {
		rows, err := db.read.QueryContext(ctx, q.query, q.args...)
		if err != nil {
			return nil, db.fail("key usage", err)
		}
		err = scanEach(rows, func() error {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return err
			}
			id, _, found := bytes.Cut(h, []byte(":"))
			if !found {
				id = nil
			}
			q.count(usage(string(id)))
			return nil
		})
		if err != nil {
			return nil, db.fail("key usage", err)
		}
	}

	out := make([]KeyUsage, 0, len(byKey))
	for _, u := range byKey {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b KeyUsage) int { return cmp.Compare(a.KeyID, b.KeyID) })
	return out, nil
}

// scanEach calls scan for every row, then closes rows and returns the first
// error.
func scanEach(rows *sql.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}
