-- Organisation recipients added by administrators in the console, on top of
-- those in the --recipients file. Public keys only: never a secret.
CREATE TABLE org_recipients (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT    NOT NULL UNIQUE,
    label       TEXT    NOT NULL DEFAULT '',
    added_by    TEXT    NOT NULL,
    added_at    INTEGER NOT NULL  -- unix seconds
);
