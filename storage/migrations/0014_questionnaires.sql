-- Intake questionnaires, per channel and versioned (docs/intake-questions.md).
-- A version is never changed once stored: an edit stores the next version,
-- so a case reads as it was asked. A channel with no row asks the built-in
-- default questionnaire ("police-conduct", version 1, in code).
--
-- The definition is the organisation's own questions (JSON, in clear): it
-- says nothing about any reporter. The answers are inside each case's
-- encrypted first message, never here.
CREATE TABLE questionnaires (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version > 0),
    definition  TEXT    NOT NULL,
    created_by  INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,             -- unix seconds
    PRIMARY KEY (channel_id, version)
);

-- Which questionnaire version a case was asked with, "<id>@<version>"
-- ("police-conduct@1", "channel-3@2"), or '' for a case from before
-- questionnaires or sent with none. In clear, for the export's manifest:
-- it tells no more than the day the case arrived.
ALTER TABLE cases ADD COLUMN questionnaire TEXT NOT NULL DEFAULT '';
