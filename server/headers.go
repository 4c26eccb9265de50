package server

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Reporter pages load nothing but our own stylesheet: no scripts at all, no
// frames, no third-party anything. Forms may post only back to us.
const reporterCSP = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets, in one place, the headers every response carries.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := func(k, v string) { c.Set(k, v) }
	h("Content-Security-Policy", reporterCSP)
	h("X-Content-Type-Options", "nosniff")
	h("X-Frame-Options", "DENY")
	h("Referrer-Policy", "no-referrer")
	h("Cross-Origin-Opener-Policy", "same-origin")
	h("Cross-Origin-Resource-Policy", "same-origin")
	h("Cross-Origin-Embedder-Policy", "require-corp")
	h("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "+
		"microphone=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()")
	if s.cfg.HTTPS {
		h("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if s.cfg.OnionAddress != "" {
		h("Onion-Location", "http://"+s.cfg.OnionAddress+c.OriginalURL())
	}
	if strings.HasPrefix(c.Path(), "/static/") {
		h("Cache-Control", "public, max-age=3600")
	} else {
		h("Cache-Control", "no-store")
		h("Pragma", "no-cache")
	}
	return c.Next()
}
