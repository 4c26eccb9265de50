package server

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffLogoutEverywhere answers POST /staff/logout-everywhere: ends
// every session of the staff member, on every device.
func (s *Server) handleStaffLogoutEverywhere(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	u := staffOf(c)
	e := storage.AuditEntry{Actor: u.Username, Action: "staff.logout_everywhere", Target: u.Username}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.DeleteStaffSessions(ctx, u.ID)
	}); err != nil {
		return err
	}
	s.expireCookie(c, staffCookie)
	return c.Redirect("/staff/login", http.StatusSeeOther)
}
