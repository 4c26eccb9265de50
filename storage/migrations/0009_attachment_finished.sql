-- When a staff upload was received whole (Unix seconds), so that one never
-- named in a reply can be swept while the server runs. NULL while an upload
-- is being written, and always for a reporter's (no request time of
-- reporter traffic is stored).
ALTER TABLE attachments ADD COLUMN finished_at INTEGER;
