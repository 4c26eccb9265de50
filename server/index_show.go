package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleIndex answers GET /: shows the start page.
func (s *Server) handleIndex(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "index", "Report police misconduct safely", nil)
}
