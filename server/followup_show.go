package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

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
