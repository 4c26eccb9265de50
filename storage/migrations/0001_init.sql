-- Candour schema, version 1.
--
-- Nothing here is plaintext report content: messages and attachments are
-- standard age files. What is in clear is listed in SECURITY.md.

-- Argon2id parameter sets for case codes. The salt is per set, not per case,
-- because the lookup id must be derivable from the code alone.
CREATE TABLE kdf_params (
    id          INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,
    memory_kib  INTEGER NOT NULL,
    threads     INTEGER NOT NULL,
    salt        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    ref               TEXT    NOT NULL UNIQUE,  -- random reference shown to staff
    lookup_id         BLOB    NOT NULL UNIQUE,  -- derived from the case code by Argon2id
    kdf_id            INTEGER NOT NULL REFERENCES kdf_params(id),
    wrapped_identity  BLOB    NOT NULL,         -- age file: the case identity, under the code-derived key
    recipient         TEXT    NOT NULL,         -- the case identity's public key
    status            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,         -- unix seconds, coarsened to the day
    updated_at        INTEGER NOT NULL          -- unix seconds, coarsened to the day
);
CREATE INDEX cases_updated ON cases(updated_at DESC, id DESC);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    author      TEXT    NOT NULL CHECK (author IN ('reporter', 'staff')),
    created_at  INTEGER NOT NULL,               -- unix seconds, coarsened to the day
    ciphertext  BLOB    NOT NULL                -- age file: crypto.Message as JSON
);
CREATE INDEX messages_case ON messages(case_id, id);

-- An attachment is written chunk by chunk while it is uploaded; until the
-- message that names it is committed, message_id is NULL and the rows are
-- deleted on failure or at the next start.
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    size        INTEGER NOT NULL DEFAULT 0,     -- ciphertext bytes
    chunks      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_message ON attachments(message_id);

CREATE TABLE attachment_chunks (
    id             INTEGER PRIMARY KEY,
    attachment_id  INTEGER NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    UNIQUE (attachment_id, seq)
);
