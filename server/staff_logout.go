package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffLogout answers POST /staff/logout: ends this browser's staff
// session.
func (s *Server) handleStaffLogout(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	u := staffOf(c)
	if err := s.db.DeleteStaffSession(c.UserContext(), u.session.TokenHash); err != nil {
		return err
	}
	if err := s.audit(c.UserContext(), u.Username, "staff.logout", u.Username, ""); err != nil {
		return err
	}
	s.clearStaffCookie(c)
	return c.Redirect("/staff/login", http.StatusSeeOther)
}
