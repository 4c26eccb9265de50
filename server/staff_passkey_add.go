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
	rp, off := s.relyingParty()
	if off != "" {
		return jsonError(c, http.StatusConflict, off)
	}
	name := strings.TrimSpace(form.Get("name"))
	if !storage.ValidPasskeyName(name) {
		return jsonError(c, http.StatusBadRequest, "Give the passkey a name of 1 to 60 characters, such as “Work laptop” or “Blue key”.")
	}
	ctx := c.UserContext()
	ceremony, err := s.db.CeremonyFor(ctx, storage.CeremonyRegister, me.session.TokenHash)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(ceremony.Data) == 0) {
		return jsonError(c, http.StatusConflict, "This registration has expired or was used already. Start again.")
	}
	if err != nil {
		return err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(ceremony.Data, &session); err != nil {
		return err
	}
	user, err := s.loadPasskeyUser(ctx, me.Staff)
	if err != nil {
		return err
	}
	parsed, err := parseAttestation(form.Get("credential"))
	var cred *webauthn.Credential
	if err == nil {
		cred, err = rp.CreateCredential(user, session, parsed)
	}
	if err != nil {
		// A failed answer spends its challenge.
		if derr := s.db.DropCeremony(ctx, storage.CeremonyRegister, me.session.TokenHash); derr != nil {
			return derr
		}
		if aerr := s.audit(ctx, me.Username, "staff.passkey_refused", me.Username, s.staffNetwork(c, "registration: "+webauthnReason(err))); aerr != nil {
			return aerr
		}
		return jsonError(c, http.StatusBadRequest, "The passkey could not be registered: the browser's answer was not valid for this site. Try again.")
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	key := storage.Passkey{StaffID: me.ID, Name: name, CredentialID: cred.ID, Credential: record, SignCount: cred.Authenticator.SignCount}
	e := storage.AuditEntry{Actor: me.Username, Action: "staff.passkey_added", Target: me.Username, Detail: s.staffNetwork(c, "“"+name+"”")}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		if err := s.db.TakeCeremony(ctx, storage.CeremonyRegister, me.session.TokenHash, ceremony.Data); err != nil {
			return err
		}
		key, err = s.db.AddPasskey(ctx, key)
		return err
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return jsonError(c, http.StatusConflict, "This registration has expired or was used already. Start again.")
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
	var pe *protocol.Error
	if errors.As(err, &pe) {
		r := pe.Details
		if pe.DevInfo != "" {
			r += " (" + pe.DevInfo + ")"
		}
		if len(r) > 200 {
			r = r[:200]
		}
		return r
	}
	r := err.Error()
	if len(r) > 200 {
		r = r[:200]
	}
	return r
}
