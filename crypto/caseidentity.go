package crypto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// CaseIdentity is a case's own age key pair. Every item of a case is
// encrypted to it as well as to the organisation, so that the reporter, and
// only the reporter, can read their thread back. Its secret half is stored
// only wrapped under the key derived from the case code.
type CaseIdentity struct {
	identity  age.Identity
	recipient string
	// rec is recipient parsed, and kind its kind: parsing a post-quantum
	// recipient costs as much as a third of sealing a message to it.
	rec  age.Recipient
	kind Kind
}

// NewCaseIdentity generates a case identity of the given kind.
func NewCaseIdentity(kind Kind) (*CaseIdentity, error) {
	switch kind {
	case KindPostQuantum:
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, err
		}
		return newCaseIdentity(id, id.Recipient(), KindPostQuantum), nil
	case KindClassic:
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		return newCaseIdentity(id, id.Recipient(), KindClassic), nil
	}
	return nil, fmt.Errorf("unknown key kind %d", kind)
}

func newCaseIdentity(id age.Identity, rec interface {
	age.Recipient
	String() string
}, kind Kind) *CaseIdentity {
	return &CaseIdentity{identity: id, recipient: rec.String(), rec: rec, kind: kind}
}

// Recipient is the public half, stored in clear with the case so that staff
// can encrypt replies the reporter can read.
func (c *CaseIdentity) Recipient() string { return c.recipient }

// Identity is the secret half, for age.Decrypt.
func (c *CaseIdentity) Identity() age.Identity { return c.identity }

func (c *CaseIdentity) secret() (string, error) {
	switch id := c.identity.(type) {
	case *age.HybridIdentity:
		return id.String(), nil
	case *age.X25519Identity:
		return id.String(), nil
	}
	return "", errors.New("unsupported case identity")
}

// The wrapping is itself a standard age file, to an age passphrase (scrypt)
// recipient whose passphrase is the 256-bit key derived from the case code.
// The passphrase is already uniformly random and Argon2id-hard to guess, so
// scrypt's own work factor only needs to be nominal.
const wrapScryptLogN = 10

// ErrWrongCaseKey means the wrapped identity did not open with the key.
var ErrWrongCaseKey = errors.New("case key does not open this case")

func (k CaseKeys) passphrase() string { return base64.RawStdEncoding.EncodeToString(k.wrapKey) }

// WrapCaseIdentity encrypts the case identity under keys, for storage.
func WrapCaseIdentity(keys CaseKeys, c *CaseIdentity) ([]byte, error) {
	if len(keys.wrapKey) != 32 {
		return nil, errors.New("case keys not derived")
	}
	secret, err := c.secret()
	if err != nil {
		return nil, err
	}
	r, err := age.NewScryptRecipient(keys.passphrase())
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(wrapScryptLogN)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, secret+"\n"); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnwrapCaseIdentity opens a wrapped case identity. It returns
// ErrWrongCaseKey if keys do not match, and never quotes key material.
func UnwrapCaseIdentity(keys CaseKeys, wrapped []byte) (*CaseIdentity, error) {
	if len(keys.wrapKey) != 32 {
		return nil, errors.New("case keys not derived")
	}
	id, err := age.NewScryptIdentity(keys.passphrase())
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(wrapScryptLogN)
	r, err := age.Decrypt(bytes.NewReader(wrapped), id)
	if err != nil {
		return nil, ErrWrongCaseKey
	}
	secret, err := io.ReadAll(io.LimitReader(r, 16<<10))
	if err != nil {
		return nil, ErrWrongCaseKey
	}
	return parseCaseIdentity(secret)
}

// parseCaseIdentity reads the one age identity (post-quantum or classic)
// that a wrapped or sealed case identity holds.
func parseCaseIdentity(secret []byte) (*CaseIdentity, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(secret))
	if err != nil || len(ids) != 1 {
		return nil, errors.New("malformed case identity")
	}
	switch id := ids[0].(type) {
	case *age.HybridIdentity:
		return newCaseIdentity(id, id.Recipient(), KindPostQuantum), nil
	case *age.X25519Identity:
		return newCaseIdentity(id, id.Recipient(), KindClassic), nil
	}
	return nil, errors.New("malformed case identity")
}
