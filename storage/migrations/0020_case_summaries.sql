-- The inbox with decrypted summaries (issue 13).
--
-- cases.summary is a short summary of the report (its channel, the first
-- line of its text and up to three answers the questionnaire flags "show in
-- the inbox"), sealed by the server with the report as a standard age file
-- to the staff side only: the organisation's recipients and the channel's
-- newest key, not the case's own key (the reporter never needs it). It is
-- ciphertext like every other item, in the case's own row, so it goes with
-- the case. NULL for cases received before summaries were kept.
--
-- cases.staff_activity_seq orders the cases of one day by their last
-- staff-side event (reply, note, status, assignment, acknowledgement,
-- close, reopen, extension): the value of a global counter bumped by each
-- such event. Reporter events never touch it (a reporter's message moves
-- only updated_at, to the day, as before), so it orders staff actions
-- among themselves and says nothing finer than the day of a reporter's.
-- 0: no staff event since this migration.
ALTER TABLE cases ADD COLUMN summary BLOB;
ALTER TABLE cases ADD COLUMN staff_activity_seq INTEGER NOT NULL DEFAULT 0;

-- The one counter behind staff_activity_seq: a row of its own, so that a
-- new value costs one small update, whatever the number of cases.
CREATE TABLE staff_activity (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO staff_activity (id, seq) VALUES (1, 0);

-- The inbox's order is now updated_at DESC, staff_activity_seq DESC, id
-- DESC: its covering indexes (0007, 0012, 0016) take the sequence after
-- the day, so that a page still reads one index alone. They take the
-- outcome too, which the inbox has shown since 0018 without it being in
-- them: a page read the table for every case it walked (80 ms for the
-- first page of 100,000 cases, BenchmarkInbox100k, instead of 2 ms).
DROP INDEX cases_inbox;
DROP INDEX cases_inbox_status;
DROP INDEX cases_inbox_assignee;
CREATE INDEX cases_inbox ON cases(updated_at DESC, staff_activity_seq DESC, id DESC, status, assignee_id, ref, created_at,
    channel_id, ack_by_day, acknowledged_day, feedback_by_day, outcome_id);
CREATE INDEX cases_inbox_status ON cases(status, updated_at DESC, staff_activity_seq DESC, id DESC, assignee_id, ref,
    created_at, channel_id, ack_by_day, acknowledged_day, feedback_by_day, outcome_id);
CREATE INDEX cases_inbox_assignee ON cases(assignee_id, updated_at DESC, staff_activity_seq DESC, id DESC, status, ref,
    created_at, channel_id, ack_by_day, acknowledged_day, feedback_by_day, outcome_id);
