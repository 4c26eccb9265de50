-- The statistics role and the index of the statistics (issue 13).
--
-- The statistics role: an account that may see the yearly figures
-- (storage/stats.go) and nothing else: no channel, no case, no key, no
-- audit trail. The role is in clear like the others.
--
-- Migration 0002 fixed the roles with a CHECK constraint, and SQLite
-- cannot change a CHECK with ALTER TABLE. Rebuilding the staff table is
-- not safe here: migrations run in a transaction with foreign keys on, and
-- dropping the old table would cascade to every table that references a
-- staff member (sessions, channel members, recusals, ...). Widening a
-- CHECK changes nothing on disk, so this edits the table's definition in
-- place, as SQLite documents for that case (https://sqlite.org/lang_altertable.html,
-- "making other kinds of table schema changes"), and every existing row
-- still satisfies the wider check.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (role IN (''admin'', ''caseworker''))',
                          'CHECK (role IN (''admin'', ''caseworker'', ''statistics''))')
 WHERE type = 'table' AND name = 'staff';
PRAGMA writable_schema = RESET;

-- A guard: if the definition did not read as 0002 wrote it, the edit above
-- changed nothing, and this fails the migration rather than leave a role
-- the database refuses.
CREATE TEMP TABLE migration_0021_guard (edited INTEGER CHECK (edited = 1));
INSERT INTO migration_0021_guard
    SELECT instr(sql, '''statistics''') > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'staff';
DROP TABLE migration_0021_guard;

-- A statistics account is in no channel's team, so it can be granted no
-- channel key and notified of no case. The server refuses to add one
-- (AddChannelMember); this stops a bug or a manual query too.
CREATE TRIGGER channel_members_no_statistics BEFORE INSERT ON channel_members
WHEN (SELECT role FROM staff WHERE id = NEW.staff_id) = 'statistics'
BEGIN
    SELECT RAISE(ABORT, 'a statistics account cannot be a channel member');
END;

-- The statistics (storage/stats.go) read a period's cases from this index
-- alone: the day each was received and the workflow columns they count,
-- never a row with its wrapped key.
CREATE INDEX cases_stats ON cases(created_at, channel_id, status, outcome_id, acknowledged_day, closed_at,
    ack_by_day, feedback_by_day);
