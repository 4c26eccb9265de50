-- Reporter follow-up sessions and the receipts of new reports, shared by
-- every instance of a PostgreSQL installation (issue 16; the server's
-- session_db.go and receipt_db.go). A SQLite installation is one instance
-- and keeps both in its memory only: there these tables stay empty.
--
-- A session row is keyed by a hash of the cookie token and holds the
-- case identity sealed under another key derived from that token, which
-- only the reporter's cookie carries: the database alone opens nothing.
-- Times are whole minutes (no precise request time of a reporter), and
-- seq orders sessions by their last use for eviction: a counter, not a
-- time. No rowid, so that nothing records the order rows were made in.
CREATE TABLE reporter_sessions (
    id_hash     BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    sealed      BLOB    NOT NULL CHECK (length(sealed) BETWEEN 1 AND 16384),
    idle_until  INTEGER NOT NULL,   -- unix seconds, a whole minute
    ends_at     INTEGER NOT NULL,   -- unix seconds, a whole minute
    seq         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX reporter_sessions_case ON reporter_sessions (case_id);
CREATE INDEX reporter_sessions_idle ON reporter_sessions (idle_until);
CREATE INDEX reporter_sessions_ends ON reporter_sessions (ends_at);
CREATE INDEX reporter_sessions_seq ON reporter_sessions (seq);

-- A new report's receipt (case code, file names, channel), keyed by the
-- hash of its form's one-time token and sealed under a key derived from
-- the token itself, for a few minutes, so that the same form sent again
-- to any instance gets the same receipt. A row without sealed is an
-- attempt in flight, claimed by claim (random, per attempt); expires_at
-- (a whole minute) ends a receipt, or a claim as a backstop. instance_id
-- is the instance that made the claim (storage/instances.go; NULL on
-- SQLite, and once the receipt is kept): a repeat of the form takes the
-- claim of a dead instance over at once. No FOREIGN KEY: instances comes
-- later (0028), and a claimer's row gone is itself a sign of its death.
CREATE TABLE report_receipts (
    token_hash  BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    claim       BLOB    NOT NULL CHECK (length(claim) = 16),
    sealed      BLOB    CHECK (sealed IS NULL OR length(sealed) BETWEEN 1 AND 1048576),
    expires_at  INTEGER NOT NULL,   -- unix seconds, a whole minute
    instance_id INTEGER             -- the claiming instance (PostgreSQL)
) WITHOUT ROWID;
CREATE INDEX report_receipts_expires ON report_receipts (expires_at);
