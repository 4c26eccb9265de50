package server

import (
	"github.com/gofiber/fiber/v2"
)

// handleStaffNoteCiphertext answers GET /staff/case/:ref/note/:id<int>:
// serves one note's age file.
func (s *Server) handleStaffNoteCiphertext(c *fiber.Ctx) error {
	return s.serveCiphertext(c, "note", s.db.NoteCiphertext)
}
