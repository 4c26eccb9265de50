package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffCustodian answers POST /staff/admin/custodian: an
// administrator makes a staff member ("id") a custodian of reporters'
// identity details, or not ("custodian": "on" or "off"); themselves
// included. Audited as staff.custodian.
func (s *Server) handleStaffCustodian(c *fiber.Ctx) error {
	form, id, err := s.staffFormID(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	st, err := s.db.StaffByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	on := form.Get("custodian")
	if on != "on" && on != "off" {
		return staffBadRequest("Say whether they are a custodian.")
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "staff.custodian", Target: st.Username, Detail: on}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.SetStaffCustodian(ctx, st.ID, on == "on")
	}); errors.Is(err, storage.ErrStatisticsOnly) {
		return &staffError{status: http.StatusConflict, title: "A statistics-only account",
			message: st.Username + " has a statistics-only account, which cannot hold reporters' identity details.",
			back:    "/staff/admin/staff"}
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/admin/staff", http.StatusSeeOther)
}
