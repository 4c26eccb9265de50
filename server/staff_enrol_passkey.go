package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffEnrolPasskey answers POST /staff/enrol/:token/passkey (fields
// name, credential: the browser's PublicKeyCredential.toJSON()): stores a
// passkey registered on the enrolment page, against the challenge bound to
// this link. The link still has to be completed (password and
// authenticator app) before the account can log in. Answers {"id",
// "name"}.
func (s *Server) handleStaffEnrolPasskey(c *fiber.Ctx) error {
	token := c.Params("token")
	st, err := s.enrolmentStaff(c, token)
	if st == nil {
		return err
	}
	form, err := readForm(c, 2*maxCredentialField)
	if err != nil {
		return err
	}
	browser := s.cookie(c, enrolCookie)
	if browser == "" {
		return jsonError(c, http.StatusConflict, "This registration has expired or was used already. Start again.")
	}
	return s.finishRegistration(c, *st, enrolBinding(token, browser), enrolBrowser(browser),
		form.Get("name"), form.Get("credential"), st.Username, " at enrolment")
}
