package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffPasskeyRemove answers POST /staff/passkeys/:id<int>/remove (field
// csrf): removes one of the staff member's own passkeys. An account keeps
// its authenticator app (TOTP) whatever happens here; when the policy
// requires a passkey of its role, the last one stays too, and its removal
// is refused (and audited).
func (s *Server) handleStaffPasskeyRemove(c *fiber.Ctx) error {
	if _, err := s.staffForm(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	me := staffOf(c)
	ctx := c.UserContext()
	policy, err := s.db.PasskeyPolicy(ctx)
	if err != nil {
		return err
	}
	keepOne := policy.RequiredFor(me.Role)
	var removed storage.Passkey
	e := storage.AuditEntry{Actor: me.Username, Action: "staff.passkey_removed", Target: me.Username}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		var err error
		removed, err = s.db.RemovePasskey(ctx, me.ID, id, keepOne)
		e.Detail = "“" + removed.Name + "”"
		return err
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return errNotFound
	case errors.Is(err, storage.ErrLastPasskey):
		if aerr := s.audit(ctx, me.Username, "staff.passkey_remove_refused", me.Username, "the last passkey, which the policy requires"); aerr != nil {
			return aerr
		}
		return s.staffPasskeysPage(c, http.StatusConflict,
			"This is your last passkey, and your organisation requires one for your account: add another passkey before you remove this one.", "")
	case err != nil:
		return err
	}
	return c.Redirect("/staff/passkeys", http.StatusSeeOther)
}
