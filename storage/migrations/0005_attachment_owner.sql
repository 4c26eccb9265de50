-- Who may link a pending attachment: the request or the case that uploaded
-- it. Without it, anyone able to name a message could take another's
-- in-flight upload (a reporter's evidence) into their own.
ALTER TABLE attachments ADD COLUMN owner TEXT NOT NULL DEFAULT '';
