-- Channels: reports reach the team that handles them, and only that team
-- (and the organisation's offline recovery keys) can decrypt them.
--
-- Key hierarchy (SECURITY.md, "Channels and their keys"), public keys and
-- wrapped secrets only: the server never holds a private key.
--   staff.age_recipient   each staff member's own age public key;
--   channel_keys          a channel's public key, by generation: a new
--                         generation is made (in an administrator's
--                         browser) when the channel is given its first key
--                         and whenever a member leaves;
--   channel_key_wraps     a generation's identity as a standard age file
--                         encrypted to one member's own key, made in the
--                         browser of whoever grants it.
-- A case's files are encrypted to the organisation's recipients, its own
-- case key, and its channel's newest key generation at the time
-- (cases.channel_generation; 0 when the channel had no key yet).

ALTER TABLE staff ADD COLUMN age_recipient TEXT NOT NULL DEFAULT '';

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    position    INTEGER NOT NULL DEFAULT 0,   -- order on the reporter's list
    archived    INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at  INTEGER NOT NULL,             -- unix seconds
    updated_at  INTEGER NOT NULL
);

-- What reporters read, per language; the default language ("en") is the
-- fallback and must exist.
CREATE TABLE channel_texts (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    lang        TEXT    NOT NULL,
    name        TEXT    NOT NULL CHECK (name <> ''),
    description TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (channel_id, lang)
);

CREATE TABLE channel_members (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, staff_id)
);
CREATE INDEX channel_members_staff ON channel_members(staff_id);

CREATE TABLE channel_keys (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    generation  INTEGER NOT NULL CHECK (generation > 0),
    recipient   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, generation)
);

CREATE TABLE channel_key_wraps (
    channel_id  INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    wrapped     BLOB    NOT NULL,
    PRIMARY KEY (channel_id, generation, staff_id),
    FOREIGN KEY (channel_id, generation) REFERENCES channel_keys(channel_id, generation) ON DELETE CASCADE
);

-- (No REFERENCES: SQLite adds none with a default other than NULL; a
-- channel that has cases is archived, never deleted.)
ALTER TABLE cases ADD COLUMN channel_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN channel_generation INTEGER NOT NULL DEFAULT 0;
-- The inbox shows a staff member only their channels' cases: its covering
-- indexes (0007) take the channel too.
DROP INDEX cases_inbox;
DROP INDEX cases_inbox_status;
DROP INDEX cases_inbox_assignee;
CREATE INDEX cases_inbox ON cases(updated_at DESC, id DESC, status, assignee_id, ref, created_at, channel_id);
CREATE INDEX cases_inbox_status ON cases(status, updated_at DESC, id DESC, assignee_id, ref, created_at, channel_id);
CREATE INDEX cases_inbox_assignee ON cases(assignee_id, updated_at DESC, id DESC, status, ref, created_at, channel_id);

-- Every existing case is in one default channel, which every existing
-- staff member belongs to: as before, everyone who could read a case can.
-- (Its times are 0: it stands for the installation as it was.)
INSERT INTO channels (id, position, created_at, updated_at) VALUES (1, 0, 0, 0);
INSERT INTO channel_texts (channel_id, lang, name, description) VALUES (1, 'en', 'Report misconduct', '');
INSERT INTO channel_members (channel_id, staff_id) SELECT 1, id FROM staff;
