-- Candour schema, version 2: staff accounts, their sessions, and the audit
-- trail.
--
-- Secrets are never stored in a form that lets the holder of the database
-- log in: enrolment links, session cookies and recovery codes are kept only
-- as hashes, and passwords only as the hash string the server computed. The
-- TOTP secret must be usable to check codes, so it is stored as given.

-- A staff member. The username keeps the case it was typed in, but is unique
-- regardless of case (ASCII only: SQLite's NOCASE folds A-Z), so "Alice" and
-- "alice" cannot be two accounts that look alike in the audit trail.
CREATE TABLE staff (
    id              INTEGER PRIMARY KEY,
    username        TEXT    NOT NULL COLLATE NOCASE UNIQUE CHECK (username <> ''),
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'caseworker')),
    password_hash   TEXT    NOT NULL DEFAULT '',  -- empty until enrolled
    totp_secret     TEXT    NOT NULL DEFAULT '',  -- base32; empty until enrolled
    totp_last_step  INTEGER NOT NULL DEFAULT 0,   -- last accepted TOTP step: replay protection
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,   -- unix seconds; 0 if not locked
    created_at      INTEGER NOT NULL,             -- unix seconds
    updated_at      INTEGER NOT NULL              -- unix seconds
);

-- One-time enrolment links. Only a hash of the link's token is stored, so a
-- copy of the database does not yield a usable link.
CREATE TABLE staff_enrolments (
    token_hash  BLOB    PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,                 -- unix seconds
    used_at     INTEGER,                          -- unix seconds; NULL until used
    created_at  INTEGER NOT NULL                  -- unix seconds
);
CREATE INDEX staff_enrolments_staff ON staff_enrolments(staff_id);

-- Recovery codes, as hashes. A used code stays (with used_at) so the count
-- of remaining codes can be shown.
CREATE TABLE staff_recovery_codes (
    id          INTEGER PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    code_hash   BLOB    NOT NULL,
    used_at     INTEGER,                          -- unix seconds; NULL until used
    UNIQUE (staff_id, code_hash)
);

-- Server-side staff sessions, keyed by a hash of the cookie token.
CREATE TABLE staff_sessions (
    token_hash  BLOB    PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    csrf        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,                 -- unix seconds
    last_seen   INTEGER NOT NULL                  -- unix seconds
);
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);
CREATE INDEX staff_sessions_created ON staff_sessions(created_at);
CREATE INDEX staff_sessions_last_seen ON staff_sessions(last_seen);

-- The audit trail: a hash chain. Each entry's hash covers its content and the
-- previous entry's hash; ids are assigned by AppendAudit, consecutively from 1.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,                  -- unix seconds, UTC
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);

-- The chain's head: how many entries there are and the newest one's id and
-- hash. A chain cut short at its newest end is still a valid chain; the head
-- is what makes that cut detectable.
CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    count      INTEGER NOT NULL,
    last_id    INTEGER NOT NULL,
    last_hash  BLOB    NOT NULL
);
INSERT INTO audit_head (id, count, last_id, last_hash) VALUES (1, 0, 0, zeroblob(32));

-- The log is append-only. These triggers stop a bug or a careless manual
-- query; they do not stop someone who can write the file (they can drop
-- them), which is what the hash chain and VerifyAudit are for.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit head cannot be deleted');
END;
