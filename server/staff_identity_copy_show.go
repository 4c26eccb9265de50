package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffIdentityCopyShow answers GET /staff/identity/case/:ref/copy:
// the copy of a case's identity details another custodian gave the caller
// (an age file to their own key), for a custodian who may read them; 404
// if they hold none. Audited, and marks the details as opened.
func (s *Server) handleStaffIdentityCopyShow(c *fiber.Ctx) error {
	cs, err := s.custodianCase(c, c.Params("ref"))
	if err != nil {
		return err
	}
	b, err := s.db.IdentityGrant(c.UserContext(), cs.ID, staffOf(c).ID)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return s.serveIdentity(c, cs, b, "copy")
}
