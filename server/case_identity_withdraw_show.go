package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// caseIdentityView is what the reporter's case page says of their identity
// details: that they gave them, and whether (and on which day) they were
// first opened.
type caseIdentityView struct {
	Opened   bool
	OpenedOn time.Time // to the day
	// Withdrawn: they were deleted at the reporter's request just now.
	Withdrawn bool
}

// caseIdentity reads the identity view of the reporter's case, nil if it
// has no identity details (and none were withdrawn just now).
func (s *Server) caseIdentity(c *fiber.Ctx, caseID int64) (*caseIdentityView, error) {
	ci, err := s.db.CaseIdentity(c.UserContext(), caseID)
	if errors.Is(err, storage.ErrNotFound) {
		if c.Query("identity") == "withdrawn" {
			return &caseIdentityView{Withdrawn: true}, nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := &caseIdentityView{Opened: !ci.Opened.IsZero()}
	v.OpenedOn = ci.Opened
	return v, nil
}

// handleCaseIdentityWithdrawForm answers GET /case/identity/withdraw: asks
// the reporter to confirm that they want their identity details deleted.
func (s *Server) handleCaseIdentityWithdrawForm(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		return c.Redirect("/followup", http.StatusSeeOther)
	}
	return s.render(c, http.StatusOK, "case_identity_withdraw", "Withdraw your identity details", withdrawPage{CSRF: sess.csrf})
}
