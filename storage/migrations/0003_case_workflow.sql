-- Case workflow: assignment to a caseworker, and what each caseworker has
-- read (for the inbox's unread marker). Neither holds report content.
ALTER TABLE cases ADD COLUMN assignee_id INTEGER REFERENCES staff(id) ON DELETE SET NULL;
CREATE INDEX cases_assignee ON cases(assignee_id, updated_at DESC, id DESC);
CREATE INDEX cases_status ON cases(status, updated_at DESC, id DESC);

CREATE TABLE case_reads (
    staff_id  INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    case_id   INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    last_message_id INTEGER NOT NULL,  -- the newest message when last opened
    PRIMARY KEY (staff_id, case_id)
) WITHOUT ROWID;

-- Internal notes: staff-only, encrypted (by the caseworker's browser) to the
-- organisation's recipients alone, never to the case, so the reporter can
-- never read them.
CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    author_id   INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,   -- unix seconds, coarsened to the day
    ciphertext  BLOB    NOT NULL    -- age file
);
CREATE INDEX notes_case ON notes(case_id, id);
