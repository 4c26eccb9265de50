package server

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/candour/candour/storage"
)

// acknowledge answers POST /staff/case/:ref/acknowledge: records that the
// case was acknowledged today, which sets its feedback-by date (through
// changeCase, audited as case.acknowledge). A staff reply acknowledges a
// case too (handleStaffReply).
func (s *Server) acknowledge(ctx context.Context, cs storage.Case, _ url.Values) (string, string, error) {
	d, err := s.db.AcknowledgeCase(ctx, cs.ID)
	if errors.Is(err, storage.ErrAlreadyAcknowledged) {
		return "", "", staffBadRequest("The case was already acknowledged.")
	}
	if err != nil {
		return "", "", err
	}
	return "case.acknowledge", "feedback by " + d.FeedbackBy.Format(time.DateOnly), nil
}
