package server

import (
	"context"
	"errors"
	"mime"
	"strconv"

	"filippo.io/age"
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// handleAttachmentDownload answers GET /case/attachment/:id<int>: lets a
// reporter save a file of their case, decrypted with the case identity as it
// streams. It is always sent as a download, never rendered, whatever its
// claimed type.
func (s *Server) handleAttachmentDownload(c *fiber.Ctx) error {
	sess, ok := s.session(c)
	if !ok {
		return errSessionEnded
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	ctx := c.UserContext()
	msg, err := s.db.AttachmentMessage(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && msg.CaseID != sess.caseID) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	// Only the one message that names the file is decrypted.
	opened, err := s.open(sess, []storage.Message{msg})
	if err != nil {
		return err
	}
	var meta *crypto.Attachment
	for i := range opened[0].Attachments {
		if opened[0].Attachments[i].ID == id {
			meta = &opened[0].Attachments[i]
		}
	}
	if meta == nil {
		return errNotFound
	}
	// The body is streamed after this handler returns, so the reader must
	// not depend on the request's context.
	_, ct, err := s.db.Attachment(context.Background(), id)
	if err != nil {
		return err
	}
	plain, err := age.Decrypt(ct, sess.identity.Identity())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": meta.Name}))
	c.Set("X-SHA256", meta.SHA256)
	return c.SendStream(plain, int(meta.Size))
}
