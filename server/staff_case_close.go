package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// errNoOutcome refuses a closing without an outcome on offer.
var errNoOutcome = staffBadRequest("Choose an outcome to close the case.")

// handleStaffCaseClose answers POST /staff/case/:ref/close: closes a case
// with an outcome category and, optionally, a note that explains it. The
// form is multipart: the CSRF token, "outcome" (an outcome's id), then
// "note", an age file the caseworker's browser encrypted as it encrypts
// internal notes (to the organisation's and the channel's keys). Without
// JavaScript the form sends no note. The closing, its note and the audit
// entry are kept together or not at all.
func (s *Server) handleStaffCaseClose(c *fiber.Ctx) error {
	cs, mr, err := s.staffCaseMultipart(c)
	if err != nil {
		return err
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "outcome" {
		return errNoOutcome
	}
	raw, err := io.ReadAll(io.LimitReader(part, 21))
	if err != nil {
		return errNoOutcome
	}
	outcomeID, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return errNoOutcome
	}
	var note []byte
	part, err = mr.NextPart()
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		return staffBadRequest("The form could not be read.")
	case part.FormName() != "note":
		return staffBadRequest("The form holds an unexpected field.")
	default:
		if note, err = readSealed(part); err != nil {
			return staffBadRequest("The outcome note is not an age-encrypted message.")
		}
		if _, err := mr.NextPart(); !errors.Is(err, io.EOF) {
			return staffBadRequest("The form holds an unexpected field.")
		}
	}
	ctx := c.UserContext()
	if cs.Status == storage.StatusClosed {
		return staffBadRequest("The case is already closed.")
	}
	o, err := s.db.OutcomeByID(ctx, outcomeID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && o.Archived) {
		return errNoOutcome
	}
	if err != nil {
		return err
	}
	me := staffOf(c)
	e := storage.AuditEntry{Actor: me.Username, Action: "case.close", Target: cs.Ref}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		e.Detail = fmt.Sprintf("%s -> closed; outcome %s", cs.Status, o.Label)
		var noteID int64
		if note != nil {
			n, err := s.db.AddNote(ctx, cs.ID, me.ID, note)
			if err != nil {
				return err
			}
			noteID = n.ID
			e.Detail += fmt.Sprintf(", explained in note %d", n.ID)
		}
		return s.db.CloseCase(ctx, cs.ID, o.ID, noteID)
	})
	if errors.Is(err, storage.ErrNotFound) {
		// Closed, or the outcome archived, since the checks above.
		return staffBadRequest("The case was closed or the outcome archived meanwhile.")
	}
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"closed": true})
	}
	return c.Redirect("/staff/case/"+cs.Ref, http.StatusSeeOther)
}
