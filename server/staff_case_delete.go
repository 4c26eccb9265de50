package server

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffCaseDelete answers POST /staff/case/:ref/delete: an
// administrator deletes a case for good, with the secure deletion of
// withdrawal and retention (deleteCase), once they have typed its
// reference. The audit entry names the case and who deleted it, nothing of
// its content.
func (s *Server) handleStaffCaseDelete(c *fiber.Ctx) error {
	me := staffOf(c)
	if me.Role != storage.RoleAdmin {
		return errForbidden
	}
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	cs := staffCaseOf(c)
	if !strings.EqualFold(strings.TrimSpace(form.Get("confirm")), cs.Ref) {
		return s.staffCaseDeletePage(c, http.StatusBadRequest,
			"Type the case reference exactly as shown to confirm. Nothing was deleted.")
	}
	if err := s.deleteCase(c.UserContext(), cs, me.Username, "case.deleted", "deleted by hand by an administrator", s.db.DeleteCase); err != nil {
		return err
	}
	return c.Redirect("/staff/?deleted=1", http.StatusSeeOther)
}
