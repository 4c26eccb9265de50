package server

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffIdentityApprove answers POST
// /staff/identity/request/:id<int>/approve:
// a custodian approves a caseworker's request. The custodian's browser has
// decrypted the identity details with their own key and re-encrypted them
// to the requester's own key; it posts that age file (multipart: csrf
// first, then "grant", base64), which becomes the requester's grant. The
// requester must still see the case (its channel's team, not recused).
// Audited with the requester's name.
func (s *Server) handleStaffIdentityApprove(c *fiber.Ctx) error {
	r, cs, err := s.identityRequestOf(c)
	if err != nil {
		return err
	}
	form, err := s.channelKeyForm(c, map[string]int{"grant": maxKeyWrap*4/3 + 8})
	if err != nil {
		return err
	}
	grant, err := parseWrap(form["grant"])
	if err != nil {
		return staffBadRequest("The grant is not an age file of acceptable size.")
	}
	ctx := c.UserContext()
	if r.Recipient == "" {
		return staffBadRequest("%s has not registered their own key, so nothing can be encrypted to them.", r.Username)
	}
	if ok, err := s.db.CanSeeCase(ctx, cs, r.StaffID); err != nil {
		return err
	} else if !ok {
		return staffBadRequest("%s can no longer see this case (not in its channel's team, or recused).", r.Username)
	}
	me := staffOf(c)
	e := storage.AuditEntry{Actor: me.Username, Action: "identity.approve", Target: cs.Ref, Detail: r.Username}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.DecideIdentityRequest(ctx, r.ID, me.ID, true, grant)
	})
	if errors.Is(err, storage.ErrNotPending) {
		return errIdentityDecided
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"approved": r.ID})
}
