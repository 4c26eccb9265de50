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
	sess, err := s.confirmedWithdrawal(c, "case_withdraw", "Withdraw your report",
		say("Tick the box to confirm that you want your report deleted."))
	if sess == nil {
		return err
	}
	ctx := c.UserContext()
	cs, err := s.db.Case(ctx, sess.caseID)
	if err != nil {
		return err
	}
	// Not audited in the timed trail (it would order the reporter's action
	// among staff actions): counted for the day instead.
	err = s.db.WithdrawCase(ctx, cs.ID)
	s.sessions.removeCase(ctx, cs.ID)
	if err != nil && !errors.Is(err, storage.ErrCheckpointBusy) {
		return err
	}
	s.expireCookie(c, sessionCookie)
	return s.render(c, http.StatusOK, "case_withdrawn", "Your report has been deleted", nil)
}

// confirmedWithdrawal reads a reporter's withdrawal form (of a case, or of
// its identity details): its session, once the CSRF token is right and the
// box ticked. Otherwise the session is nil, and the error is what to
// answer: the confirmation page again (page, title), saying untick, when
// the box was not ticked.
func (s *Server) confirmedWithdrawal(c *fiber.Ctx, page, title string, untick phrase) (*session, error) {
	sess, ok := s.session(c)
	if !ok {
		return nil, errSessionEnded
	}
	form, err := readForm(c, 4<<10)
	if err != nil {
		return nil, err
	}
	if !sess.checkCSRF(form.Get("csrf")) {
		return nil, errCSRF
	}
	if form.Get("confirm") != "yes" {
		return nil, s.render(c, http.StatusBadRequest, page, title, withdrawPage{CSRF: sess.csrf, Error: s.translate(c, untick)})
	}
	return sess, nil
}
