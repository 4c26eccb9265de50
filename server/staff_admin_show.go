package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffAdmin answers GET /staff/admin/staff: shows the staff accounts
// and the organisation's retention.
func (s *Server) handleStaffAdmin(c *fiber.Ctx) error {
	return s.staffAdminPage(c, http.StatusOK, "", "")
}
