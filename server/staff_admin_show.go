package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

func (s *Server) handleStaffAdmin(c *fiber.Ctx) error {
	return s.staffAdminPage(c, http.StatusOK, "", "")
}
