package server

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffRecipientRemove answers POST /staff/admin/recipients/remove:
// removes an organisation public key added in the console.
func (s *Server) handleStaffRecipientRemove(c *fiber.Ctx) error {
	_, id, err := s.staffFormID(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	added, err := s.db.OrgRecipients(ctx)
	if err != nil {
		return err
	}
	var gone *storage.OrgRecipient
	for i := range added {
		if added[i].ID == id {
			gone = &added[i]
		}
	}
	if gone == nil {
		return errNotFound
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "recipient.remove", Target: gone.Label, Detail: abbreviate(gone.Recipient)}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.RemoveOrgRecipient(ctx, id)
	}); err != nil {
		return err
	}
	if err := s.reloadRecipients(ctx); err != nil {
		return err
	}
	return s.recipientsPage(c, http.StatusOK, "", "Key removed. New reports are no longer encrypted to it; "+
		"whoever holds it can still read what was encrypted to it before.")
}
