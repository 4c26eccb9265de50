package server

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
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
		refuseRest(c)
		return staffBadRequest("The note is missing.")
	}
	b, err := readSealed(part)
	if err != nil {
		refuseRest(c)
		return staffBadRequest("The note is not an age-encrypted message.")
	}
	ctx := c.UserContext()
	me := staffOf(c)
	n, err := s.db.AddNote(ctx, cs.ID, me.ID, b)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, me.Username, "case.note", cs.Ref, fmt.Sprintf("note %d", n.ID)); err != nil {
		return err
	}
	return created(c, cs, n.ID)
}
