package crypto_test

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
)

var recoveryPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

func mustNewRecoveryCodes(t testing.TB, n int) []string {
	t.Helper()
	codes, err := crypto.NewRecoveryCodes(n)
	if err != nil {
		t.Fatalf("NewRecoveryCodes: %v", err)
	}
	return codes
}

func TestNewRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes := mustNewRecoveryCodes(t, 500)

	t.Run("the number of codes is the number asked for", func(t *testing.T) {
		if len(codes) != 500 {
			t.Fatalf("got %d codes, want 500", len(codes))
		}
		if got := mustNewRecoveryCodes(t, 0); len(got) != 0 {
			t.Fatalf("got %d codes, want none", len(got))
		}
	})

	t.Run("a code displays as four dashed groups of four Crockford symbols", func(t *testing.T) {
		for _, c := range codes {
			if !recoveryPattern.MatchString(c) {
				t.Fatalf("code %q does not match %v", c, recoveryPattern)
			}
		}
	})

	t.Run("the codes are all distinct", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range codes {
			if seen[c] {
				t.Fatalf("duplicate code after %d codes", len(seen))
			}
			seen[c] = true
		}
	})

	// 500 codes give 8000 symbols; a position missing one of 32 symbols over
	// 500 codes has probability about 32·(31/32)^500 ≈ 4e-6.
	t.Run("every position of a code takes every one of the 32 symbols", func(t *testing.T) {
		for pos := range 16 {
			seen := map[byte]bool{}
			for _, c := range codes {
				seen[strings.ReplaceAll(c, "-", "")[pos]] = true
			}
			if len(seen) != 32 {
				t.Errorf("position %d took only %d distinct symbols", pos, len(seen))
			}
		}
	})

	t.Run("a negative number of codes is an error", func(t *testing.T) {
		if _, err := crypto.NewRecoveryCodes(-1); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestHashRecoveryCode(t *testing.T) {
	t.Parallel()
	const display = "K01S-H0RD-8NBQ-BKA6"
	want := sha256.Sum256([]byte("K01SH0RD8NBQBKA6"))

	for _, c := range []struct{ name, code string }{
		{"the display form hashes to SHA-256 of the canonical form", display},
		{"lower case without dashes hashes the same", "k01sh0rd8nbqbka6"},
		{"spaces, dots and tabs hash the same", " k01s h0rd.8nbq\tbka6 "},
		{"O for 0 and I or L for 1 hash the same", "KOIS-HORD-8NBQ-BKA6"},
		{"lower-case o and l hash the same", "kols-hord-8nbq-bka6"},
		{"typographic dashes and a no-break space hash the same", "K01S\u2013H0RD\u20148NBQ\u00a0BKA6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := crypto.HashRecoveryCode(c.code); !bytes.Equal(got, want[:]) {
				t.Fatalf("HashRecoveryCode = %x, want %x", got, want)
			}
		})
	}

	t.Run("new codes hash the same typed lower case without dashes", func(t *testing.T) {
		for _, c := range mustNewRecoveryCodes(t, 20) {
			h := crypto.HashRecoveryCode(c)
			if len(h) != sha256.Size {
				t.Fatalf("hash of a new code has %d bytes", len(h))
			}
			if typed := strings.ToLower(strings.ReplaceAll(c, "-", "")); !bytes.Equal(crypto.HashRecoveryCode(typed), h) {
				t.Fatal("typed form hashes differently from the display form")
			}
		}
	})

	t.Run("different codes hash differently", func(t *testing.T) {
		if bytes.Equal(crypto.HashRecoveryCode(display), crypto.HashRecoveryCode("K01S-H0RD-8NBQ-BKA7")) {
			t.Fatal("two codes have the same hash")
		}
	})

	for _, c := range []struct{ name, code string }{
		{"an empty code is malformed", ""},
		{"only dashes are malformed", "----"},
		{"15 symbols are malformed", "K01S-H0RD-8NBQ-BKA"},
		{"17 symbols are malformed", "K01S-H0RD-8NBQ-BKA6-1"},
		{"a case code is malformed", "K01S-H0RD-8NBQ-BKA6-1PXX"},
		{"U, which Crockford leaves out, is malformed", "K01S-H0RD-8NBQ-BKAU"},
		{"punctuation is malformed", "K01S-H0RD-8NBQ-BKA6!"},
		{"a dotless i is malformed", "K0\u0131S-H0RD-8NBQ-BKA6"},
		{"an accented letter is malformed", "K01S-H0RD-8NBQ-BKAÉ"},
		{"invalid UTF-8 is malformed", "K01S-H0RD-8NBQ-BKA\xff"},
		{"a valid code padded with many dashes is malformed", display + strings.Repeat("-", 60)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := crypto.HashRecoveryCode(c.code); got != nil {
				t.Fatalf("HashRecoveryCode = %x, want nil", got)
			}
		})
	}
}

func FuzzHashRecoveryCode(f *testing.F) {
	for _, s := range []string{
		"K01S-H0RD-8NBQ-BKA6",
		"k01sh0rd8nbqbka6",
		"KOIS-HORD-8NBQ-BKA6",
		"K01S\u2013H0RD\u20148NBQ\u00a0BKA6",
		"K01S-H0RD-8NBQ-BKAU",
		"K0\u0131S-H0RD-8NBQ-BKA6",
		"\xff\xfe",
		"",
		strings.Repeat("-", 65),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := crypto.HashRecoveryCode(s)
		if h == nil {
			return
		}
		if len(h) != sha256.Size {
			t.Fatalf("hash has %d bytes", len(h))
		}
		// Whatever was accepted hashes the same in lower case and without
		// separators.
		stripped := strings.NewReplacer("-", "", " ", "", ".", "", "\t", "", "\u00a0", "", "\u2013", "", "\u2014", "").Replace(s)
		if !bytes.Equal(crypto.HashRecoveryCode(strings.ToLower(stripped)), h) {
			t.Fatal("lower-case form without separators hashes differently")
		}
	})
}
