package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleCaseLogout answers POST /case/logout: ends the reporter's follow-up
// session.
func (s *Server) handleCaseLogout(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		s.expireCookie(c, sessionCookie)
		return c.Redirect("/", http.StatusSeeOther)
	}
	form, err := readForm(c, 4<<10)
	if err != nil {
		return err
	}
	if !sess.checkCSRF(form.Get("csrf")) {
		return errCSRF
	}
	s.sessions.remove(c.UserContext(), s.cookie(c, sessionCookie))
	s.expireCookie(c, sessionCookie)
	return c.Redirect("/", http.StatusSeeOther)
}
