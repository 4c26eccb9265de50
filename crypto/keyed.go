package crypto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"
)

// A reporter's follow-up session, when several instances share the
// database, is kept there sealed under a key that only the reporter's
// cookie holds (server/session_db.go): these are the pieces.

// ErrSealedOpen means sealed bytes did not open with the key given, or
// were altered. It never says more.
var ErrSealedOpen = errors.New("sealed data does not open with this key")

// DeriveKey derives a 256-bit key from a high-entropy secret (a random
// token of 256 bits, never a password) with HKDF-SHA-256; label keeps the
// keys for different uses of one secret apart.
func DeriveKey(secret []byte, label string) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, label, chacha20poly1305.KeySize)
}

// SealKeyed encrypts plain under a 256-bit key with XChaCha20-Poly1305
// and a random nonce, bound to ad (which is not stored with it).
func SealKeyed(key, plain, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, ad), nil
}

// OpenKeyed opens what SealKeyed made with the same key and ad, or returns
// ErrSealedOpen.
func OpenKeyed(key, sealed, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrSealedOpen
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrSealedOpen
	}
	return plain, nil
}

// SealCaseIdentity encrypts a case identity under key (SealKeyed), so
// that it can rest where the key is not.
func SealCaseIdentity(key []byte, c *CaseIdentity, ad []byte) ([]byte, error) {
	secret, err := c.secret()
	if err != nil {
		return nil, err
	}
	b := []byte(secret)
	defer clear(b)
	return SealKeyed(key, b, ad)
}

// OpenCaseIdentity opens what SealCaseIdentity made. It never quotes key
// material in its errors.
func OpenCaseIdentity(key, sealed, ad []byte) (*CaseIdentity, error) {
	secret, err := OpenKeyed(key, sealed, ad)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return parseCaseIdentity(secret)
}
