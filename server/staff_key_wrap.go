package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"

	"github.com/candour/candour/storage"
)

// A caseworker's age identity wrapped by their passkey or security key
// (issue 15): an age file, made in their browser, whose recipient stanzas
// are all age-encryption.org/fido2prf, so that only the authenticator's
// PRF output opens it. The server keeps it with the account, for the
// caseworker to unlock from another machine; it cannot open it itself.
// What it stores it checks for shape only, so that nothing else is kept
// by mistake: above all not a plain key file, which anyone with the
// database could use.

// fido2prfStanza is the stanza type of age-encryption's WebAuthnRecipient
// and of age-plugin-fido2prf.
const fido2prfStanza = "age-encryption.org/fido2prf"

// fido2prfPlugin is the plugin name in AGE-PLUGIN-FIDO2PRF-1… identities.
const fido2prfPlugin = "fido2prf"

// errWrappedHeaderRead stops age.Decrypt once checkWrappedIdentity has read
// the header: the payload is not the server's to open.
var errWrappedHeaderRead = errors.New("header read")

// wrappedIdentityProblem says what is wrong with a wrapped identity file,
// in words for the caseworker, or "" if it is acceptable.
func wrappedIdentityProblem(file []byte) string {
	switch {
	case len(file) == 0:
		return "The form holds no wrapped key."
	case len(file) > storage.MaxWrappedIdentity:
		return fmt.Sprintf("The wrapped key is larger than %d KiB: it should hold one identity file.", storage.MaxWrappedIdentity>>10)
	case isSecretKey(string(file)):
		// Never stored, echoed or logged.
		return "That is a plain key file, not one protected by a passkey: it was not stored. Only the file that \"Protect my key\" makes may be kept by the server."
	}
	raw := file
	if bytes.HasPrefix(bytes.TrimSpace(file), []byte(armor.Header)) {
		// The armored bytes are looked at too: base64 would hide a
		// plain key put where the payload goes. (At most 16 KiB.)
		var err error
		if raw, err = io.ReadAll(armor.NewReader(bytes.NewReader(bytes.TrimSpace(file)))); err != nil {
			return "That is not a well-formed age file protected by a passkey."
		}
		if isSecretKey(string(raw)) {
			return "That is a plain key file, not one protected by a passkey: it was not stored. Only the file that \"Protect my key\" makes may be kept by the server."
		}
	}
	check := &fido2prfOnly{}
	_, err := age.Decrypt(bytes.NewReader(raw), check)
	switch {
	case errors.Is(err, errWrappedHeaderRead):
		return ""
	case check.other != "":
		return "That age file is encrypted to something other than a passkey or security key: only a key protected by a passkey (fido2prf) is kept."
	default:
		return "That is not a well-formed age file protected by a passkey."
	}
}

// fido2prfOnly is an age.Identity that unwraps nothing: it accepts a
// header whose every stanza is a well-formed fido2prf one (a 16-byte nonce
// and a 32-byte wrapped file key) and remembers the type of any other.
type fido2prfOnly struct{ other string }

func (f *fido2prfOnly) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != fido2prfStanza {
			f.other = s.Type
			return nil, errors.New("not a fido2prf stanza")
		}
		if len(s.Args) != 1 || len(s.Body) != 32 {
			return nil, errors.New("malformed fido2prf stanza")
		}
		if nonce, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0]); err != nil || len(nonce) != 16 {
			return nil, errors.New("malformed fido2prf stanza")
		}
	}
	return nil, errWrappedHeaderRead
}

// wrappedHintProblem says what is wrong with the identity string stored
// with a wrapped identity, or "" if it is empty or an
// AGE-PLUGIN-FIDO2PRF-1… string (which names a credential and holds no
// secret).
func wrappedHintProblem(hint string) string {
	if hint == "" {
		return ""
	}
	if isSecretKey(hint) {
		return "That is a secret key, not the passkey's identity string: it was not stored."
	}
	if len(hint) > storage.MaxWrappedIdentityHint {
		return "The passkey's identity string is too long."
	}
	if name, _, err := plugin.ParseIdentity(hint); err != nil || name != fido2prfPlugin {
		return "The passkey's identity string is not an AGE-PLUGIN-FIDO2PRF-1… string."
	}
	return ""
}
