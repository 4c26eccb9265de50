-- Passkeys and security keys for staff login (issue 15).
--
-- staff_passkeys: a staff member's WebAuthn credentials. The server keeps
-- public keys only: credential is the go-webauthn credential record as JSON
-- (public key, flags, transports, AAGUID, attestation format), and
-- sign_count is kept apart so that a regression (a cloned authenticator)
-- is refused by a compare-and-set (storage/passkey.go).
CREATE TABLE staff_passkeys (
    id            INTEGER PRIMARY KEY,
    staff_id      INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    credential_id BLOB NOT NULL UNIQUE,
    credential    TEXT NOT NULL,
    sign_count    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,      -- unix seconds
    last_used_at  INTEGER NOT NULL DEFAULT 0, -- 0: never
    -- when a login with it showed a signature counter that went backwards
    -- (0: never): from then on it is refused, whichever copy answers, until
    -- its owner removes it and adds a new one
    suspended_at  INTEGER NOT NULL DEFAULT 0,
    -- a passkey added on the enrolment page: the hash of that browser's
    -- enrolment cookie until the enrolment completes. Completing it keeps
    -- only the passkeys of the browser that completes it (NULL from then on)
    -- and deletes the others: whoever else saw the link cannot plant one.
    enrol_binding BLOB
);
CREATE INDEX staff_passkeys_staff ON staff_passkeys (staff_id);

-- The WebAuthn user handle of an account: random bytes, not the numeric id,
-- so that an authenticator's records say nothing about the installation's
-- accounts. Made the first time the account registers a passkey.
CREATE TABLE staff_webauthn_users (
    staff_id    INTEGER PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
    user_handle BLOB NOT NULL UNIQUE
);

-- WebAuthn ceremonies in progress: single use, short lived, bound to what
-- began them (binding: the hash of the staff session token for a
-- registration, of the login-step cookie token for a login). data is the
-- library's SessionData as JSON (the challenge), empty until the options
-- were asked for. A ceremony is consumed (deleted) in the transaction that
-- registers the passkey or opens the session.
CREATE TABLE webauthn_ceremonies (
    purpose    TEXT NOT NULL CHECK (purpose IN ('register', 'login', 'passwordless')),
    binding    BLOB NOT NULL,
    staff_id   INTEGER REFERENCES staff(id) ON DELETE CASCADE,  -- NULL: passwordless, not yet known
    csrf       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (purpose, binding)
) WITHOUT ROWID;

-- A login with a recovery code, to be shown to the account at its next
-- login (server/staff_login_check.go): used_at is when; session_hash is
-- the session of the next login, which shows it once.
CREATE TABLE staff_recovery_notices (
    staff_id     INTEGER PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
    used_at      INTEGER NOT NULL,
    session_hash BLOB
);
