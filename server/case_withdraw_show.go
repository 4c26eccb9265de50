package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type withdrawPage struct {
	CSRF  string
	Error string
}

// handleCaseWithdrawForm answers GET /case/withdraw: asks the reporter to
// confirm that they want their case deleted, and says what that means.
func (s *Server) handleCaseWithdrawForm(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		return c.Redirect("/followup", http.StatusSeeOther)
	}
	return s.render(c, http.StatusOK, "case_withdraw", "Withdraw your report", withdrawPage{CSRF: sess.csrf})
}
