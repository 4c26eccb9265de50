-- Outcomes (issue 13): closing a case records an outcome category, chosen
-- from a list the administrators extend. The category is in clear: the
-- yearly figures count cases by outcome. Categories are never deleted,
-- only archived (no longer offered), so a closed case keeps its label.
-- The explanation, if any, is an ordinary encrypted staff note (an age
-- file to the organisation's and the channel's keys); the case records
-- which note it is.
--
-- In clear: the category of a closed case, the day it was closed
-- (cases.closed_at, migration 0006), which note explains it.

CREATE TABLE outcomes (
    id        INTEGER PRIMARY KEY,
    label     TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (label <> ''),
    position  INTEGER NOT NULL,
    archived  INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))
);

INSERT INTO outcomes (label, position) VALUES
    ('Substantiated', 1),
    ('Not substantiated', 2),
    ('Referred to the force''s professional standards department', 3),
    ('Referred to another body', 4),
    ('Outside our remit', 5),
    ('Withdrawn by the reporter', 6);

ALTER TABLE cases ADD COLUMN outcome_id INTEGER REFERENCES outcomes(id);
-- No foreign key: a note is deleted only with its case.
ALTER TABLE cases ADD COLUMN outcome_note_id INTEGER;
