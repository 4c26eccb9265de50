package server

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffLogout answers POST /staff/logout: ends this browser's staff
// session.
func (s *Server) handleStaffLogout(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	u := staffOf(c)
	e := storage.AuditEntry{Actor: u.Username, Action: "staff.logout", Target: u.Username}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.DeleteStaffSession(ctx, u.session.TokenHash)
	}); err != nil {
		return err
	}
	s.expireCookie(c, staffCookie)
	return c.Redirect("/staff/login", http.StatusSeeOther)
}
