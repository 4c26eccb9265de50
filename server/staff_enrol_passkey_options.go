package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffEnrolPasskeyOptions answers POST
// /staff/enrol/:token/passkey/options: begins registering a passkey on the
// enrolment page, besides the authenticator app, and answers the
// PublicKeyCredentialCreationOptions (JSON {"publicKey": …}). The
// challenge is bound to the enrolment link, whose token is the secret that
// lets anyone enrol the account; POST /staff/enrol/:token/passkey consumes
// it.
func (s *Server) handleStaffEnrolPasskeyOptions(c *fiber.Ctx) error {
	token := c.Params("token")
	ctx := c.UserContext()
	st, err := s.enrolmentStaff(c, token)
	if st == nil {
		return err
	}
	if _, err := readForm(c, 4<<10); err != nil {
		return err
	}
	rp, off := s.relyingParty()
	if off != "" {
		return jsonError(c, http.StatusConflict, off)
	}
	creation, session, err := s.beginRegistration(ctx, rp, *st)
	if err != nil {
		return err
	}
	if creation == nil {
		return jsonError(c, http.StatusConflict, "You have as many passkeys as an account may have.")
	}
	data, err := json.Marshal(session)
	if err != nil {
		return err
	}
	// This browser's enrolment cookie: the passkeys it adds are kept when
	// it completes the enrolment, and only then (KeepEnrolmentPasskeys).
	browser := s.cookie(c, enrolCookie)
	if len(browser) != len(randomToken()) {
		browser = randomToken()
		s.setCookie(c, enrolCookie, browser)
	}
	if err := s.db.PutCeremony(ctx, storage.Ceremony{Purpose: storage.CeremonyRegister, Binding: enrolBinding(token, browser),
		StaffID: st.ID, CSRF: randomToken(), Data: data, ExpiresAt: s.db.Now().Add(ceremonyLife)}); err != nil {
		return err
	}
	return c.JSON(creation)
}

// enrolBinding names the registration ceremony of an enrolment link in one
// browser (its enrolment cookie): apart from any session's (HashToken of
// another random token), and from another browser's with the same link.
func enrolBinding(token, browser string) []byte {
	return storage.HashToken("enrol:" + token + ":" + browser)
}

// enrolBrowser is what a passkey added on the enrolment page records of
// the browser that added it (the hash of its enrolment cookie), or nil
// for a browser without one.
func enrolBrowser(browser string) []byte {
	if browser == "" {
		return nil
	}
	return storage.HashToken("enrol-browser:" + browser)
}

// enrolCookie binds the passkeys added on an enrolment page to the browser
// that completes the enrolment.
var enrolCookie = cookieKind{name: "candour_enrol", sameSite: fiber.CookieSameSiteStrictMode, hostPrefix: true}

// enrolmentStaff finds the account of the enrolment link token for the
// enrolment page's passkey requests; nil and the JSON answer already sent
// (or an error) if the link is not valid.
func (s *Server) enrolmentStaff(c *fiber.Ctx, token string) (*storage.Staff, error) {
	st, err := s.db.EnrolmentStaff(c.UserContext(), storage.HashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, jsonError(c, http.StatusNotFound, "This enrolment link is not valid any more. Ask an administrator for a new one.")
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}
