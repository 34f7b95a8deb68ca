-- Sessions bound to the password they were made with, and pending
-- enrolments bound to the session that started them; postgres flavour. Keep it
-- in step with migrations/sqlite/00003_sessions_bound.sql.

-- +goose Up

-- password_version counts the user's password changes. A session carries the
-- version it was made under and is usable only while it equals the user's:
-- a sign-in that raced a password change (its password checked against the
-- old hash) can never keep a session.
ALTER TABLE users ADD COLUMN password_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN password_version BIGINT NOT NULL DEFAULT 0;

-- session_id of a pending app or phone is the session that started the
-- enrolment (and stepped up for it); only that session may confirm it.
-- Session ids are never reused, so no foreign key is needed to keep the
-- binding true, and an active factor's row does not go with the session.
ALTER TABLE totp_factors ADD COLUMN session_id BIGINT;
ALTER TABLE phones ADD COLUMN session_id BIGINT;

-- +goose Down
ALTER TABLE phones DROP COLUMN session_id;
ALTER TABLE totp_factors DROP COLUMN session_id;
ALTER TABLE sessions DROP COLUMN password_version;
ALTER TABLE users DROP COLUMN password_version;
