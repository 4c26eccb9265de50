package crypto_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
)

var displayPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$`)

func TestNewCaseCode(t *testing.T) {
	t.Parallel()
	const n = 1000
	codes := make([]crypto.CaseCode, n)
	for i := range codes {
		codes[i] = mustNewCaseCode(t)
	}

	t.Run("a new code displays as five dashed groups of four Crockford symbols", func(t *testing.T) {
		for _, c := range codes {
			if d := c.Display(); !displayPattern.MatchString(d) {
				t.Fatalf("Display() = %q does not match %v", d, displayPattern)
			}
		}
	})

	t.Run("a new code is not the zero code", func(t *testing.T) {
		for _, c := range codes {
			if c.IsZero() {
				t.Fatal("NewCaseCode returned the zero code")
			}
		}
	})

	t.Run("a thousand new codes are all distinct", func(t *testing.T) {
		seen := make(map[crypto.CaseCode]bool, n)
		for _, c := range codes {
			if seen[c] {
				t.Fatalf("duplicate code after %d codes", len(seen))
			}
			seen[c] = true
		}
	})

	// Each symbol carries 5 random bits: over 1000 codes, the chance that a
	// given position misses one of its 32 symbols is about 1e-11. A biased
	// position (for instance a symbol carrying only 4 bits) misses half.
	t.Run("every position of a code takes every one of the 32 symbols", func(t *testing.T) {
		for pos := range 20 {
			seen := map[byte]bool{}
			for _, c := range codes {
				seen[canonical(c)[pos]] = true
			}
			if len(seen) != 32 {
				t.Errorf("position %d took only %d distinct symbols over %d codes", pos, len(seen), n)
			}
		}
	})

	t.Run("a new code parses back from its display form", func(t *testing.T) {
		for _, c := range codes[:50] {
			if got := mustParseCaseCode(t, c.Display()); got != c {
				t.Fatalf("ParseCaseCode(Display()) differs from the original")
			}
		}
	})
}

func TestZeroCaseCode(t *testing.T) {
	t.Parallel()
	var zero crypto.CaseCode
	if !zero.IsZero() {
		t.Error("the zero CaseCode is not IsZero")
	}
	if zero.Display() != "" {
		t.Errorf("zero Display() = %q, want empty", zero.Display())
	}
}

func TestParseCaseCodeAccepts(t *testing.T) {
	t.Parallel()
	const want = "K01S-H0RD-8NBQ-BKA6-1PXX"
	for _, tc := range []struct {
		name, input string
	}{
		{"the display form is accepted", "K01S-H0RD-8NBQ-BKA6-1PXX"},
		{"the canonical form without separators is accepted", "K01SH0RD8NBQBKA61PXX"},
		{"lower case is accepted", "k01s-h0rd-8nbq-bka6-1pxx"},
		{"mixed case is accepted", "k01S-H0rd-8nBq-BKa6-1pXx"},
		{"spaces instead of dashes are accepted", "K01S H0RD 8NBQ BKA6 1PXX"},
		{"dots instead of dashes are accepted", "K01S.H0RD.8NBQ.BKA6.1PXX"},
		{"tabs instead of dashes are accepted", "K01S\tH0RD\t8NBQ\tBKA6\t1PXX"},
		{"separators anywhere and repeated are accepted", "  K-0-1-S  H0RD..8NBQ--BKA6 \t1PXX  "},
		{"a mix of separators and lower case is accepted", "k01s h0rd-8nbq bka6 1pxx"},
		{"no-break spaces are accepted", "K01S\u00a0H0RD\u00a08NBQ\u00a0BKA6\u00a01PXX"},
		{"en and em dashes from word processors are accepted", "K01S\u2013H0RD\u20148NBQ\u2013BKA6\u20141PXX"},
		{"O is read as zero", "KO1S-HORD-8NBQ-BKA6-1PXX"},
		{"lower-case o is read as zero", "ko1s-hord-8nbq-bka6-1pxx"},
		{"I is read as one", "K0IS-H0RD-8NBQ-BKA6-IPXX"},
		{"L is read as one", "K0LS-H0RD-8NBQ-BKA6-LPXX"},
		{"lower-case i and l are read as one", "k0is-h0rd-8nbq-bka6-lpxx"},
		{"every look-alike at once is accepted", "kOIs HOrd 8nbq bka6 LPXX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := crypto.ParseCaseCode(tc.input)
			if err != nil {
				t.Fatalf("ParseCaseCode(%q): %v", tc.input, err)
			}
			if got := c.Display(); got != want {
				t.Errorf("Display() = %q, want %q", got, want)
			}
			if c != mustParseCaseCode(t, want) {
				t.Error("parsed code is not equal to the canonical one")
			}
		})
	}
}

func TestParseCaseCodeRefuses(t *testing.T) {
	t.Parallel()
	valid := "K01S-H0RD-8NBQ-BKA6-1PXX"
	for _, tc := range []struct {
		name, input string
	}{
		{"the empty string is refused", ""},
		{"only separators are refused", " - . \t -- "},
		{"nineteen symbols are refused", "K01S-H0RD-8NBQ-BKA6-1PX"},
		{"twenty-one symbols are refused", "K01S-H0RD-8NBQ-BKA6-1PXXX"},
		{"a code twice is refused", valid + valid},
		{"the letter U is refused", "K01S-H0RD-8NBQ-BKA6-UPXX"},
		{"a lower-case u is refused", "K01S-H0RD-8NBQ-BKA6-uPXX"},
		{"an underscore is refused", "K01S_H0RD_8NBQ_BKA6_1PXX"},
		{"a slash is refused", "K01S/H0RD/8NBQ/BKA6/1PXX"},
		{"a NUL byte is refused", "K01S-H0RD-8NBQ-BKA6-1PX\x00"},
		{"an accented letter is refused", "K01S-H0RD-8NBQ-BKA6-1PXÉ"},
		{"a Cyrillic look-alike A is refused", "K01S-H0RD-8NBQ-BK\u04106-1PXX"},
		{"a Greek look-alike K is refused", "\u039a01S-H0RD-8NBQ-BKA6-1PXX"},
		{"a full-width A is refused", "K01S-H0RD-8NBQ-BK\uff216-1PXX"},
		{"the Kelvin sign is refused", "\u212a01S-H0RD-8NBQ-BKA6-1PXX"},
		{"invalid UTF-8 is refused", "K01S-H0RD-8NBQ-BKA6-1PX\xff"},
		{"a zero-width space is refused", "K01S\u200bH0RD8NBQBKA61PXX"},
		{"a valid code padded past 80 bytes is refused", valid + strings.Repeat(" ", 81-len(valid))},
		{"a very long string is refused", strings.Repeat("A", 1<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := crypto.ParseCaseCode(tc.input)
			if err == nil {
				t.Fatalf("accepted as %q", c.Display())
			}
			if !errors.Is(err, crypto.ErrMalformedCaseCode) {
				t.Errorf("error %v is not ErrMalformedCaseCode", err)
			}
			if err.Error() != crypto.ErrMalformedCaseCode.Error() {
				t.Errorf("error %q says more than ErrMalformedCaseCode and may quote the input", err)
			}
			if !c.IsZero() {
				t.Error("returned a non-zero code with an error")
			}
		})
	}
}

// ParseCaseCode upper-cases its input before checking that each rune is in
// the ASCII alphabet, and Unicode maps two non-ASCII letters to ASCII when
// upper-cased: U+0131 (dotless ı) to I, hence 1, and U+017F (long ſ) to S.
func TestParseCaseCodeRefusesNonASCIILettersThatUpperCaseToASCII(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input string
	}{
		{"a dotless i is refused", "K0\u0131S-H0RD-8NBQ-BKA6-1PXX"},
		{"a long s is refused", "K01\u017f-H0RD-8NBQ-BKA6-1PXX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := crypto.ParseCaseCode(tc.input); err == nil {
				t.Errorf("accepted as %q", c.Display())
			}
		})
	}
}

func TestCaseCodeIsRedacted(t *testing.T) {
	t.Parallel()
	code := mustNewCaseCode(t)
	secret := canonical(code)
	type wrapper struct {
		Code  crypto.CaseCode
		Codes []crypto.CaseCode
		Ptr   *crypto.CaseCode
	}
	w := wrapper{Code: code, Codes: []crypto.CaseCode{code}, Ptr: &code}

	for _, tc := range []struct {
		name string
		out  func() string
	}{
		{"fmt verbs %v %s %+v %#v do not print the code", func() string {
			return fmt.Sprintf("%v %s %+v %#v", code, code, code, code)
		}},
		{"fmt verbs %q %x %X do not print the code", func() string {
			return fmt.Sprintf("%q %x %X", code, code, code)
		}},
		{"a pointer to a code does not print it", func() string {
			return fmt.Sprintf("%v %+v %s", &code, &code, &code)
		}},
		{"a code in an exported struct field or slice does not print it", func() string {
			return fmt.Sprintf("%v %+v %#v", w, w, w)
		}},
		{"an error wrapping a code does not print it", func() string {
			return fmt.Errorf("login failed for %v", code).Error()
		}},
		{"JSON encoding does not print the code", func() string {
			b, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}},
		{"slog's text handler does not print the code", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "code", code)
			return buf.String()
		}},
		{"slog's JSON handler does not print the code", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "code", code, slog.Any("ptr", &code), slog.Group("g", "code", code))
			return buf.String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.out()
			if strings.Contains(strings.ToUpper(out), secret) ||
				strings.Contains(strings.ToUpper(out), code.Display()) ||
				strings.Contains(strings.ToUpper(out), strings.ToUpper(fmt.Sprintf("%x", secret))) {
				t.Errorf("output reveals the code: %s", out)
			}
			if !strings.Contains(out, "redacted") && !strings.HasPrefix(tc.name, "JSON") {
				t.Errorf("output does not say the code was redacted: %s", out)
			}
		})
	}
}

func TestNewCaseRef(t *testing.T) {
	t.Parallel()
	refPattern := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
	seen := map[string]bool{}
	for range 200 {
		ref, err := crypto.NewCaseRef()
		if err != nil {
			t.Fatal(err)
		}
		if !refPattern.MatchString(ref) {
			t.Fatalf("NewCaseRef() = %q does not match %v", ref, refPattern)
		}
		seen[ref] = true
	}
	// 40 random bits: 200 refs collide with probability about 2e-8.
	if len(seen) != 200 {
		t.Errorf("200 refs gave only %d distinct values", len(seen))
	}
}
