package server

import (
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffIdentityCopy answers POST /staff/identity/case/:ref/copy: a
// custodian gives another custodian ("staff") a copy of a case's identity
// details, re-encrypted in their browser to the other's own key ("grant",
// base64 of an age file; multipart, csrf first). It is how a custodian who
// joined after the report was made can read it. The other must be a
// custodian who may hold the case's details (not excluded, not recused).
// Audited as identity.copy with their name.
func (s *Server) handleStaffIdentityCopy(c *fiber.Ctx) error {
	cs, err := s.custodianCase(c, c.Params("ref"))
	if err != nil {
		return err
	}
	form, err := s.channelKeyForm(c, map[string]int{"staff": 32, "grant": maxKeyWrap*4/3 + 8})
	if err != nil {
		return err
	}
	grant, err := parseWrap(form["grant"])
	if err != nil {
		return staffBadRequest("The copy is not an age file of acceptable size.")
	}
	ctx := c.UserContext()
	me := staffOf(c)
	id, err := strconv.ParseInt(form["staff"], 10, 64)
	if err != nil || id == me.ID {
		return staffBadRequest("Choose another custodian.")
	}
	other, err := s.db.StaffByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return staffBadRequest("Choose another custodian.")
	}
	if err != nil {
		return err
	}
	if !other.Custodian || other.AgeRecipient == "" || s.mayHoldIdentity(ctx, cs, other.ID) != nil {
		return staffBadRequest("%s is not a custodian with a registered key who may hold this case's identity details.", other.Username)
	}
	e := storage.AuditEntry{Actor: me.Username, Action: "identity.copy", Target: cs.Ref, Detail: other.Username}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.AddIdentityGrant(ctx, cs.ID, other.ID, grant)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"copied": other.ID})
}
