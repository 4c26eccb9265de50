package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// handleStaffEnrol answers POST /staff/enrol/:token: completes enrolment: a
// password that passes the policy, and a current code from the authenticator
// the page's secret was put into. The secret travels in the form (it is on
// the page already); the code proves the staff member's authenticator holds
// it.
func (s *Server) handleStaffEnrol(c *fiber.Ctx) error {
	token := c.Params("token")
	ctx := c.UserContext()
	st, err := s.db.EnrolmentStaff(ctx, storage.HashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return errEnrolmentLink
	}
	if err != nil {
		return err
	}
	form, err := readForm(c, 8<<10)
	if err != nil {
		return err
	}
	secret, password := form.Get("secret"), form.Get("password")
	if _, err := crypto.TOTPKeyFromSecret("x", st.Username, secret); err != nil {
		return errEnrolmentLink
	}
	if password != form.Get("password2") {
		return s.enrolmentPage(c, st, token, secret, "The two passwords are not the same.")
	}
	if err := crypto.CheckPasswordPolicy(password, st.Username); err != nil {
		return s.enrolmentPage(c, st, token, secret, err.Error())
	}
	step, ok := crypto.ValidateTOTP(secret, form.Get("totp"), s.db.Now())
	if !ok {
		return s.enrolmentPage(c, st, token, secret,
			"The code from your authenticator app was not right. Check the app's clock and try the current code.")
	}
	var hash string
	if rerr := s.staffKDF.run(ctx, func() { hash, err = crypto.HashPassword(password) }); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	codes, err := crypto.NewRecoveryCodes(10)
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		hashes[i] = crypto.HashRecoveryCode(code)
	}
	e := storage.AuditEntry{Actor: st.Username, Action: "staff.enrolled", Target: st.Username}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		if _, err := s.db.CompleteEnrolment(ctx, storage.HashToken(token), hash, secret, step, hashes); err != nil {
			return err
		}
		// Only the passkeys this browser added on the enrolment page
		// stay: one added through the link from anywhere else is
		// deleted, and the entry says so.
		removed, err := s.db.KeepEnrolmentPasskeys(ctx, st.ID, enrolBrowser(s.cookie(c, enrolCookie)))
		if len(removed) > 0 {
			e.Detail = fmt.Sprintf("%d passkey(s) added through the link in another browser removed", len(removed))
		}
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errEnrolmentLink
	}
	if err != nil {
		return err
	}
	s.expireCookie(c, enrolCookie)
	return s.render(c, http.StatusOK, "staff_recovery", "Your recovery codes", staffRecovery{Username: st.Username, Codes: codes})
}
