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
}

// handleReportForm answers GET /report: shows the report form.
func (s *Server) handleReportForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "report", "Make a report", reportForm{uploadLimits: s.limits(), Form: newFormToken()})
}
