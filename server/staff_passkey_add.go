package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffPasskeyAdd answers POST /staff/passkeys (fields csrf, name,
// credential: the browser's PublicKeyCredential.toJSON()): checks the new
// credential against the challenge of this session's registration, and
// stores it. The challenge is consumed in the same transaction, so it
// registers one credential at most. Answers {"id", "name"}.
func (s *Server) handleStaffPasskeyAdd(c *fiber.Ctx) error {
	form, err := readForm(c, 2*maxCredentialField)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !constantTimeEqual(form.Get("csrf"), me.session.CSRF) {
		return errCSRFStaff
	}
	return s.finishRegistration(c, me.Staff, me.session.TokenHash, nil, form.Get("name"), form.Get("credential"), me.Username, "")
}

// finishRegistration checks a new credential (the browser's toJSON())
// against the registration ceremony bound to binding and stores it as
// st's passkey name, consuming the ceremony in the same change; actor
// and note make the audit entry. A refused answer spends its challenge
// and is audited. Answers the console's script in JSON.
func (s *Server) finishRegistration(c *fiber.Ctx, st storage.Staff, binding, pending []byte, name, credential, actor, note string) error {
	rp, off := s.relyingParty()
	if off != "" {
		return jsonError(c, http.StatusConflict, off)
	}
	name = strings.TrimSpace(name)
	if !storage.ValidPasskeyName(name) {
		return jsonError(c, http.StatusBadRequest, "Give the passkey a name of 1 to 60 characters, such as “Work laptop” or “Blue key”.")
	}
	ctx := c.UserContext()
	const expired = "This registration has expired or was used already. Start again."
	ceremony, err := s.db.CeremonyFor(ctx, storage.CeremonyRegister, binding)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (len(ceremony.Data) == 0 || ceremony.StaffID != st.ID)) {
		return jsonError(c, http.StatusConflict, expired)
	}
	if err != nil {
		return err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(ceremony.Data, &session); err != nil {
		return err
	}
	user, err := s.loadPasskeyUser(ctx, st)
	if err != nil {
		return err
	}
	parsed, err := parseAttestation(credential)
	var cred *webauthn.Credential
	if err == nil {
		cred, err = rp.CreateCredential(user, session, parsed)
	}
	if err != nil {
		// A failed answer spends its challenge.
		if derr := s.db.DropCeremony(ctx, storage.CeremonyRegister, binding); derr != nil {
			return derr
		}
		if aerr := s.audit(ctx, actor, "staff.passkey_refused", st.Username, s.staffNetwork(c, "registration"+note+": "+webauthnReason(err))); aerr != nil {
			return aerr
		}
		return jsonError(c, http.StatusBadRequest, "The passkey could not be registered: the browser's answer was not valid for this site. Try again.")
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	key := storage.Passkey{StaffID: st.ID, Name: name, CredentialID: cred.ID, Credential: record, SignCount: cred.Authenticator.SignCount, EnrolBinding: pending}
	e := storage.AuditEntry{Actor: actor, Action: "staff.passkey_added", Target: st.Username, Detail: s.staffNetwork(c, "“"+name+"”"+note)}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		if err := s.db.TakeCeremony(ctx, storage.CeremonyRegister, binding, ceremony.Data); err != nil {
			return err
		}
		key, err = s.db.AddPasskey(ctx, key)
		return err
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return jsonError(c, http.StatusConflict, expired)
	case errors.Is(err, storage.ErrDuplicate):
		return jsonError(c, http.StatusConflict, "This passkey is registered already, or you have as many as an account may have.")
	case err != nil:
		return err
	}
	return c.JSON(fiber.Map{"id": key.ID, "name": key.Name})
}

// webauthnReason is what the audit trail says of a refused WebAuthn
// answer: the library's description, which names the check that failed
// (origin, RP ID hash, signature, user verification…) and nothing secret.
func webauthnReason(err error) string {
	r := err.Error()
	var pe *protocol.Error
	if errors.As(err, &pe) {
		r = pe.Details
		if pe.DevInfo != "" {
			r += " (" + pe.DevInfo + ")"
		}
	}
	if len(r) > 200 {
		r = r[:200]
	}
	return r
}
