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
		MaxFiles: s.cfg.MaxFiles, MaxText: s.cfg.MaxTextBytes, MaxClean: s.cfg.MaxCleanBytes}
}

type reportForm struct {
	uploadLimits
	Error string
	Text  string
}

// handleReportForm answers GET /report: shows the report form.
func (s *Server) handleReportForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "report", "Make a report", reportForm{uploadLimits: s.limits()})
}

type followupForm struct{ Error string }

// handleFollowupForm answers GET /followup: shows the form that asks for a
// case code.
func (s *Server) handleFollowupForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "followup", "Check your case", followupForm{})
}
