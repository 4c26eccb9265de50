package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffInvite answers POST /staff/admin/invite: creates a staff
// account and shows its one-time enrolment link to the administrator.
func (s *Server) handleStaffInvite(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	username, role := strings.TrimSpace(form.Get("username")), form.Get("role")
	if !storage.ValidUsername(username) {
		return s.staffAdminPage(c, http.StatusBadRequest, "",
			storage.UsernameRule)
	}
	if role != storage.RoleAdmin && role != storage.RoleCaseworker {
		return s.staffAdminPage(c, http.StatusBadRequest, "", "Choose a role.")
	}
	ctx := c.UserContext()
	st, err := s.db.CreateStaff(ctx, username, role)
	if errors.Is(err, storage.ErrDuplicate) {
		return s.staffAdminPage(c, http.StatusConflict, "", "That username is taken.")
	}
	if err != nil {
		return err
	}
	token, err := s.db.NewEnrolmentToken(ctx, st.ID)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, staffOf(c).Username, "staff.invited", st.Username, "role "+role); err != nil {
		return err
	}
	return s.staffAdminPage(c, http.StatusOK, storage.EnrolmentLink(s.baseURL(c), token), "")
}
