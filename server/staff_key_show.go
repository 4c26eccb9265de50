package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffKey answers GET /staff/key: shows the logged-in staff member's
// own age public key, if they registered one, and the form to set it.
func (s *Server) handleStaffKey(c *fiber.Ctx) error {
	return s.keyPage(c, http.StatusOK, staffOf(c).AgeRecipient, "", "")
}
