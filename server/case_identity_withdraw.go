package server

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleCaseIdentityWithdraw answers POST /case/identity/withdraw: deletes
// the case's identity details, every copy granted to a caseworker and every
// request for them, as withdrawing a case deletes it (secure_delete, the
// WAL truncated). Counted for the day, not audited in the timed trail (see
// storage.WithdrawIdentity). The case itself stays.
func (s *Server) handleCaseIdentityWithdraw(c *fiber.Ctx) error {
	sess, err := s.confirmedWithdrawal(c, "case_identity_withdraw", "Withdraw your identity details",
		say("Tick the box to confirm that you want your identity details deleted."))
	if sess == nil {
		return err
	}
	err = s.db.WithdrawIdentity(c.UserContext(), sess.caseID)
	if errors.Is(err, storage.ErrNotFound) {
		// Nothing to delete (a second click, say): the case page says so.
		return c.Redirect("/case", http.StatusSeeOther)
	}
	if err != nil && !errors.Is(err, storage.ErrCheckpointBusy) {
		return err
	}
	return c.Redirect("/case?identity=withdrawn", http.StatusSeeOther)
}
