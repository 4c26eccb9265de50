package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffIdentityCase answers GET /staff/identity/case/:ref: a case's
// identity details as the age file encrypted to the custodians, for a
// custodian who may read them (custodianCase); to anyone else, 404. The
// fetch is audited and marks the details as opened.
func (s *Server) handleStaffIdentityCase(c *fiber.Ctx) error {
	cs, err := s.custodianCase(c, c.Params("ref"))
	if err != nil {
		return err
	}
	ci, err := s.db.CaseIdentity(c.UserContext(), cs.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return s.serveIdentity(c, cs, ci.Ciphertext, "custodian")
}
