package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// maxPasswordlessCeremonies bounds the passkey-alone logins under way
// (begun and not yet answered or expired).
const maxPasswordlessCeremonies = 2000

// handleStaffLoginPasskeyOptions answers POST /staff/login/passkey/options:
// the PublicKeyCredentialRequestOptions (JSON {"publicKey": …}) for the
// passkey step of this browser's login (field csrf, the step page's), or,
// with mode=passwordless where the policy allows it, for a passkey alone:
// a discoverable credential with user verification, whose user handle
// names the account. The challenge is stored with the step, replacing any
// earlier one.
func (s *Server) handleStaffLoginPasskeyOptions(c *fiber.Ctx) error {
	form, err := readForm(c, 4<<10)
	if err != nil {
		return err
	}
	rp, off := s.relyingParty()
	if off != "" {
		return jsonError(c, http.StatusConflict, off)
	}
	ctx := c.UserContext()
	policy, err := s.db.PasskeyPolicy(ctx)
	if err != nil {
		return err
	}
	var step storage.Ceremony
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	if form.Get("mode") == "passwordless" {
		if !policy.Alone {
			return jsonError(c, http.StatusForbidden, "Logging in with a passkey alone is not allowed here. Log in with your username and password.")
		}
		// Anyone may begin one, so their number is bounded: each is a
		// row for ceremonyLife.
		n, err := s.db.CountCeremonies(ctx, storage.CeremonyPasswordless)
		if err != nil {
			return err
		}
		if n >= maxPasswordlessCeremonies {
			return jsonError(c, http.StatusServiceUnavailable, "Too many logins are under way. Wait a minute and try again, or log in with your password.")
		}
		token := randomToken()
		step = storage.Ceremony{Purpose: storage.CeremonyPasswordless, Binding: storage.HashToken(token), CSRF: randomToken()}
		assertion, session, err = rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
		s.setCookie(c, loginCookie, token)
	} else {
		token := s.cookie(c, loginCookie)
		step, err = s.db.CeremonyFor(ctx, storage.CeremonyLogin, storage.HashToken(token))
		if token == "" || errors.Is(err, storage.ErrNotFound) {
			return jsonError(c, http.StatusUnauthorized, "This login has expired. Start again from the login page.")
		}
		if err != nil {
			return err
		}
		if !constantTimeEqual(form.Get("csrf"), step.CSRF) {
			return jsonError(c, http.StatusForbidden, "This page has expired. Start again from the login page.")
		}
		st, err := s.db.StaffByID(ctx, step.StaffID)
		if err != nil {
			return err
		}
		user, err := s.loadPasskeyUser(ctx, st)
		if err != nil {
			return err
		}
		uv := protocol.VerificationPreferred
		if policy.UV {
			uv = protocol.VerificationRequired
		}
		assertion, session, err = rp.BeginLogin(user, webauthn.WithUserVerification(uv))
		if err != nil {
			return jsonError(c, http.StatusConflict, "This account has no passkey. Log in with the code from your authenticator app.")
		}
	}
	if step.Data, err = json.Marshal(session); err != nil {
		return err
	}
	step.ExpiresAt = s.db.Now().Add(ceremonyLife)
	if err := s.db.PutCeremony(ctx, step); err != nil {
		return err
	}
	return c.JSON(assertion)
}
