package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type staffCaseDeletePage struct {
	Case  storage.Case
	Error string
}

// handleStaffCaseDeleteForm answers GET /staff/case/:ref/delete: asks an
// administrator to confirm deleting a case by typing its reference.
func (s *Server) handleStaffCaseDeleteForm(c *fiber.Ctx) error {
	if staffOf(c).Role != storage.RoleAdmin {
		return errForbidden
	}
	return s.staffCaseDeletePage(c, http.StatusOK, "")
}

func (s *Server) staffCaseDeletePage(c *fiber.Ctx, status int, problem string) error {
	cs := staffCaseOf(c)
	return s.renderStaff(c, status, "staff_case_delete", "Delete case "+cs.Ref, staffCaseDeletePage{Case: cs, Error: problem})
}
