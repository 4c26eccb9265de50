package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffKeyWrappedSave answers POST /staff/key/wrapped: keeps the
// logged-in staff member's identity, as their browser wrapped it with
// their passkey or security key ("file", an age file, and "hint", the
// AGE-PLUGIN-FIDO2PRF-1… string, empty for a discoverable passkey), in
// place of the one they had. A streamed form whose CSRF token comes first.
// Only a well-formed age file whose every stanza is fido2prf is kept
// (wrappedIdentityProblem): a plain key file sent by mistake is refused,
// and never echoed or logged.
func (s *Server) handleStaffKeyWrappedSave(c *fiber.Ctx) error {
	// The form reader of the channel keys' uploads: named fields, each
	// once, each within its limit (one byte over for the file, so that
	// wrappedIdentityProblem says what the limit is).
	form, err := s.channelKeyForm(c, map[string]int{"file": storage.MaxWrappedIdentity + 1, "hint": storage.MaxWrappedIdentityHint})
	if err != nil {
		return err
	}
	file := []byte(form["file"])
	hint := strings.TrimSpace(form["hint"])
	if problem := wrappedIdentityProblem(file); problem != "" {
		return staffBadRequest("%s", problem)
	}
	if problem := wrappedHintProblem(hint); problem != "" {
		return staffBadRequest("%s", problem)
	}
	me := staffOf(c)
	kind := "passkey"
	if hint != "" {
		kind = "security key"
	}
	e := storage.AuditEntry{Actor: me.Username, Action: "staff.key.wrap.set", Target: me.Username, Detail: kind}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetWrappedIdentity(ctx, me.ID, storage.WrappedIdentity{File: file, Hint: hint})
	}); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"saved": true})
	}
	return c.Redirect("/staff/key", http.StatusSeeOther)
}
