-- SMS codes and the send log, SQLite flavour. Keep it in step with
-- migrations/postgres/00002_sms.sql (same tables, columns, names, indexes);
-- the conventions of 00001_initial.sql hold here too. (00001 calls the send
-- log sms_send_counters; it became sms_sends, one row per message.)

-- +goose Up

-- One row per code sent. A code is good only for its (user, session,
-- purpose) and, through its MAC, the number it went to. The unique index
-- keeps one code per binding: ReserveSMS deletes the earlier code before it
-- stores the next, so an older code dies the moment a new one is sent.
--
-- session_id references sessions ON DELETE CASCADE: a code is only usable
-- in its session, so when the session ends (sign-out, ResetMFA, the expiry
-- sweep) its codes go with it instead of lingering, and no code can be
-- stored for a session that does not exist.
CREATE TABLE sms_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('login', 'reauth', 'enroll')),
    number     TEXT    NOT NULL CHECK (number LIKE '+%'),
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX sms_codes_binding ON sms_codes (user_id, session_id, purpose);
-- The session cascade looks codes up by session.
CREATE INDEX sms_codes_session_id ON sms_codes (session_id);
CREATE INDEX sms_codes_expires_at ON sms_codes (expires_at);

-- One row per SMS sent (a code or a notice): the log every sending cap
-- counts over a rolling window. Rows outlive their code (replaced, used,
-- its session ended) because the send still counts; DeleteOldSMS drops
-- them once they are older than the longest window (24 h).
--
-- user_id is SET NULL, not CASCADE, when a user is deleted: the send still
-- counts toward the number, IP and global caps, so deleting an account
-- cannot reset them. code_id is a plain column, not a foreign key, for the
-- same reason (the send must survive its code); ids are never reused, so a
-- stale code_id cannot come to mean another code.
CREATE TABLE sms_sends (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    number  TEXT    NOT NULL CHECK (number LIKE '+%'),
    ip      TEXT    NOT NULL DEFAULT '',
    purpose TEXT    NOT NULL CHECK (purpose IN ('login', 'reauth', 'enroll', 'notice')),
    at      INTEGER NOT NULL,
    code_id INTEGER
) STRICT;
-- One index per cap: the newest sends of one key within a window.
CREATE INDEX sms_sends_number_at ON sms_sends (number, at);
CREATE INDEX sms_sends_user_id_at ON sms_sends (user_id, at);
CREATE INDEX sms_sends_ip_at ON sms_sends (ip, at);
CREATE INDEX sms_sends_at ON sms_sends (at);
-- CancelSMS finds the send of a code.
CREATE INDEX sms_sends_code_id ON sms_sends (code_id);

-- +goose Down
DROP TABLE sms_sends;
DROP TABLE sms_codes;
