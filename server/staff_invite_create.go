package server

import (
	"context"
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
	if !storage.ValidRole(role) {
		return s.staffAdminPage(c, http.StatusBadRequest, "", "Choose a role.")
	}
	var token string
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "staff.invited", Target: username, Detail: "role " + role}
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		st, err := s.db.CreateStaff(ctx, username, role)
		if err != nil {
			return err
		}
		token, err = s.db.NewEnrolmentToken(ctx, st.ID)
		return err
	})
	if errors.Is(err, storage.ErrDuplicate) {
		return s.staffAdminPage(c, http.StatusConflict, "", "That username is taken.")
	}
	if err != nil {
		return err
	}
	return s.staffAdminPage(c, http.StatusOK, storage.EnrolmentLink(s.baseURL(c), token), "")
}
