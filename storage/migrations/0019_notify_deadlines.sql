-- Content-free notifications for deadlines: the day a staff member was
-- last flagged because a case assigned to them had a deadline due soon or
-- past, so that a deadline flags them once a day, not at every boundary.
-- Unix seconds of a UTC day (0: never). Staff data: no reporter's timing.
ALTER TABLE staff ADD COLUMN notify_deadline_day INTEGER NOT NULL DEFAULT 0;
