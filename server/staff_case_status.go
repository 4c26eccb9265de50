package server

import (
	"context"
	"errors"
	"net/url"

	"github.com/candour/candour/storage"
)

// setStatus answers POST /staff/case/:ref/status: sets an open case's
// workflow status (through changeCase). Closing needs an outcome
// (handleStaffCaseClose) and a closed case is reopened with its own button
// (reopen), so that neither happens without its audit detail.
func (s *Server) setStatus(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	status := form.Get("status")
	if !storage.ValidStatus(status) {
		return "", "", staffBadRequest("Unknown status.")
	}
	if status == storage.StatusClosed {
		return "", "", staffBadRequest("To close a case, use the Close form and choose an outcome.")
	}
	if cs.Status == storage.StatusClosed {
		return "", "", staffBadRequest("The case is closed: reopen it first.")
	}
	// Closed meanwhile (cs was read before this change), it stays closed.
	err := s.db.SetOpenCaseStatus(ctx, cs.ID, status)
	if errors.Is(err, storage.ErrCaseClosed) {
		return "", "", staffBadRequest("The case is closed: reopen it first.")
	}
	return "case.status", cs.Status + " -> " + status, err
}
