package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffLogoutEverywhere answers POST /staff/logout-everywhere: ends
// every session of the staff member, on every device.
func (s *Server) handleStaffLogoutEverywhere(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	u := staffOf(c)
	if err := s.db.DeleteStaffSessions(c.UserContext(), u.ID); err != nil {
		return err
	}
	if err := s.audit(c.UserContext(), u.Username, "staff.logout_everywhere", u.Username, ""); err != nil {
		return err
	}
	s.clearStaffCookie(c)
	return c.Redirect("/staff/login", http.StatusSeeOther)
}
