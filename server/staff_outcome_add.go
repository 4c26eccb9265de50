package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffOutcomeAdd answers POST /staff/admin/outcomes/add: adds an
// outcome category at the end of the list.
func (s *Server) handleStaffOutcomeAdd(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	label, problem := outcomeLabel(form.Get("label"))
	if problem != "" {
		return s.staffOutcomesPage(c, http.StatusBadRequest, problem+" Nothing was changed.")
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "outcome.add", Detail: label}
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		o, err := s.db.AddOutcome(ctx, label)
		e.Target = outcomeTarget(o.ID)
		return err
	})
	if errors.Is(err, storage.ErrDuplicate) {
		return s.staffOutcomesPage(c, http.StatusBadRequest, "There is already an outcome with that label. Nothing was changed.")
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/admin/outcomes", http.StatusSeeOther)
}
