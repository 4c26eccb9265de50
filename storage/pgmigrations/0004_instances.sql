-- SQLite's 0028 (storage/migrations/0028_instances.sql): the instances
-- running against this database, each holding an advisory lock on its id
-- for its life (storage/instances.go), and the instance receiving each
-- pending reporter upload. The ids fit in 31 bits: the lock is taken with
-- the two-key form of pg_advisory_lock (a class and the id).
CREATE TABLE instances (
    id  BIGINT PRIMARY KEY
);
ALTER TABLE attachments ADD COLUMN instance_id BIGINT REFERENCES instances(id) ON DELETE SET NULL;
CREATE INDEX attachments_instance ON attachments(instance_id);
