-- Candour instances running against one database (issue 16,
-- storage/instances.go). On PostgreSQL each instance registers a row at
-- start and holds an advisory lock on its id for its whole life; a
-- reporter's upload records the instance receiving it, so that the uploads
-- of an instance that died (its lock gone with its connection) can be
-- swept by another. The row holds the id only: no host name, no time.
-- SQLite has one instance, which registers nothing: instance_id stays NULL
-- and Open deletes every pending upload instead.
CREATE TABLE instances (
    id  INTEGER PRIMARY KEY
);
ALTER TABLE attachments ADD COLUMN instance_id INTEGER REFERENCES instances(id) ON DELETE SET NULL;
CREATE INDEX attachments_instance ON attachments(instance_id);
