package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffNotifications answers GET /staff/notifications: the
// logged-in staff member's own notification settings, and whether this
// installation sends notifications at all.
func (s *Server) handleStaffNotifications(c *fiber.Ctx) error {
	return s.notificationsPage(c, http.StatusOK, staffOf(c).NotifyEmail, "", "", "")
}
