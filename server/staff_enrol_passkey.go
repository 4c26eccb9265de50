package server

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffEnrolPasskey answers POST /staff/enrol/:token/passkey (fields
// name, credential: the browser's PublicKeyCredential.toJSON()): stores a
// passkey registered on the enrolment page, against the challenge bound to
// this link. The link still has to be completed (password and
// authenticator app) before the account can log in. Answers {"id",
// "name"}.
func (s *Server) handleStaffEnrolPasskey(c *fiber.Ctx) error {
	token := c.Params("token")
	ctx := c.UserContext()
	st, err := s.db.EnrolmentStaff(ctx, storage.HashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return jsonError(c, http.StatusNotFound, "This enrolment link is not valid any more. Ask an administrator for a new one.")
	}
	if err != nil {
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
	return s.finishRegistration(c, st, enrolBinding(token, browser), enrolBrowser(browser),
		form.Get("name"), form.Get("credential"), st.Username, " at enrolment")
}
