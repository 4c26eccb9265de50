package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffCaseIdentityRequest answers POST /staff/case/:ref/identity/request:
// a caseworker asks the custodians for access to the case's identity
// details, with a reason (audited). A caseworker who already holds a grant
// or has a request pending is taken back to the case page; nothing more is
// recorded.
func (s *Server) handleStaffCaseIdentityRequest(c *fiber.Ctx) error {
	cs, me := staffCaseOf(c), staffOf(c)
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	reason, ok := trimmedField(form.Get("reason"), maxIdentityReason)
	if !ok {
		return staffBadRequest("Give the reason you need the reporter's identity, in at most %d characters.", maxIdentityReason)
	}
	ctx := c.UserContext()
	if _, err := s.db.CaseIdentity(ctx, cs.ID); errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	back := func() error { return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther) }
	if _, err := s.db.IdentityGrant(ctx, cs.ID, me.ID); err == nil {
		return back()
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	pending, err := s.db.IdentityRequests(ctx, storage.IdentityRequested, cs.ID)
	if err != nil {
		return err
	}
	for _, r := range pending {
		if r.StaffID == me.ID {
			return back()
		}
	}
	e := storage.AuditEntry{Actor: me.Username, Action: "identity.request", Target: cs.Ref, Detail: reason}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		_, err := s.db.RequestIdentity(ctx, cs.ID, me.ID, reason)
		return err
	}); err != nil {
		return err
	}
	return back()
}
