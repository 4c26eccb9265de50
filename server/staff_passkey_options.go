package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// maxPasskeyName is the longest name of a passkey (storage.MaxPasskeyName).
const maxPasskeyName = storage.MaxPasskeyName

// handleStaffPasskeyOptions answers POST /staff/passkeys/options: begins
// registering a passkey for the logged-in staff member and answers the
// PublicKeyCredentialCreationOptions (JSON {"publicKey": …}). The challenge
// is kept server-side, bound to this session: a newer request replaces it,
// and POST /staff/passkeys consumes it. The password is asked again (field
// password): a session alone (a browser left logged in, a stolen cookie, a
// login with a recovery code found on paper) must not be able to add a
// lasting way in. A wrong one counts as a failed login does.
func (s *Server) handleStaffPasskeyOptions(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	rp, off := s.relyingParty()
	if off != "" {
		return jsonError(c, http.StatusConflict, off)
	}
	me := staffOf(c)
	ctx := c.UserContext()
	unlock := s.throttle.lockName(strings.ToLower(me.Username))
	defer unlock()
	st, err := s.db.StaffByID(ctx, me.ID)
	if err != nil {
		return err
	}
	var pwOK bool
	if perr := s.staffKDF.run(ctx, func() { pwOK, _ = crypto.VerifyPassword(st.PasswordHash, form.Get("password")) }); perr != nil {
		return perr
	}
	if now := s.db.Now(); !pwOK || now.Before(st.LockedUntil) {
		if err := s.countLoginFailure(c, st, "staff.passkey_refused", "adding a passkey: wrong password, or the account is locked"); err != nil {
			return err
		}
		return jsonError(c, http.StatusForbidden, "Your password was not right, or the account is locked after too many attempts. Wait a little and try again.")
	}
	creation, session, err := s.beginRegistration(ctx, rp, me.Staff)
	if err != nil {
		return err
	}
	if creation == nil {
		return jsonError(c, http.StatusConflict, "You have as many passkeys as an account may have. Remove one first.")
	}
	data, err := json.Marshal(session)
	if err != nil {
		return err
	}
	if err := s.db.PutCeremony(ctx, storage.Ceremony{Purpose: storage.CeremonyRegister, Binding: me.session.TokenHash,
		StaffID: me.ID, CSRF: me.session.CSRF, Data: data, ExpiresAt: s.db.Now().Add(ceremonyLife)}); err != nil {
		return err
	}
	return c.JSON(creation)
}

// beginRegistration makes the creation options for a new passkey of st
// (its existing ones excluded, so an authenticator is not registered
// twice), or nil if it has as many as it may.
func (s *Server) beginRegistration(ctx context.Context, rp *webauthn.WebAuthn, st storage.Staff) (*protocol.CredentialCreation, *webauthn.SessionData, error) {
	user, err := s.loadPasskeyUser(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	if len(user.creds) >= storage.MaxPasskeys {
		return nil, nil, nil
	}
	var exclude []protocol.CredentialDescriptor
	for _, cr := range user.creds {
		exclude = append(exclude, cr.Descriptor())
	}
	return rp.BeginRegistration(user,
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		}))
}

// jsonError answers a console script's request with {"error": message}.
func jsonError(c *fiber.Ctx, status int, message string) error {
	return c.Status(status).JSON(fiber.Map{"error": message})
}
