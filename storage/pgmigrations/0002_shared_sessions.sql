-- SQLite's 0026: reporter sessions and new-report receipts shared by the
-- instances (see storage/migrations/0026_shared_sessions.sql).
CREATE TABLE reporter_sessions (
    id_hash     BYTEA  PRIMARY KEY CHECK (length(id_hash) = 32),
    case_id     BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    sealed      BYTEA  NOT NULL CHECK (length(sealed) BETWEEN 1 AND 16384),
    idle_until  BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX reporter_sessions_case ON reporter_sessions (case_id);
CREATE INDEX reporter_sessions_idle ON reporter_sessions (idle_until);
CREATE INDEX reporter_sessions_ends ON reporter_sessions (ends_at);
CREATE INDEX reporter_sessions_seq ON reporter_sessions (seq);

CREATE TABLE report_receipts (
    token_hash  BYTEA  PRIMARY KEY CHECK (length(token_hash) = 32),
    claim       BYTEA  NOT NULL CHECK (length(claim) = 16),
    sealed      BYTEA  CHECK (sealed IS NULL OR length(sealed) BETWEEN 1 AND 1048576),
    expires_at  BIGINT NOT NULL,
    instance_id BIGINT
);
CREATE INDEX report_receipts_expires ON report_receipts (expires_at);
