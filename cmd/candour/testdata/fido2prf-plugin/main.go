// Command age-plugin-fido2prf, for candour decrypt's tests only: the
// identity side of the age plugin protocol for the
// age-encryption.org/fido2prf stanza, with an emulated authenticator in
// place of a passkey or security key, as the browser's virtual one stands
// in for it. The authenticator holds one credential whose PRF of an input
// is HMAC-SHA-256 under a fixed secret of SHA-256("WebAuthn PRF" || 0 ||
// input), as CTAP2 hmac-secret computes it for WebAuthn; the derivation of
// the wrapping key from the two PRF results follows age-encryption's
// webauthn.js (HKDF-Extract with SHA-256, the stanza label as salt), and
// the fixture that tests/unit/keywrap.test.mjs made with that very code
// checks it.
//
// With an identity string (AGE-PLUGIN-FIDO2PRF-1…, a security key), the
// credential it names must be the authenticator's (the env variable
// FIDO2PRF_TEST_CREDENTIAL, hex, if set); without one (-j fido2prf, a
// passkey), the authenticator's credential is used.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/chacha20poly1305"
)

const label = "age-encryption.org/fido2prf"

var secret = []byte("candour test authenticator secre") // 32 bytes, as in keywrap.test.mjs

type identity struct {
	p    *plugin.Plugin
	data []byte
}

func prf(input []byte) []byte {
	salt := sha256.Sum256(append([]byte("WebAuthn PRF\x00"), input...))
	m := hmac.New(sha256.New, secret)
	m.Write(salt[:])
	return m.Sum(nil)
}

// credentialOf reads the credential id of identity data: CBOR of the
// version (1) and the id as a byte string, then the RP ID and transports.
func credentialOf(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 1 || data[1]>>5 != 2 {
		return nil, errors.New("malformed identity")
	}
	n, rest := int(data[1]&0x1f), data[2:]
	if n == 24 && len(rest) > 0 {
		n, rest = int(rest[0]), rest[1:]
	} else if n > 24 {
		return nil, errors.New("malformed identity")
	}
	if len(rest) < n {
		return nil, errors.New("malformed identity")
	}
	return rest[:n], nil
}

func (i identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(i.data) > 0 {
		cred, err := credentialOf(i.data)
		if err != nil {
			return nil, err
		}
		if want := os.Getenv("FIDO2PRF_TEST_CREDENTIAL"); want != "" && hex.EncodeToString(cred) != want {
			return nil, age.ErrIncorrectIdentity
		}
	}
	for _, s := range stanzas {
		if s.Type != label || len(s.Args) != 1 {
			continue
		}
		nonce, err := base64.RawStdEncoding.DecodeString(s.Args[0])
		if err != nil || len(nonce) != 16 {
			return nil, errors.New("invalid prf stanza")
		}
		if err := i.p.DisplayMessage("touch your security key"); err != nil {
			return nil, err
		}
		in := func(b byte) []byte { return append(append([]byte(label), b), nonce...) }
		prfs := bytes.Join([][]byte{prf(in(1)), prf(in(2))}, nil)
		m := hmac.New(sha256.New, []byte(label))
		m.Write(prfs)
		aead, err := chacha20poly1305.New(m.Sum(nil))
		if err != nil {
			return nil, err
		}
		if key, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil); err == nil {
			return key, nil
		}
	}
	return nil, age.ErrIncorrectIdentity
}

func main() {
	p, err := plugin.New("fido2prf")
	if err != nil {
		os.Exit(1)
	}
	p.HandleIdentity(func(data []byte) (age.Identity, error) {
		return identity{p: p, data: data}, nil
	})
	os.Exit(p.Main())
}
