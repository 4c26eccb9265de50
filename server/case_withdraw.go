package server

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleCaseWithdraw answers POST /case/withdraw: deletes the reporter's
// case for good: rows and chunks go with secure_delete on and the WAL is
// truncated, so nothing of it stays in the database files. Staff see only
// how many cases were withdrawn that day.
func (s *Server) handleCaseWithdraw(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		return errSessionEnded
	}
	form, err := readForm(c, 4<<10)
	if err != nil {
		return err
	}
	if !sess.checkCSRF(form.Get("csrf")) {
		return errCSRF
	}
	if form.Get("confirm") != "yes" {
		return s.render(c, http.StatusBadRequest, "case_withdraw", "Withdraw your report", withdrawPage{
			CSRF: sess.csrf, Error: s.translate(c, say("Tick the box to confirm that you want your report deleted."))})
	}
	ctx := c.UserContext()
	cs, err := s.db.Case(ctx, sess.caseID)
	if err != nil {
		return err
	}
	// Not audited in the timed trail (it would order the reporter's action
	// among staff actions): counted for the day instead.
	err = s.db.WithdrawCase(ctx, cs.ID)
	s.sessions.removeCase(cs.ID)
	if err != nil && !errors.Is(err, storage.ErrCheckpointBusy) {
		return err
	}
	s.expireCookie(c, sessionCookie)
	return s.render(c, http.StatusOK, "case_withdrawn", "Your report has been deleted", nil)
}
