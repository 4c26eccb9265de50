package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
)

// Recovery codes let a caseworker who lost their authenticator sign in once
// per code. Each is 16 Crockford base32 symbols, 80 bits from crypto/rand,
// shown as XXXX-XXXX-XXXX-XXXX. They are stored only as SHA-256 hashes:
// with 80 random bits there is nothing for a slow hash to protect, and a
// fast one lets the caller find a code by its hash.
const (
	recoveryCodeBytes   = 10 // 80 bits encode to exactly 16 symbols
	recoveryCodeSymbols = 16
)

// NewRecoveryCodes returns n distinct fresh recovery codes in display form.
// Show them to their owner once; store only HashRecoveryCode of each.
func NewRecoveryCodes(n int) ([]string, error) {
	if n < 0 {
		return nil, errors.New("negative number of recovery codes")
	}
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	b := make([]byte, recoveryCodeBytes)
	for len(codes) < n {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		c := crockfordEncoding.EncodeToString(b)
		if seen[c] { // 2^-80 per pair, but a duplicate would be a silent loss
			continue
		}
		seen[c] = true
		codes = append(codes, groupSymbols(c, caseCodeGroup))
	}
	return codes, nil
}

// HashRecoveryCode returns the SHA-256 hash of code's canonical form, or nil
// if code cannot be a recovery code. It forgives what people type as
// ParseCaseCode does: any case, spaces, dashes or dots anywhere, and O for
// 0 and I or L for 1.
func HashRecoveryCode(code string) []byte {
	canonical, ok := canonicalCrockford(code, recoveryCodeSymbols)
	if !ok {
		return nil
	}
	h := sha256.Sum256([]byte(canonical))
	return h[:]
}

// canonicalCrockford returns s as exactly symbols upper-case Crockford
// symbols, applying the same forgiveness as ParseCaseCode.
func canonicalCrockford(s string, symbols int) (string, bool) {
	if len(s) > 4*symbols {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		// Upper-case ASCII only: Unicode would map ı to I and ſ to S.
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '\t' || r == '\u00a0' || r == '\u2013' || r == '\u2014':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 'Z' || !strings.ContainsRune(crockford, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != symbols {
		return "", false
	}
	return b.String(), true
}

// groupSymbols splits s into dash-separated groups of n.
func groupSymbols(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+n, len(s))])
	}
	return b.String()
}
