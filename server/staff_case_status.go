package server

import (
	"context"
	"net/url"

	"github.com/candour/candour/storage"
)

// setStatus answers POST /staff/case/:ref/status: sets a case's workflow
// status (through changeCase).
func (s *Server) setStatus(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	status := form.Get("status")
	if !storage.ValidStatus(status) {
		return "", "", staffBadRequest("Unknown status.")
	}
	return "case.status", cs.Status + " -> " + status, s.db.SetCaseStatus(ctx, cs.ID, status)
}
