package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
)

// handleHealth answers GET /healthz, a container engine's or load
// balancer's health check (`candour healthcheck`): 200 "ok" while the
// database can be read, 503 otherwise. It shows nothing from the database,
// and like every route it logs nothing about who asked.
func (s *Server) handleHealth(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Error("health check failed", "err", err)
		return c.Status(http.StatusServiceUnavailable).SendString("database unavailable")
	}
	return c.SendString("ok")
}
