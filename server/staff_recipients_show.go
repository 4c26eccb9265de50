package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

func (s *Server) handleStaffRecipients(c *fiber.Ctx) error {
	return s.recipientsPage(c, http.StatusOK, "", "")
}
