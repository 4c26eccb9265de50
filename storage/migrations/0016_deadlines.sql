-- Deadlines (issue 13): each case is to be acknowledged by a day, and once
-- acknowledged the reporter is to be given feedback by a day, which staff
-- may extend for a reason (the reason is kept in the audit trail only).
-- How long each takes is set per channel.
--
-- In clear, like every other workflow field: these are staff workflow
-- dates, not report content. Days are coarse (unix seconds of midnight
-- UTC), like created_at, so they reveal no more of the reporter's activity
-- than created_at already does.

ALTER TABLE channels ADD COLUMN ack_days INTEGER NOT NULL DEFAULT 7 CHECK (ack_days BETWEEN 1 AND 365);
ALTER TABLE channels ADD COLUMN feedback_months INTEGER NOT NULL DEFAULT 3 CHECK (feedback_months BETWEEN 1 AND 24);

ALTER TABLE cases ADD COLUMN ack_by_day INTEGER;        -- received day + the channel's ack_days
ALTER TABLE cases ADD COLUMN acknowledged_day INTEGER;  -- NULL until acknowledged (explicitly, or by a first reply)
ALTER TABLE cases ADD COLUMN feedback_by_day INTEGER;   -- NULL until acknowledged; acknowledged day + feedback_months, or as extended

-- Existing cases: due seven days after the day they were received; a case
-- that already has a staff reply was acknowledged on the day of the first
-- one, and is due feedback three months after it.
UPDATE cases SET ack_by_day = (created_at - created_at % 86400) + 7 * 86400;
UPDATE cases SET acknowledged_day = (
    SELECT min(m.created_at - m.created_at % 86400) FROM messages m
    WHERE m.case_id = cases.id AND m.author = 'staff');
UPDATE cases SET feedback_by_day = CAST(strftime('%s', date(acknowledged_day, 'unixepoch', '+3 months')) AS INTEGER)
    WHERE acknowledged_day IS NOT NULL;

-- The inbox shows each case's deadline: its covering indexes (0007, 0012)
-- take the three days too, so that a page still reads one index alone.
DROP INDEX cases_inbox;
DROP INDEX cases_inbox_status;
DROP INDEX cases_inbox_assignee;
CREATE INDEX cases_inbox ON cases(updated_at DESC, id DESC, status, assignee_id, ref, created_at, channel_id,
    ack_by_day, acknowledged_day, feedback_by_day);
CREATE INDEX cases_inbox_status ON cases(status, updated_at DESC, id DESC, assignee_id, ref, created_at, channel_id,
    ack_by_day, acknowledged_day, feedback_by_day);
CREATE INDEX cases_inbox_assignee ON cases(assignee_id, updated_at DESC, id DESC, status, ref, created_at, channel_id,
    ack_by_day, acknowledged_day, feedback_by_day);
-- The deadline filters and the sort by deadline walk the open cases by
-- their next deadline, counting and filtering from this index alone.
CREATE INDEX cases_next_due ON cases((CASE WHEN acknowledged_day IS NULL THEN ack_by_day ELSE feedback_by_day END),
    id, channel_id, assignee_id, status) WHERE status <> 'closed';
