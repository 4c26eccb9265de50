package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffDefaultRetention answers POST /staff/admin/retention: sets the
// organisation's retention after closure.
func (s *Server) handleStaffDefaultRetention(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	days, err := strconv.Atoi(form.Get("retention_days"))
	if err != nil || days < 0 || days > 36500 {
		return s.staffAdminPage(c, http.StatusBadRequest, "", "Retention is a number of days from 0 (keep until deleted by hand) to 36500.")
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "retention.default", Detail: fmt.Sprintf("%d days after closure", days)}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetDefaultRetentionDays(ctx, days)
	}); err != nil {
		return err
	}
	return s.staffAdminPage(c, http.StatusOK, "", "")
}
