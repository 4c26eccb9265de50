package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffKeyWrapped answers GET /staff/key/wrapped: the logged-in staff
// member's own identity wrapped by their passkey, and nobody else's (the
// route takes no account; a session gets only its own). To the console's
// script, as JSON (the age file in base64 and the identity string that
// names a security key's credential); to a browser following a link, as
// the age file itself, for the caseworker to keep offline.
func (s *Server) handleStaffKeyWrapped(c *fiber.Ctx) error {
	me := staffOf(c)
	w, err := s.db.WrappedIdentity(c.UserContext(), me.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return &staffError{status: fiber.StatusNotFound, title: "No key protected by a passkey",
			message: "You have not protected your key with a passkey or security key. Load your key file instead."}
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"file": w.File, "hint": w.Hint, "created": w.Created.UTC().Format("2006-01-02")})
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="candour-key-passkey.age"`)
	return c.Send(w.File)
}
