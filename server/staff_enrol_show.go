package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// handleStaffEnrolForm answers GET /staff/enrol/:token: shows a new staff
// member the enrolment form for their one-time link, with a fresh TOTP
// secret.
func (s *Server) handleStaffEnrolForm(c *fiber.Ctx) error {
	token := c.Params("token")
	st, err := s.db.EnrolmentStaff(c.UserContext(), storage.HashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return errEnrolmentLink
	}
	if err != nil {
		return err
	}
	key, err := crypto.NewTOTPKey(s.cfg.OrgName+" (Candour)", st.Username)
	if err != nil {
		return err
	}
	return s.enrolmentPage(c, st, token, key.Secret(), "")
}
