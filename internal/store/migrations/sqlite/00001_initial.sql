-- Latchkey schema, SQLite flavour. Keep it in step with
-- migrations/postgres/00001_initial.sql: the same tables, columns, names and
-- indexes, so one set of queries serves both databases.
--
-- Conventions (both dialects):
--   * Every time is unix MICROseconds UTC in an integer column; NULL is the
--     zero time.Time. Comparisons in SQL are plain integer comparisons.
--   * Tables are STRICT, so a wrongly typed value is an error rather than a
--     silent conversion; INTEGER is 64-bit here (the BIGINT of PostgreSQL).
--   * AUTOINCREMENT: ids are never reused. Session and factor ids are bound
--     into step-up proofs, SMS codes and sealed secrets, so a recycled id
--     must never inherit another row's meaning.
--   * Rows belonging to a user go with the user (ON DELETE CASCADE).
--
-- Later migrations (00002_... for SMS) add sms_codes and sms_send_counters;
-- phones is created here because MFAMethods already reads it.

-- +goose Up
CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    email            TEXT    NOT NULL CONSTRAINT users_email_key UNIQUE,
    role             TEXT    NOT NULL DEFAULT 'user',
    password_hash    TEXT    NOT NULL DEFAULT '',
    preferred_method TEXT    NOT NULL DEFAULT '',
    mfa_failures     INTEGER NOT NULL DEFAULT 0,
    mfa_locked_until INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    BLOB    NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    aal           INTEGER NOT NULL CHECK (aal IN (1, 2)),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    verified_at   INTEGER,
    reauth_at     INTEGER,
    reauth_method TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);
CREATE INDEX sessions_created_at ON sessions (created_at);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    token_hash BLOB    NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE,
    admin      INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT;

-- user_id is NULL for an event that belongs to no account.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_user_id_id ON events (user_id, id DESC);
-- HasSucceededFrom: (user, login_succeeded, ip) and a time bound.
CREATE INDEX events_user_id_type_ip ON events (user_id, type, ip, at);

CREATE TABLE totp_factors (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'active')),
    sealed_secret BLOB    NOT NULL,
    key_id        TEXT    NOT NULL DEFAULT '',
    last_step     INTEGER NOT NULL DEFAULT -1,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    expires_at    INTEGER
) STRICT;
CREATE INDEX totp_factors_user_id ON totp_factors (user_id);
-- At most one active and one pending factor per user, enforced by the
-- database so that two instances confirming at once cannot both win.
CREATE UNIQUE INDEX totp_factors_one_active ON totp_factors (user_id) WHERE state = 'active';
CREATE UNIQUE INDEX totp_factors_one_pending ON totp_factors (user_id) WHERE state = 'pending';

CREATE TABLE recovery_codes (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- number is E.164 ("+14155550123").
CREATE TABLE phones (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number       TEXT    NOT NULL CHECK (number LIKE '+%'),
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'active')),
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER
) STRICT;
CREATE INDEX phones_user_id ON phones (user_id);
CREATE UNIQUE INDEX phones_one_active ON phones (user_id) WHERE state = 'active';
CREATE UNIQUE INDEX phones_one_pending ON phones (user_id) WHERE state = 'pending';

-- +goose Down
DROP TABLE phones;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
DROP TABLE events;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
