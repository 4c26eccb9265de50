-- A caseworker's age identity wrapped by a passkey or security key (issue
-- 15, storage/wrapped_identity.go): an age file whose only recipient
-- stanzas are age-encryption.org/fido2prf, opaque to the server, kept so
-- that they can unlock their key from another machine with the
-- authenticator and no key file. One per staff account. key_hint is the
-- AGE-PLUGIN-FIDO2PRF-1… identity string, needed to find a non-discoverable
-- security key's credential ('' for a discoverable passkey); it holds no
-- secret. It depends on the staff table only.
CREATE TABLE staff_wrapped_identities (
    staff_id   INTEGER PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
    wrapped    BLOB NOT NULL CHECK (length(wrapped) BETWEEN 1 AND 16384),
    key_hint   TEXT NOT NULL DEFAULT '' CHECK (length(key_hint) <= 1024),
    created_at INTEGER NOT NULL
);
