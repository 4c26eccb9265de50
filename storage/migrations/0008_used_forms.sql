-- A report or message form carries a one-time token, so that a browser
-- re-posting the form (a reload of the receipt page) creates nothing twice.
-- Only a hash of the token is kept, for two to three days, with the day it
-- may be deleted: no case, no message, no precise time, and no rowid (the
-- table is ordered by hash alone), so that nothing here says which token
-- went with which case or in which order forms were sent.
CREATE TABLE used_forms (
    hash     BLOB PRIMARY KEY,      -- SHA-256 of the token
    expires  INTEGER NOT NULL       -- unix seconds, to the day
) WITHOUT ROWID;
CREATE INDEX used_forms_expires ON used_forms (expires);
