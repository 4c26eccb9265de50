package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type reportForm struct {
	uploadLimits
	Error string
	Text  string
	// Form is the form's one-time token (see form_token.go).
	Form string
	// Repeat is set when the form answers a report sent again whose
	// receipt is no longer held: what it carried, to send as a new report.
	Repeat *keptReport
}

// handleReportForm answers GET /report: shows the report form.
func (s *Server) handleReportForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "report", "Make a report", reportForm{uploadLimits: s.limits(), Form: newFormToken()})
}
