-- Retention: a closed case is deleted a number of days after closure (the
-- case's own setting, or the organisation's default), unless on legal hold.
ALTER TABLE cases ADD COLUMN closed_at INTEGER;               -- unix seconds, to the day; NULL unless closed
ALTER TABLE cases ADD COLUMN retention_days INTEGER;          -- NULL: the default applies
ALTER TABLE cases ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1));

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
