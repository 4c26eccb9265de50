package server

import (
	"github.com/gofiber/fiber/v2"
)

// handleStatic serves GET /static/HASH/NAME: an embedded static file under
// its content-hashed URL (frontend.Assets), which the pages link through
// their asset function. Any other path under /static/, an old hash or a
// file's bare name included, is not found: a year-long cache lifetime is
// safe only because a URL's content never changes.
func (s *Server) handleStatic(c *fiber.Ctx) error {
	asset, ok := s.pages.Assets().Lookup(c.Params("*"))
	if !ok {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return errNotFound
	}
	c.Set(fiber.HeaderContentType, asset.ContentType)
	return c.Send(asset.Body)
}
