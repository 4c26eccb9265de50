package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffKeyWrappedRemove answers POST /staff/key/wrapped/remove: the
// server forgets the logged-in staff member's passkey-wrapped identity.
// Their key file, and any copy of the wrapped file they downloaded, keep
// working.
func (s *Server) handleStaffKeyWrappedRemove(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	me := staffOf(c)
	e := storage.AuditEntry{Actor: me.Username, Action: "staff.key.wrap.remove", Target: me.Username}
	err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.RemoveWrappedIdentity(ctx, me.ID)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return s.keyPage(c, http.StatusOK, me.AgeRecipient, "", "The server held no key protected by a passkey for you.")
	}
	if err != nil {
		return err
	}
	return s.keyPage(c, http.StatusOK, me.AgeRecipient, "", "The server no longer keeps your key protected by a passkey. "+
		"Your key file, and any copy of the protected file you downloaded, still work.")
}
