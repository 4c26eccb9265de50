package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffAccount answers POST /staff/admin/account: disables, enables or
// resets (new password and 2FA through a new enrolment link) another staff
// member's account.
func (s *Server) handleStaffAccount(c *fiber.Ctx) error {
	form, id, err := s.staffFormID(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	me := staffOf(c)
	st, err := s.db.StaffByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if st.ID == me.ID {
		return s.staffAdminPage(c, http.StatusBadRequest, "", "You cannot change your own account here.")
	}
	action := form.Get("action")
	if action != "disable" && action != "enable" && action != "reset" {
		return errNotFound
	}
	var token string
	e := storage.AuditEntry{Actor: me.Username, Action: "staff." + action, Target: st.Username}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		if action != "reset" {
			return s.db.SetStaffDisabled(ctx, st.ID, action == "disable")
		}
		if err := s.db.ResetStaffCredentials(ctx, st.ID); err != nil {
			return err
		}
		var err error
		token, err = s.db.NewEnrolmentToken(ctx, st.ID)
		return err
	}); err != nil {
		return err
	}
	var invited string
	if action == "reset" {
		invited = storage.EnrolmentLink(s.baseURL(c), token)
	}
	return s.staffAdminPage(c, http.StatusOK, invited, "")
}
