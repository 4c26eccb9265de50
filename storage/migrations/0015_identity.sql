-- Confidential identity (issue 12): a channel may offer reporters an
-- optional "you may tell us who you are" section. Its answers are one
-- standard age file, encrypted at submission to the own keys of the
-- custodians (staff.custodian) who are not excluded from the channel, and
-- to nobody else: not the organisation's recovery keys, not the channel's
-- key, not the case's key. A caseworker reads it only through a grant: a
-- copy re-encrypted to their own key in a custodian's browser.
--
-- In clear: that a case has identity details, the day they were first
-- opened, the requests for access (who, why, what was decided, the day).
-- Days are coarse (unix seconds of midnight UTC), like every reporter time.

ALTER TABLE staff ADD COLUMN custodian INTEGER NOT NULL DEFAULT 0 CHECK (custodian IN (0, 1));
ALTER TABLE channels ADD COLUMN offer_identity INTEGER NOT NULL DEFAULT 0 CHECK (offer_identity IN (0, 1));

CREATE TABLE case_identities (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    ciphertext  BLOB    NOT NULL,
    opened_day  INTEGER             -- NULL until someone first fetches it
);

CREATE TABLE identity_requests (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL CHECK (reason <> ''),
    state       TEXT    NOT NULL CHECK (state IN ('requested', 'approved', 'refused')),
    day         INTEGER NOT NULL,
    decided_by  INTEGER REFERENCES staff(id) ON DELETE SET NULL
);
CREATE INDEX identity_requests_case ON identity_requests(case_id);
CREATE INDEX identity_requests_state ON identity_requests(state);

CREATE TABLE identity_grants (
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    ciphertext  BLOB    NOT NULL,
    PRIMARY KEY (case_id, staff_id)
);
CREATE INDEX identity_grants_staff ON identity_grants(staff_id);
