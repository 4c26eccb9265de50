package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffPasskeyRename answers POST /staff/passkeys/:id<int>/rename (fields
// csrf, name): renames one of the staff member's own passkeys.
func (s *Server) handleStaffPasskeyRename(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	name := strings.TrimSpace(form.Get("name"))
	if !storage.ValidPasskeyName(name) {
		return s.staffPasskeysPage(c, http.StatusBadRequest, "A passkey's name is 1 to 60 characters.", "")
	}
	me := staffOf(c)
	e := storage.AuditEntry{Actor: me.Username, Action: "staff.passkey_renamed", Target: me.Username, Detail: "“" + name + "”"}
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.RenamePasskey(ctx, me.ID, id, name)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/passkeys", http.StatusSeeOther)
}
