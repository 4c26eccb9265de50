package crypto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id parameters for case codes. They are recorded
// with each case, so that new cases can use stronger parameters while old
// codes keep working.
//
// The salt is per parameter set, not per case: the lookup id must be
// computable from the code alone, before the case is known. A stolen database
// therefore lets an attacker test a guess against every case at once, which
// is why the code carries 100 bits and each guess costs one Argon2id run.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
	Salt      []byte // 32 random bytes
}

// Default Argon2id parameters: 64 MiB, 3 passes, 2 lanes. See
// docs/benchmarks.md for what one derivation costs on the reference machine.
const (
	DefaultKDFTime      = 3
	DefaultKDFMemoryKiB = 64 * 1024
	DefaultKDFThreads   = 2
)

// NewKDFParams returns parameters with a fresh random salt.
func NewKDFParams(time, memoryKiB uint32, threads uint8) (KDFParams, error) {
	p := KDFParams{Time: time, MemoryKiB: memoryKiB, Threads: threads, Salt: make([]byte, 32)}
	if err := p.Validate(); err != nil {
		return KDFParams{}, err
	}
	if _, err := rand.Read(p.Salt); err != nil {
		return KDFParams{}, err
	}
	return p, nil
}

// Validate refuses parameters too weak to protect a case code, or too large
// to run on a server.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > 64:
		return errors.New("argon2id time must be between 1 and 64")
	case p.MemoryKiB < 8*1024 || p.MemoryKiB > 4*1024*1024:
		return errors.New("argon2id memory must be between 8 MiB and 4 GiB")
	case p.Threads < 1:
		return errors.New("argon2id threads must be at least 1")
	case p.Salt != nil && len(p.Salt) < 16:
		return errors.New("argon2id salt must be at least 16 bytes")
	}
	return nil
}

// SameCost reports whether p and q differ only in salt.
func (p KDFParams) SameCost(q KDFParams) bool {
	return p.Time == q.Time && p.MemoryKiB == q.MemoryKiB && p.Threads == q.Threads
}

func (p KDFParams) String() string {
	return fmt.Sprintf("argon2id(t=%d, m=%d MiB, p=%d)", p.Time, p.MemoryKiB/1024, p.Threads)
}

// CaseKeys is what one Argon2id derivation of a case code yields.
type CaseKeys struct {
	// LookupID finds the case in storage. It is stored; it does not reveal
	// WrapKey.
	LookupID []byte
	// wrapKey unwraps the case's own age identity. It is never stored.
	wrapKey []byte
}

// String, GoString, Format and LogValue redact the keys, so that a stray
// log line or %x cannot print the key that unwraps a case.
func (k CaseKeys) String() string             { return "[case keys redacted]" }
func (k CaseKeys) GoString() string           { return k.String() }
func (k CaseKeys) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }
func (k CaseKeys) LogValue() slog.Value       { return slog.StringValue(k.String()) }

// Derive runs Argon2id once over the canonical code and splits the result
// with HKDF-SHA-256 into a lookup id and a wrapping key.
func (p KDFParams) Derive(code CaseCode) (CaseKeys, error) {
	if code.IsZero() {
		return CaseKeys{}, ErrMalformedCaseCode
	}
	if err := p.Validate(); err != nil {
		return CaseKeys{}, err
	}
	if len(p.Salt) == 0 {
		return CaseKeys{}, errors.New("argon2id salt missing")
	}
	master := argon2.IDKey([]byte(code.canonical), p.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
	lookup, err := hkdf.Expand(sha256.New, master, "candour case lookup id v1", 32)
	if err != nil {
		return CaseKeys{}, err
	}
	wrap, err := hkdf.Expand(sha256.New, master, "candour case identity wrap v1", 32)
	if err != nil {
		return CaseKeys{}, err
	}
	return CaseKeys{LookupID: lookup, wrapKey: wrap}, nil
}
