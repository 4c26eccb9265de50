package crypto

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strings"

	"github.com/pquerna/otp"
)

// TOTPKeyFromSecret rebuilds the key for a base32 secret, to show the same
// QR code again: an enrolment form shown twice must not change the secret
// the staff member has already scanned. It refuses a secret that is not
// base32 or carries fewer than 80 bits.
func TOTPKeyFromSecret(issuer, account, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
	if err != nil || len(raw) < 10 || len(raw) > 64 {
		return nil, errors.New("malformed TOTP secret")
	}
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return otp.NewKeyFromURL(u.String())
}
