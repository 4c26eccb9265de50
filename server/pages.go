package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleIndex answers GET /: shows the start page.
func (s *Server) handleIndex(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "index", "Report police misconduct safely", nil)
}

type uploadLimits struct {
	MaxTotal int64
	MaxFile  int64
	MaxFiles int
	MaxText  int
	MaxClean int64
}

func (s *Server) limits() uploadLimits {
	return uploadLimits{MaxTotal: s.cfg.MaxUploadBytes, MaxFile: s.cfg.MaxFileBytes,
		MaxFiles: s.cfg.MaxFiles, MaxText: s.cfg.MaxTextChars, MaxClean: s.cfg.MaxCleanBytes}
}

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

type followupForm struct {
	uploadLimits
	Error string
	// Code is what was typed, echoed in the refusal (only there) so that a
	// typo can be corrected rather than typed again.
	Code string
	// Kept is a message to send once the code opens the case (see
	// message_kept.go); with it, the form carries the message's fields.
	Kept *keptMessage
}

// handleFollowupForm answers GET /followup: shows the form that asks for a
// case code.
func (s *Server) handleFollowupForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "followup", "Check your case", followupForm{})
}
