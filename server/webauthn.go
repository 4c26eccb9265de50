package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/candour/candour/storage"
)

// Passkeys (WebAuthn) for staff login, with github.com/go-webauthn/webauthn.
// The relying party is the installation's public address (--public-url):
// its host name is the RP ID, and its origin the only origin accepted, so
// an assertion made for a look-alike site is refused by the library. What
// the library leaves to us is done here and in the handlers: each challenge
// is stored server-side (storage.Ceremony), bound to the session or login
// step that asked for it and consumed in the transaction that uses it;
// signature-counter regressions are refused (storage.UsePasskey); user
// verification is required where the policy says so; failures count in the
// login throttle.

// ceremonyLife is how long a WebAuthn challenge, or the step between the
// password and the passkey, stays valid.
const ceremonyLife = 5 * time.Minute

// maxCredentialField bounds the JSON of a credential a browser sends: an
// attestation with certificates is a few KiB.
const maxCredentialField = 32 << 10

// relyingParty returns the WebAuthn configuration of this installation, or
// why passkeys cannot be used with its address (then TOTP is).
func (s *Server) relyingParty() (*webauthn.WebAuthn, string) {
	rpID, origin, why := passkeyAddress(s.cfg.PublicURL)
	if why != "" {
		return nil, why
	}
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: "Candour (" + s.cfg.OrgName + ")",
		RPOrigins:     []string{origin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyLife},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyLife},
		},
	})
	if err != nil {
		return nil, "Passkeys are off: the public address of this service (--public-url) is not one they can use (" + err.Error() + ")."
	}
	return rp, ""
}

// passkeyAddress derives the RP ID and origin from the public URL, or says
// why passkeys cannot work there. Browsers offer WebAuthn only in a secure
// context: HTTPS, localhost (and *.localhost), or, in Tor Browser, a .onion
// address; an IP address is never a valid RP ID.
func passkeyAddress(publicURL string) (rpID, origin, why string) {
	const fallback = " Log in with the code from your authenticator app instead."
	if publicURL == "" {
		return "", "", "Passkeys are off: this service was started without its public address (--public-url), which they are bound to." + fallback
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", "Passkeys are off: the public address of this service (--public-url) is not a web address." + fallback
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return "", "", "Passkeys are off: this service's public address is an IP address, and passkeys need a host name." + fallback
	}
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	onion := strings.HasSuffix(host, ".onion")
	if u.Scheme != "https" && !local && !onion {
		return "", "", "Passkeys are off: this service's public address is plain HTTP, and browsers offer passkeys only over HTTPS, on localhost, or on a .onion address in Tor Browser." + fallback
	}
	// The origin as a browser writes it: no default port.
	origin = u.Scheme + "://" + host
	if p := u.Port(); p != "" && !(u.Scheme == "https" && p == "443") && !(u.Scheme == "http" && p == "80") {
		origin += ":" + p
	}
	return host, origin, ""
}

// passkeyUser is a staff account as the library sees it.
type passkeyUser struct {
	st     storage.Staff
	handle []byte
	creds  []webauthn.Credential
	// suspended holds the credential ids (as strings) of the passkeys
	// suspended after a counter regression: a login with one is refused.
	suspended map[string]bool
	// lastUsed is when each passkey (by credential id) last logged in.
	lastUsed map[string]time.Time
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.st.Username }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.st.Username }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadPasskeyUser reads the account's user handle (made if it has none)
// and passkeys.
func (s *Server) loadPasskeyUser(ctx context.Context, st storage.Staff) (*passkeyUser, error) {
	handle, err := s.db.StaffUserHandle(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	keys, err := s.db.Passkeys(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	u := &passkeyUser{st: st, handle: handle, suspended: map[string]bool{}, lastUsed: map[string]time.Time{}}
	for _, k := range keys {
		u.lastUsed[string(k.CredentialID)] = k.LastUsedAt
		if !k.SuspendedAt.IsZero() {
			u.suspended[string(k.CredentialID)] = true
		}
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, fmt.Errorf("failed to read passkey %d of staff %d: %w", k.ID, st.ID, err)
		}
		// The stored counter is the one that counts (UsePasskey).
		c.Authenticator.SignCount = k.SignCount
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// parseAssertion reads a browser's PublicKeyCredential.toJSON() of an
// assertion.
func parseAssertion(field string) (*protocol.ParsedCredentialAssertionData, error) {
	if field == "" || len(field) > maxCredentialField {
		return nil, fmt.Errorf("no credential, or one too large")
	}
	return protocol.ParseCredentialRequestResponseBytes([]byte(field))
}

// parseAttestation reads a browser's PublicKeyCredential.toJSON() of a new
// credential.
func parseAttestation(field string) (*protocol.ParsedCredentialCreationData, error) {
	if field == "" || len(field) > maxCredentialField {
		return nil, fmt.Errorf("no credential, or one too large")
	}
	return protocol.ParseCredentialCreationResponseBytes([]byte(field))
}
