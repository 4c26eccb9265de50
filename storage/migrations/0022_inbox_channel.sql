-- The inbox pages by cursor (issue 14): a page is a range of the index in
-- the list's order, whatever its depth, if an index has the filter's
-- column before that order. Status and assignee have theirs (0020); the
-- channel filter walked cases_inbox and tested each case's channel, so a
-- small channel's page, and its count, read the cases of every other
-- channel in between. This index is the channel's, covering like its
-- siblings. (The viewer's own channels are tested with "+c.channel_id", so
-- that the planner never chooses this index for them and then sorts all
-- their cases: storage/case_list.go.)
CREATE INDEX cases_inbox_channel ON cases(channel_id, updated_at DESC, staff_activity_seq DESC, id DESC, status, assignee_id,
    ref, created_at, ack_by_day, acknowledged_day, feedback_by_day, outcome_id);
