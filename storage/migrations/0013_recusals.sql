-- Conflicts of interest. A staff member declared to have one (a former
-- officer of the force a channel handles, a relative of someone named in
-- a case) is kept away, with the reason in the audit trail:
--   channel_exclusions  from a whole channel: never a member again while
--                       the exclusion stands, so never given its key;
--   case_recusals       from one case: no inbox row, page or ciphertext.
CREATE TABLE channel_exclusions (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL CHECK (reason <> ''),
    PRIMARY KEY (channel_id, staff_id)
);

CREATE TABLE case_recusals (
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL CHECK (reason <> ''),
    PRIMARY KEY (case_id, staff_id)
);
CREATE INDEX case_recusals_staff ON case_recusals(staff_id);
