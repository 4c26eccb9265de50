package server

import (
	"context"
	"errors"
	"net/url"

	"github.com/candour/candour/storage"
)

// reopen answers POST /staff/case/:ref/reopen (through changeCase): a
// closed case goes back to review, its outcome cleared; the audit entry
// keeps the outcome it had.
func (s *Server) reopen(ctx context.Context, cs storage.Case, _ url.Values) (string, string, error) {
	// Read before the change's writes (storage.DB.Change).
	o, _, err := s.db.CaseOutcome(ctx, cs.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", "", err
	}
	if err := s.db.ReopenCase(ctx, cs.ID); errors.Is(err, storage.ErrNotFound) {
		return "", "", staffBadRequest("The case is not closed.")
	} else if err != nil {
		return "", "", err
	}
	detail := "reopened; outcome was " + o.Label
	if o.Label == "" {
		detail = "reopened; it had no outcome"
	}
	return "case.reopen", detail, nil
}
