-- Content-free notifications (issue 13). A staff member who opts in gives
-- an address for mail that says only that there is something for them in
-- the console. Both columns are staff data, in clear:
--   notify_email    the address they gave ('' = not opted in); at most 254
--                   characters, an address's longest (RFC 5321);
--   notify_pending  1 when something has happened for them since the last
--                   mail was sent: a new report in one of their channels, a
--                   reporter's message on a case they can see (later also
--                   a deadline). Only a flag: no time, no case, no count, so
--                   the database learns nothing more precise from it than
--                   "since the last mail". The notifier clears it when the
--                   mail is accepted by the mail server.
-- (0016 and 0018 are reserved for work on other branches.)
ALTER TABLE staff ADD COLUMN notify_email TEXT NOT NULL DEFAULT '' CHECK (length(notify_email) <= 254);
ALTER TABLE staff ADD COLUMN notify_pending INTEGER NOT NULL DEFAULT 0 CHECK (notify_pending IN (0, 1));
