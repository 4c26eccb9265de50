-- Attachment chunks move to a file of their own (issue 14): candour-chunks.db,
-- in rollback-journal mode with 64 KiB pages, where a chunk is written once
-- instead of to the WAL and again by a checkpoint (storage/chunks.go).
-- chunks_apart = 1: the attachment's chunks are in that file. Attachments
-- stored before keep theirs in attachment_chunks (0), as do those of a
-- restored backup, which holds every chunk in this one file.
ALTER TABLE attachments ADD COLUMN chunks_apart INTEGER NOT NULL DEFAULT 0;
