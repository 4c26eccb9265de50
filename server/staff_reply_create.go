package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffReply answers POST /staff/case/:ref/reply: stores a reply that
// the caseworker's browser encrypted to the organisation and the case (so
// the reporter can read it at their next follow-up), naming attachments
// uploaded before it.
func (s *Server) handleStaffReply(c *fiber.Ctx) error {
	cs, mr, err := s.staffCaseMultipart(c)
	if err != nil {
		return err
	}
	var sealed []byte
	var ids []int64
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return staffBadRequest("The form data was incomplete or malformed.")
		}
		switch part.FormName() {
		case "message":
			if sealed, err = readSealed(part); err != nil {
				return staffBadRequest("The reply is not an age-encrypted message.")
			}
		case "attachments":
			v, err := readField(part, 4096)
			if err != nil {
				return staffBadRequest("The attachment list could not be read.")
			}
			for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil || len(ids) >= s.cfg.MaxFiles {
					return staffBadRequest("The attachment list is malformed.")
				}
				ids = append(ids, id)
			}
		default:
			if _, err := readField(part, 4096); err != nil {
				return staffBadRequest("The form had an unexpected field.")
			}
		}
	}
	if sealed == nil {
		return staffBadRequest("The reply is empty.")
	}
	me := staffOf(c)
	reply := storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: sealed,
		AttachmentIDs: ids, AttachmentOwner: staffUploadOwner(cs.ID, me.ID)}
	var m storage.Message
	e := storage.AuditEntry{Actor: me.Username, Action: "case.reply", Target: cs.Ref}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		var err error
		if m, err = s.db.AddMessage(ctx, cs.ID, reply); err != nil {
			return staffBadRequest("The reply could not be stored: an attachment is unknown or already used.")
		}
		e.Detail = fmt.Sprintf("message %d, attachments %v", m.ID, ids)
		// A reply acknowledges the case, if nothing did before.
		d, err := s.db.AcknowledgeCase(ctx, cs.ID)
		if errors.Is(err, storage.ErrAlreadyAcknowledged) {
			return nil
		}
		if err != nil {
			return err
		}
		e.Detail += ", acknowledged: feedback by " + d.FeedbackBy.Format(time.DateOnly)
		return nil
	}); err != nil {
		return err
	}
	return created(c, cs, m.ID)
}
