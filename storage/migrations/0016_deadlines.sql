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

-- The inbox's deadline filters and sort read the next deadline of each
-- open case.
CREATE INDEX cases_next_due ON cases(CASE WHEN acknowledged_day IS NULL THEN ack_by_day ELSE feedback_by_day END)
    WHERE status <> 'closed';
