package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// encodeJSON is v as compact JSON without HTML escaping (what is sealed is
// never HTML) and without the encoder's trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var enc bytes.Buffer
	je := json.NewEncoder(&enc)
	je.SetEscapeHTML(false)
	if err := je.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(enc.Bytes(), []byte("\n")), nil
}

// sealBytes encrypts plain into one standard age file to recipients; what
// names it in errors ("message", "summary").
func sealBytes(what string, plain []byte, recipients []age.Recipient) ([]byte, error) {
	// Sized up front for the file: a header stanza per recipient (about
	// 1.6 KB for a post-quantum one), a nonce, and a tag per 64 KiB chunk.
	// Grown from nothing, the buffer was copied half a dozen times over.
	var buf bytes.Buffer
	buf.Grow(64 + 2048*len(recipients) + 16 + len(plain) + 16*(len(plain)/(64<<10)+1))
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, fmt.Errorf("failed to encrypt %s: %w", what, err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// openBytes decrypts an age file sealed by sealBytes with identities,
// refusing a plaintext longer than limit; what names it in errors.
func openBytes(what string, ciphertext []byte, limit int, identities []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), identities...)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt %s: %w", what, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt %s: %w", what, err)
	}
	if len(plain) > limit {
		return nil, errors.New(what + " too large")
	}
	return plain, nil
}
