-- Ids that say nothing of order. Cases, messages, attachments and their
-- chunks get random ids from now on (storage/randomid.go), because a
-- sequence shared by reporters and staff placed a reporter's row between
-- two staff rows that the audit trail names to the second. What needs an
-- order gets one that only its own case sees:
--   messages.seq     the message's place in its case's thread (1, 2, ...);
--   attachments.pos  the attachment's place in its message (0, 1, ...);
--   case_reads.last_message_id now holds the seq, not the id, of the newest
--                    message of the case when the staff member last opened it.
-- Rows written before this migration keep their ids.
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET seq = (SELECT count(*) FROM messages m2
                           WHERE m2.case_id = messages.case_id AND m2.id <= messages.id);
CREATE UNIQUE INDEX messages_case_seq ON messages(case_id, seq);
DROP INDEX messages_case;

ALTER TABLE attachments ADD COLUMN pos INTEGER NOT NULL DEFAULT 0;
UPDATE attachments SET pos = (SELECT count(*) FROM attachments a2
                              WHERE a2.message_id = attachments.message_id AND a2.id < attachments.id)
 WHERE message_id IS NOT NULL;

UPDATE case_reads SET last_message_id = (SELECT count(*) FROM messages m
                                         WHERE m.case_id = case_reads.case_id AND m.id <= case_reads.last_message_id);
