package server

import "github.com/gofiber/fiber/v2"

// baseURL is the address staff reach the service at, for enrolment links
// (storage.EnrolmentLink): the configured PublicURL, else the request's own.
func (s *Server) baseURL(c *fiber.Ctx) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return c.Protocol() + "://" + c.Hostname()
}
