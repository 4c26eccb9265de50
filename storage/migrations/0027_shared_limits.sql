-- Limits that every Candour instance on one database shares (issue 16,
-- storage/shared_limits.go): the submission budget, the login throttle's
-- overall count and its locks on unknown usernames, and a version of the
-- organisation's recipients so that every instance seals to the current
-- set. Nothing in them names a reporter or a case.

-- Submissions (new reports and messages) counted per minute, for the
-- budget: used on PostgreSQL only (UNLOGGED there), where instances share
-- it; SQLite, a single process, counts in memory and leaves this table
-- empty, so that no count per minute is stored with the data (see
-- TakeSubmission).
CREATE TABLE submission_counts (
    minute  INTEGER PRIMARY KEY,  -- unix seconds / 60
    count   INTEGER NOT NULL
);

-- Failed staff logins counted per minute, all accounts together: the
-- current and the previous minute are kept.
CREATE TABLE login_failure_counts (
    minute  INTEGER PRIMARY KEY,  -- unix seconds / 60
    count   INTEGER NOT NULL
);

-- Failed logins with a username no account has, keyed by a keyed,
-- memory-hard hash of the name (never the name: staff sometimes type a
-- password there). Deleted a day after their last failure.
CREATE TABLE login_name_failures (
    name_hash     BLOB    PRIMARY KEY,
    failures      INTEGER NOT NULL,
    locked_until  INTEGER NOT NULL,  -- unix seconds
    day           INTEGER NOT NULL   -- unix seconds, the day of the last failure
);
CREATE INDEX login_name_failures_day ON login_name_failures (day);

-- The key of that hash, random, made by the first instance that needs it.
CREATE TABLE login_name_key (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    hash_key  BLOB    NOT NULL
);

-- Bumped by every change of org_recipients, in the same transaction.
CREATE TABLE org_recipients_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO org_recipients_version (id, version) VALUES (1, 0);
