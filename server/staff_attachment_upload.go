package server

import (
	"bufio"
	"fmt"
	"io"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// handleStaffAttachmentUpload answers POST /staff/case/:ref/attachment:
// stores one attachment that the caseworker's browser has already encrypted
// (to the organisation and the case), and returns its id as JSON, to be
// named in the reply that follows. Until that reply is stored the attachment
// is pending, and deleted on failure or at the next start.
func (s *Server) handleStaffAttachmentUpload(c *fiber.Ctx) error {
	cs := staffCaseOf(c)
	release, err := s.acquireUpload(c.UserContext())
	if err != nil {
		return err
	}
	defer release()
	mr, body, err := s.staffMultipart(c)
	if err != nil {
		return err
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "file" {
		return staffBadRequest("No file was sent.")
	}
	ctx := c.UserContext()
	aw, err := s.db.NewTimedAttachment(ctx, staffUploadOwner(cs.ID, staffOf(c).ID))
	if err != nil {
		return err
	}
	// The ciphertext of the largest file allowed is a little larger than the
	// file: allow for age's overhead (16 bytes per 64 KiB chunk, a header).
	limit := s.cfg.MaxFileBytes + s.cfg.MaxFileBytes/4096 + 64<<10
	src := bufio.NewReaderSize(io.LimitReader(part, limit+1), 64)
	if head, err := src.Peek(len(ageMagic)); err != nil || string(head) != ageMagic {
		s.db.DeletePending(ctx, aw.ID())
		return staffBadRequest("The file is not an age-encrypted file.")
	}
	dst := &errWriter{w: aw}
	if n, err := io.Copy(dst, src); err != nil || dst.err != nil || body.exceeded || n > limit {
		aw.Abort() // a chunk may still be being stored
		s.db.DeletePending(ctx, aw.ID())
		if dst.err != nil {
			return dst.err
		}
		return &staffError{status: http.StatusRequestEntityTooLarge, title: "The file is too large",
			message: fmt.Sprintf("The file could not be received whole: this service accepts files up to %s. Nothing was changed.", humanBytes(s.cfg.MaxFileBytes))}
	}
	if err := aw.Close(); err != nil {
		s.db.DeletePending(ctx, aw.ID())
		return err
	}
	// The upload is stored in chunks, each in its own transaction, and is
	// pending (linked to nothing, deleted at the next start) until a reply
	// names it. Its entry is appended once it is whole; if that fails, the
	// upload is deleted, so no upload stays without its entry.
	if err := s.audit(ctx, staffOf(c).Username, "attachment.upload", cs.Ref, fmt.Sprintf("attachment %d", aw.ID())); err != nil {
		s.db.DeletePending(ctx, aw.ID())
		return err
	}
	return c.JSON(fiber.Map{"id": aw.ID()})
}
