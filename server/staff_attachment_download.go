package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffAttachmentCiphertext answers GET /staff/case/:ref/attachment/:id<int>:
// it streams one attachment's age file.
func (s *Server) handleStaffAttachmentCiphertext(c *fiber.Ctx) error {
	cs := staffCaseOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	ctx := c.UserContext()
	owner, err := s.db.AttachmentCase(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && owner != cs.ID) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	info, r, err := s.db.Attachment(context.Background(), id)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, staffOf(c).Username, "attachment.download", cs.Ref, fmt.Sprintf("attachment %d", id)); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment",
		map[string]string{"filename": fmt.Sprintf("%s-attachment-%d.age", cs.Ref, id)}))
	return c.SendStream(r, int(info.Size))
}
