package crypto

import (
	"bytes"
	"errors"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Staff sign in with a second factor: TOTP (RFC 6238) with the parameters
// every authenticator app supports: HMAC-SHA-1, 6 digits, 30-second steps.
// The TOTP secret is as sensitive as a password: an *otp.Key's String and
// URL methods include it, so never log a key.
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpAlgorithm  = otp.AlgorithmSHA1
	totpSecretSize = 20 // 160 bits, the secret length RFC 4226 recommends
	totpSkewSteps  = 1
	totpQRCodeSize = 256
)

// NewTOTPKey generates a random TOTP key for account at issuer; issuer and
// account are what the authenticator app shows, and must not be empty.
func NewTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   totpAlgorithm,
	})
}

// TOTPStep returns the 30-second time step that t falls in: the Unix time
// divided by 30, rounded down.
func TOTPStep(t time.Time) int64 {
	s := t.Unix()
	step := s / totpPeriod
	if s%totpPeriod < 0 {
		step--
	}
	return step
}

// ValidateTOTP reports whether code is the TOTP for secret at now, or at the
// step before or after it, to forgive clocks that are a little off. It
// returns the step that matched: a code stays valid for up to 90 seconds, so
// the caller must record the step of each accepted code and refuse any code
// whose step is not later than the last one accepted, or an eavesdropped
// code could be replayed.
//
// Spaces are removed from code, since apps show "123 456". Anything else
// that is not exactly six ASCII digits is refused without computing a code.
// A malformed secret is refused too. The secret is never logged or returned.
func ValidateTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = removeSpaces(code)
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	current := TOTPStep(now)
	// Each step is checked on its own, with no skew, so that we know which
	// step matched. The library fails on zero-valued Digits, so all options
	// are spelled out.
	opts := totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: totpDigits, Algorithm: totpAlgorithm}
	for _, s := range []int64{current, current - totpSkewSteps, current + totpSkewSteps} {
		valid, err := totp.ValidateCustom(code, secret, time.Unix(s*totpPeriod, 0), opts)
		if err != nil {
			// Only a malformed secret gets here; the error would not quote
			// it, but there is nothing the caller could do with it.
			return 0, false
		}
		if valid {
			return s, true
		}
	}
	return 0, false
}

func removeSpaces(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// TOTPQRCodePNG renders key as a 256×256 PNG QR code for the enrolment page.
// The image carries the secret: serve it only to the staff member enrolling,
// and do not let it be cached.
func TOTPQRCodePNG(key *otp.Key) ([]byte, error) {
	if key == nil {
		return nil, errors.New("no TOTP key")
	}
	img, err := key.Image(totpQRCodeSize, totpQRCodeSize)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
