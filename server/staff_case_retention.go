package server

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/candour/candour/storage"
)

// setRetention answers POST /staff/case/:ref/retention: sets a case's legal
// hold and own retention.
func (s *Server) setRetention(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	days, err := strconv.Atoi(form.Get("retention_days"))
	if err != nil || days < 0 || days > 36500 {
		return "", "", staffBadRequest("Retention is a number of days from 0 (the default) to 36500.")
	}
	hold := form.Get("legal_hold") == "on"
	if err := s.db.SetLegalHold(ctx, cs.ID, hold); err != nil {
		return "", "", err
	}
	return "case.retention", fmt.Sprintf("legal hold %v, retention %d days (0: default)", hold, days),
		s.db.SetCaseRetention(ctx, cs.ID, days)
}
