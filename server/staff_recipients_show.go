package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffRecipients answers GET /staff/admin/recipients: shows the
// organisation's public keys: those of the recipients file and those added
// in the console.
func (s *Server) handleStaffRecipients(c *fiber.Ctx) error {
	return s.recipientsPage(c, http.StatusOK, "", "")
}
