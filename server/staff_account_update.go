package server

import (
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
	var invited string
	switch action := form.Get("action"); action {
	case "disable", "enable":
		if err := s.db.SetStaffDisabled(ctx, st.ID, action == "disable"); err != nil {
			return err
		}
	case "reset":
		if err := s.db.ResetStaffCredentials(ctx, st.ID); err != nil {
			return err
		}
		token, err := s.db.NewEnrolmentToken(ctx, st.ID)
		if err != nil {
			return err
		}
		invited = storage.EnrolmentLink(s.baseURL(c), token)
	default:
		return errNotFound
	}
	if err := s.audit(ctx, me.Username, "staff."+form.Get("action"), st.Username, ""); err != nil {
		return err
	}
	return s.staffAdminPage(c, http.StatusOK, invited, "")
}
