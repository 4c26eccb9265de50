package crypto_test

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/candour/candour/crypto"
)

var totpTestOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func mustNewTOTPKey(t testing.TB) *otp.Key {
	t.Helper()
	k, err := crypto.NewTOTPKey("Candour", "alice@example.org")
	if err != nil {
		t.Fatalf("NewTOTPKey: %v", err)
	}
	return k
}

func totpCodeAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpTestOpts)
	if err != nil {
		t.Fatalf("GenerateCodeCustom: %v", err)
	}
	return c
}

func TestNewTOTPKey(t *testing.T) {
	t.Parallel()
	k := mustNewTOTPKey(t)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"the key is a TOTP key", k.Type(), "totp"},
		{"the key names its issuer", k.Issuer(), "Candour"},
		{"the key names its account", k.AccountName(), "alice@example.org"},
		{"the key has a 30-second period", k.Period(), uint64(30)},
		{"the key has 6 digits", k.Digits(), otp.DigitsSix},
		{"the key uses SHA-1", k.Algorithm(), otp.AlgorithmSHA1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %v, want %v", c.got, c.want)
			}
		})
	}

	t.Run("the secret is 20 random bytes", func(t *testing.T) {
		b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k.Secret())
		if err != nil || len(b) != 20 {
			t.Fatalf("secret decodes to %d bytes, %v; want 20", len(b), err)
		}
		if other := mustNewTOTPKey(t); other.Secret() == k.Secret() {
			t.Fatal("two keys have the same secret")
		}
	})

	t.Run("a key without an issuer or account is refused", func(t *testing.T) {
		if _, err := crypto.NewTOTPKey("", "alice"); err == nil {
			t.Error("no error without an issuer")
		}
		if _, err := crypto.NewTOTPKey("Candour", ""); err == nil {
			t.Error("no error without an account")
		}
	})
}

func TestTOTPStep(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		at   time.Time
		want int64
	}{
		{"the epoch is step 0", time.Unix(0, 0), 0},
		{"29 seconds after the epoch is still step 0", time.Unix(29, 999_999_999), 0},
		{"30 seconds after the epoch is step 1", time.Unix(30, 0), 1},
		{"59 seconds after the epoch is step 1", time.Unix(59, 0), 1},
		{"one second before the epoch is step -1", time.Unix(-1, 0), -1},
		{"a time in another zone has the same step", time.Unix(1_700_000_000, 0).In(time.FixedZone("X", 5*3600)), 56_666_666},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := crypto.TOTPStep(c.at); got != c.want {
				t.Fatalf("TOTPStep = %d, want %d", got, c.want)
			}
		})
	}
}

func TestValidateTOTP(t *testing.T) {
	t.Parallel()
	secret := mustNewTOTPKey(t).Secret()
	// Half-way through a step, so that ±30 s is the neighbouring step.
	at := time.Date(2025, 3, 14, 12, 0, 15, 0, time.UTC)
	step := crypto.TOTPStep(at)
	code := totpCodeAt(t, secret, at)

	accepted := []struct {
		name string
		now  time.Time
		code string
		want int64
	}{
		{"the code is accepted at its own time", at, code, step},
		{"the code is accepted at the start of its step", at.Add(-15 * time.Second), code, step},
		{"the code is accepted 30 s later, matching the step before", at.Add(30 * time.Second), code, step},
		{"the code is accepted 30 s earlier, matching the step after", at.Add(-30 * time.Second), code, step},
		{"the code is accepted with surrounding spaces", at, "  " + code + " ", step},
		{"the code is accepted with a space in the middle", at, code[:3] + " " + code[3:], step},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			got, ok := crypto.ValidateTOTP(secret, c.code, c.now)
			if !ok || got != c.want {
				t.Fatalf("ValidateTOTP = %d, %v; want %d, true", got, ok, c.want)
			}
		})
	}

	// A code not valid in any of the three accepted steps.
	window := []string{
		totpCodeAt(t, secret, at.Add(-30*time.Second)),
		code,
		totpCodeAt(t, secret, at.Add(30*time.Second)),
	}
	wrong := code
	for slices.Contains(window, wrong) {
		wrong = wrong[1:] + string('0'+(wrong[0]-'0'+1)%10)
	}

	refused := []struct {
		name   string
		secret string
		now    time.Time
		code   string
	}{
		{"the code is refused 90 s later", secret, at.Add(90 * time.Second), code},
		{"the code is refused 90 s earlier", secret, at.Add(-90 * time.Second), code},
		{"a wrong code is refused", secret, at, wrong},
		{"five digits are refused", secret, at, code[:5]},
		{"seven digits are refused", secret, at, code + "0"},
		{"the code with a letter for a digit is refused", secret, at, code[:5] + "a"},
		{"letters are refused", secret, at, "abcdef"},
		{"full-width digits are refused", secret, at, "１２３４５６"},
		{"a signed number is refused", secret, at, "+12345"},
		{"an empty code is refused", secret, at, ""},
		{"the code for another secret is refused", mustNewTOTPKey(t).Secret(), at, code},
		{"a malformed secret is refused", "not base32!", at, code},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.name, "the code is refused 90 s") || strings.HasPrefix(c.name, "the code for another") {
				// One in a few hundred thousand runs, a random secret gives
				// the same code at another step; that is not a failure.
				for d := -1; d <= 1; d++ {
					if totpCodeAt(t, c.secret, c.now.Add(time.Duration(d)*30*time.Second)) == c.code {
						t.Skip("the code collides by chance with one in the window")
					}
				}
			}
			if got, ok := crypto.ValidateTOTP(c.secret, c.code, c.now); ok {
				t.Fatalf("ValidateTOTP = %d, true; want refusal", got)
			}
		})
	}
}

// RFC 6238 appendix B: the SHA-1 secret is ASCII "12345678901234567890" and
// at T = 59 the 8-digit code is 94287082, so the 6-digit code is 287082.
func TestValidateTOTPMatchesRFC6238(t *testing.T) {
	t.Parallel()
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, c := range []struct {
		name string
		unix int64
		code string
		step int64
	}{
		{"the RFC code for T=59 is accepted in step 1", 59, "287082", 1},
		{"the RFC code for T=1111111109 is accepted in its step", 1111111109, "081804", 37037036},
		{"the RFC code for T=2000000000 is accepted in its step", 2000000000, "279037", 66666666},
	} {
		t.Run(c.name, func(t *testing.T) {
			step, ok := crypto.ValidateTOTP(secret, c.code, time.Unix(c.unix, 0))
			if !ok || step != c.step {
				t.Fatalf("ValidateTOTP = %d, %v; want %d, true", step, ok, c.step)
			}
		})
	}
}

func TestTOTPQRCodePNG(t *testing.T) {
	t.Parallel()
	b, err := crypto.TOTPQRCodePNG(mustNewTOTPKey(t))
	if err != nil {
		t.Fatalf("TOTPQRCodePNG: %v", err)
	}

	t.Run("the image starts with the PNG signature", func(t *testing.T) {
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("image starts with %q", b[:min(8, len(b))])
		}
	})

	t.Run("the image is a 256-pixel square", func(t *testing.T) {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != 256 || cfg.Height != 256 {
			t.Fatalf("DecodeConfig = %dx%d, %v; want 256x256", cfg.Width, cfg.Height, err)
		}
	})

	t.Run("a nil key is an error", func(t *testing.T) {
		if _, err := crypto.TOTPQRCodePNG(nil); err == nil {
			t.Fatal("no error for a nil key")
		}
	})
}
