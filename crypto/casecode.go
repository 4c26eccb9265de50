package crypto

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"log/slog"
)

// A case code is 20 symbols of Crockford's base32 alphabet, 100 bits of
// entropy from crypto/rand. The alphabet has no I, L, O or U, so there is no
// pair of symbols that look or sound alike, and people may type the
// look-alikes anyway: ParseCaseCode maps them.
const (
	caseCodeSymbols = 20
	caseCodeGroup   = 4
	crockford       = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

var crockfordEncoding = base32.NewEncoding(crockford).WithPadding(base32.NoPadding)

// ErrMalformedCaseCode is returned for input that cannot be a case code. It
// never quotes the input.
var ErrMalformedCaseCode = errors.New("malformed case code")

// CaseCode is a reporter's only credential, in canonical form (upper case,
// no separators). It is never stored or logged: String and LogValue redact it
// so that a stray %v or slog attribute cannot leak it; use Display to show it
// to its owner.
type CaseCode struct{ canonical string }

// NewCaseCode returns a fresh random case code.
func NewCaseCode() (CaseCode, error) {
	// 13 bytes encode to 21 symbols; the first 20 carry 100 uniformly random
	// bits.
	b := make([]byte, 13)
	if _, err := rand.Read(b); err != nil {
		return CaseCode{}, err
	}
	return CaseCode{crockfordEncoding.EncodeToString(b)[:caseCodeSymbols]}, nil
}

// ParseCaseCode accepts a case code as people type it: any case, with spaces,
// dashes or dots anywhere, and with O for 0 and I or L for 1.
func ParseCaseCode(s string) (CaseCode, error) {
	canonical, ok := canonicalCrockford(s, caseCodeSymbols)
	if !ok {
		return CaseCode{}, ErrMalformedCaseCode
	}
	return CaseCode{canonical}, nil
}

// Display returns the code in groups of four separated by dashes, the form
// shown to the reporter: easy to copy, write down and read aloud.
func (c CaseCode) Display() string { return groupSymbols(c.canonical, caseCodeGroup) }

// IsZero reports whether c is the zero value.
func (c CaseCode) IsZero() bool { return c.canonical == "" }

// String redacts the code.
func (c CaseCode) String() string { return "[case code redacted]" }

// GoString redacts the code.
func (c CaseCode) GoString() string { return c.String() }

// LogValue redacts the code in structured logs.
func (c CaseCode) LogValue() slog.Value { return slog.StringValue(c.String()) }

// NewCaseRef returns a random reference for staff to name a case by (in the
// console and in exports), such as "K7QM-3XDA". It is not a secret and is
// unrelated to the case code; being random, it reveals neither how many
// cases exist nor in what order they came.
func NewCaseRef() (string, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := crockfordEncoding.EncodeToString(b)
	return s[:4] + "-" + s[4:], nil
}
