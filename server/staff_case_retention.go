package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffCaseRetention answers POST /staff/case/:ref/retention: sets a
// case's legal hold and own retention (setRetention), as the staff member's
// role allows.
func (s *Server) handleStaffCaseRetention(c *fiber.Ctx) error {
	admin := staffOf(c).Role == storage.RoleAdmin
	return s.changeCase(func(ctx context.Context, cs storage.Case, form url.Values) (string, string, error) {
		return s.setRetention(ctx, cs, form, admin)
	})(c)
}

var (
	errHoldAdminOnly = &staffError{status: http.StatusForbidden, title: "An administrator's decision",
		message: "Only an administrator can lift a legal hold. Nothing was changed."}
	errShortenAdminOnly = &staffError{status: http.StatusForbidden, title: "An administrator's decision",
		message: "Only an administrator can set a case's retention shorter than both the organisation's default and the case's retention now. Nothing was changed."}
)

// setRetention sets a case's legal hold and own retention. Lifting a hold,
// or shortening retention below the organisation's default (and below what
// the case has now), is an administrator's decision: a caseworker may set a
// hold, lengthen retention, or return it to the default when that is
// longer. A refusal changes nothing and, returned inside the change, writes
// no audit entry.
func (s *Server) setRetention(ctx context.Context, cs storage.Case, form url.Values, admin bool) (string, string, error) {
	days, err := strconv.Atoi(form.Get("retention_days"))
	if err != nil || days < 0 || days > 36500 {
		return "", "", staffBadRequest("Retention is a number of days from 0 (the default) to 36500.")
	}
	hold := form.Get("legal_hold") == "on"
	if !admin {
		now, err := s.db.CaseRetention(ctx, cs.ID)
		if err != nil {
			return "", "", err
		}
		def, err := s.db.DefaultRetentionDays(ctx)
		if err != nil {
			return "", "", err
		}
		if now.LegalHold && !hold {
			return "", "", errHoldAdminOnly
		}
		if days != now.RetentionDays && retentionShorter(effectiveRetention(days, def), effectiveRetention(now.RetentionDays, def)) &&
			retentionShorter(effectiveRetention(days, def), def) {
			return "", "", errShortenAdminOnly
		}
	}
	if err := s.db.SetLegalHold(ctx, cs.ID, hold); err != nil {
		return "", "", err
	}
	return "case.retention", fmt.Sprintf("legal hold %v, retention %d days (0: default)", hold, days),
		s.db.SetCaseRetention(ctx, cs.ID, days)
}

// effectiveRetention is the days after closure that a case's own retention
// (0: the default) keeps it; 0 means kept until deleted by hand.
func effectiveRetention(days, def int) int {
	if days > 0 {
		return days
	}
	return def
}

// retentionShorter reports whether retention a (in days, 0: for ever) is
// shorter than b.
func retentionShorter(a, b int) bool {
	return a != 0 && (b == 0 || a < b)
}
