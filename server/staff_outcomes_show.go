package server

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type staffOutcomesPage struct {
	Outcomes []storage.Outcome
	Max      int
	Error    string
}

// handleStaffOutcomes answers GET /staff/admin/outcomes: the outcome
// categories a case is closed with, to add, rename, archive and reorder.
func (s *Server) handleStaffOutcomes(c *fiber.Ctx) error {
	return s.staffOutcomesPage(c, http.StatusOK, "")
}

func (s *Server) staffOutcomesPage(c *fiber.Ctx, status int, problem string) error {
	all, err := s.db.Outcomes(c.UserContext(), true)
	if err != nil {
		return err
	}
	return s.renderStaff(c, status, "staff_outcomes", "Outcomes", staffOutcomesPage{
		Outcomes: all, Max: storage.MaxOutcomeLabel, Error: problem,
	})
}

// outcomeLabel is a label from a form, trimmed, or a reason to refuse it.
func outcomeLabel(raw string) (string, string) {
	label := strings.TrimSpace(raw)
	switch {
	case label == "":
		return "", "An outcome needs a label."
	case len(label) > storage.MaxOutcomeLabel:
		return "", "An outcome's label is at most 120 characters."
	case !plainText(label) || strings.ContainsAny(label, "\r\n\t"):
		return "", "An outcome's label is one line of plain text."
	}
	return label, ""
}
