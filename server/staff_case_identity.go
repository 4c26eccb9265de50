package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffCaseIdentity answers GET /staff/case/:ref/identity: the copy
// of the case's identity details that a custodian granted to the caller
// (an age file to their own key); 404 if they hold none. The case group's
// checks apply first: a caseworker outside the channel, or recused, gets
// nothing. The fetch is audited and marks the details as opened.
func (s *Server) handleStaffCaseIdentity(c *fiber.Ctx) error {
	cs := staffCaseOf(c)
	b, err := s.db.IdentityGrant(c.UserContext(), cs.ID, staffOf(c).ID)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return s.serveIdentity(c, cs, b, "grant")
}
