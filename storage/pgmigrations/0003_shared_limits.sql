-- Limits that every Candour instance on one database shares; the same as
-- SQLite's migrations/0027_shared_limits.sql (comments there).

CREATE UNLOGGED TABLE submission_counts (
    minute  BIGINT PRIMARY KEY,
    count   BIGINT NOT NULL
);

CREATE TABLE login_failure_counts (
    minute  BIGINT PRIMARY KEY,
    count   BIGINT NOT NULL
);

CREATE TABLE login_name_failures (
    name_hash     BYTEA  PRIMARY KEY,
    failures      BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL,
    day           BIGINT NOT NULL
);
CREATE INDEX login_name_failures_day ON login_name_failures (day);

CREATE TABLE login_name_key (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    hash_key  BYTEA  NOT NULL
);

CREATE TABLE org_recipients_version (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO org_recipients_version (id, version) VALUES (1, 0);
