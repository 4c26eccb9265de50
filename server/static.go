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
		return errNotFound
	}
	// securityHeaders made the response no-store; this one alone may be
	// kept, for as long as a cache likes.
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Response().Header.Del(fiber.HeaderPragma)
	c.Set(fiber.HeaderContentType, asset.ContentType)
	return c.Send(asset.Body)
}
