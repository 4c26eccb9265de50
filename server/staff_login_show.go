package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type staffLoginForm struct {
	Error    string
	Username string
}

// handleStaffLoginForm answers GET /staff/login: shows the staff login form,
// or sends a logged-in staff member to the inbox.
func (s *Server) handleStaffLoginForm(c *fiber.Ctx) error {
	if u, err := s.currentStaff(c); err == nil && u != nil {
		return c.Redirect("/staff/", http.StatusSeeOther)
	}
	return s.render(c, http.StatusOK, "staff_login", "Staff login", staffLoginForm{})
}
