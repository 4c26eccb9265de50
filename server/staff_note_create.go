package server

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffNote answers POST /staff/case/:ref/note: stores an internal
// note, encrypted by the caseworker's browser to the organisation's
// recipients only.
func (s *Server) handleStaffNote(c *fiber.Ctx) error {
	cs, mr, err := s.staffCaseMultipart(c)
	if err != nil {
		return err
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "note" {
		return staffBadRequest("The note is missing.")
	}
	b, err := readSealed(part)
	if err != nil {
		return staffBadRequest("The note is not an age-encrypted message.")
	}
	me := staffOf(c)
	var n storage.Note
	e := storage.AuditEntry{Actor: me.Username, Action: "case.note", Target: cs.Ref}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		var err error
		n, err = s.db.AddNote(ctx, cs.ID, me.ID, b)
		e.Detail = fmt.Sprintf("note %d", n.ID)
		return err
	}); err != nil {
		return err
	}
	return created(c, cs, n.ID)
}
