package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffOutcomeUpdate answers POST /staff/admin/outcomes/:id<int>:
// renames an outcome category (action "rename", with "label"), archives
// it ("archive": no longer offered when closing; cases closed with it
// keep it), brings it back ("restore") or moves it one place ("up",
// "down"). Outcomes are never deleted.
func (s *Server) handleStaffOutcomeUpdate(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	o, err := s.db.OutcomeByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Target: outcomeTarget(id)}
	var change func(ctx context.Context) error
	switch form.Get("action") {
	case "rename":
		label, problem := outcomeLabel(form.Get("label"))
		if problem != "" {
			return s.staffOutcomesPage(c, http.StatusBadRequest, problem+" Nothing was changed.")
		}
		e.Action, e.Detail = "outcome.rename", fmt.Sprintf("%s -> %s", o.Label, label)
		change = func(ctx context.Context) error { return s.db.RenameOutcome(ctx, id, label) }
	case "archive", "restore":
		archive := form.Get("action") == "archive"
		e.Action, e.Detail = "outcome."+form.Get("action"), o.Label
		change = func(ctx context.Context) error { return s.db.SetOutcomeArchived(ctx, id, archive) }
	case "up", "down":
		up := form.Get("action") == "up"
		e.Action, e.Detail = "outcome.move", o.Label+" "+form.Get("action")
		change = func(ctx context.Context) error { return s.db.MoveOutcome(ctx, id, up) }
	default:
		return s.staffOutcomesPage(c, http.StatusBadRequest, "Unknown action. Nothing was changed.")
	}
	err = s.db.Change(ctx, &e, change)
	if errors.Is(err, storage.ErrDuplicate) {
		return s.staffOutcomesPage(c, http.StatusBadRequest, "There is already an outcome with that label. Nothing was changed.")
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/admin/outcomes", http.StatusSeeOther)
}

// outcomeTarget names an outcome category in the audit trail.
func outcomeTarget(id int64) string { return fmt.Sprintf("outcome %d", id) }
