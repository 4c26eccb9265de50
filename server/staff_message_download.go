package server

import (
	"github.com/gofiber/fiber/v2"
)

// handleStaffMessageCiphertext answers GET /staff/case/:ref/message/:id<int>:
// it serves one message's age file as it is stored, for decryption on the
// caseworker's device.
func (s *Server) handleStaffMessageCiphertext(c *fiber.Ctx) error {
	return s.serveCiphertext(c, "message", s.db.MessageCiphertext)
}
