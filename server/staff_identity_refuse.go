package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffIdentityRefuse answers POST
// /staff/identity/request/:id<int>/refuse:
// a custodian refuses a caseworker's request (audited with the
// requester's name). No key is involved.
func (s *Server) handleStaffIdentityRefuse(c *fiber.Ctx) error {
	r, cs, err := s.identityRequestOf(c)
	if err != nil {
		return err
	}
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	me := staffOf(c)
	e := storage.AuditEntry{Actor: me.Username, Action: "identity.refuse", Target: cs.Ref, Detail: r.Username}
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.DecideIdentityRequest(ctx, r.ID, me.ID, false, nil)
	})
	if errors.Is(err, storage.ErrNotPending) {
		return errIdentityDecided
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/identity", http.StatusSeeOther)
}
