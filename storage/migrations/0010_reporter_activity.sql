-- Reporter events are not audited in the timed hash chain: an entry there
-- is stamped to the second and sits between staff entries, so it would pin
-- the reporter's action between two timed staff actions. What administrators
-- are told of reporter activity is a count per day and kind of event
-- (e.g. "case.withdrawn"), with no case, no time finer than the day, no
-- rowid (the table is ordered by its key alone) and no order within a day.
CREATE TABLE reporter_activity (
    day     INTEGER NOT NULL,   -- unix seconds, to the day
    action  TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (day, action)
) WITHOUT ROWID;
