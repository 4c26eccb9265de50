package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type staffLoginForm struct {
	Error    string
	Username string
	// Passwordless: an administrator allows logging in with a passkey
	// alone, and passkeys work at this address (the page offers it).
	Passwordless bool
	// PasskeysOn: passkeys work at this address (the page says how to
	// use one).
	PasskeysOn bool
}

// handleStaffLoginForm answers GET /staff/login: shows the staff login form,
// or sends a logged-in staff member to the inbox.
func (s *Server) handleStaffLoginForm(c *fiber.Ctx) error {
	if u, err := s.currentStaff(c); err == nil && u != nil {
		return c.Redirect("/staff/", http.StatusSeeOther)
	}
	return s.staffLoginPage(c, http.StatusOK, staffLoginForm{})
}

// staffLoginPage renders the login form, offering a passkey alone where
// the policy allows it.
func (s *Server) staffLoginPage(c *fiber.Ctx, status int, f staffLoginForm) error {
	policy, err := s.db.PasskeyPolicy(c.UserContext())
	if err != nil {
		return err
	}
	_, off := s.relyingParty()
	f.PasskeysOn = off == ""
	f.Passwordless = policy.Alone && f.PasskeysOn
	return s.render(c, status, "staff_login", "Staff login", f)
}
