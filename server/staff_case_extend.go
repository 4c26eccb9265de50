package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/candour/candour/storage"
)

// maxExtensionReason bounds the reason given for extending a feedback date.
const maxExtensionReason = 500

// extendFeedback answers POST /staff/case/:ref/extend: moves an
// acknowledged case's feedback-by date later, to the day in "by"
// (YYYY-MM-DD) or to "months" months after acknowledgement, for the
// required "reason" (through changeCase, audited as case.extend with the
// reason; the reason is kept in the audit trail only).
func (s *Server) extendFeedback(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
	reason := strings.TrimSpace(form.Get("reason"))
	if reason == "" || !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxExtensionReason {
		return "", "", staffBadRequest("Give the reason for the extension, in at most %d characters.", maxExtensionReason)
	}
	if cs.Acknowledged.IsZero() {
		return "", "", staffBadRequest("Acknowledge the case first: it has no feedback date to extend.")
	}
	var by time.Time
	switch v, m := strings.TrimSpace(form.Get("by")), strings.TrimSpace(form.Get("months")); {
	case v != "":
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", "", staffBadRequest("Give the new date as a day (YYYY-MM-DD).")
		}
		by = d
	case m != "":
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > storage.MaxFeedbackMonths {
			return "", "", staffBadRequest("Give the months after acknowledgement as a number from 1 to %d.", storage.MaxFeedbackMonths)
		}
		by = cs.Acknowledged.AddDate(0, n, 0)
	default:
		return "", "", staffBadRequest("Give the new feedback date, or the months after acknowledgement.")
	}
	err := s.db.ExtendFeedback(ctx, cs.ID, by)
	if errors.Is(err, storage.ErrBadExtension) {
		return "", "", staffBadRequest("The new feedback date must be later than %s and at most %d months after acknowledgement.",
			cs.FeedbackBy.Format(time.DateOnly), storage.MaxFeedbackMonths)
	}
	if err != nil {
		return "", "", err
	}
	return "case.extend", fmt.Sprintf("feedback by %s -> %s: %s",
		cs.FeedbackBy.Format(time.DateOnly), by.Format(time.DateOnly), reason), nil
}
