package server

import (
	"io"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"
)

// Reporter pages load nothing but our own stylesheet: no scripts at all, no
// frames, no third-party anything. Forms may post only back to us.
const reporterCSP = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets, in one place, the headers every response carries.
// The Content-Security-Policy set here is the reporter pages' strict one;
// the staff area's middleware (staffArea) replaces it with its own.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	s.setSecurityHeaders(c)
	return c.Next()
}

// setSecurityHeaders sets the headers of securityHeaders.
func (s *Server) setSecurityHeaders(c *fiber.Ctx) {
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
	// Nothing is cached unless its handler says otherwise: only
	// handleStatic does, for a file under its content hash.
	h("Cache-Control", "no-store")
	h("Pragma", "no-cache")
}

// bodyFraming is the one place where the unread rest of a request body is
// dealt with, so that it is never read as the next request on a kept-alive
// connection. With streamed bodies, fasthttp does not drain a body its
// handler did not read to the end; a proxy reusing connections could
// otherwise hand one visitor's response to another.
//
// After a handler that answered, a small remainder is drained; anything
// more closes the connection. After a handler that refused the request
// (returned an error, before the error page is written) without reading
// its body to the end, up to refuseDrain is drained and the connection is
// closed: see refuseDrain. Handlers therefore just return their error.
func bodyFraming(c *fiber.Ctx) error {
	err := c.Next()
	if c.Request().Header.ContentLength() != 0 {
		drain := int64(64 << 10)
		if err != nil {
			drain = refuseDrain
		}
		if n, derr := io.CopyN(io.Discard, bodyStream(c), drain); derr != io.EOF || (err != nil && n > 0) {
			c.Context().SetConnectionClose()
		}
	}
	return err
}

// refuseDrain is how much of a refused body is read and dropped before the
// connection is closed. Browsers that are still sending when the server
// closes often show "connection reset" instead of our page; reading a
// bounded amount more lets modest overruns see the explanation, while a
// multi-gigabyte one is cut off rather than received in full.
const refuseDrain = 16 << 20

var errCrossSite = &userError{status: http.StatusForbidden, title: "This form was sent from another site",
	message: []phrase{say("For your safety, this service only accepts forms sent from its own pages. Nothing was saved.")},
	staff: &staffError{status: http.StatusForbidden, title: "This form was sent from another site",
		message: "The console accepts forms only from its own pages, so nothing was changed. Open the page again in the console and resend.",
		back:    "/staff/"}}

// sameOrigin refuses state-changing requests that a browser says came from
// another site (login CSRF: a hostile page logging a visitor into the
// attacker's case). Our Referrer-Policy makes browsers send "Origin: null"
// on our own POSTs, so a null origin is accepted and Sec-Fetch-Site decides.
func sameOrigin(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Next()
	}
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return errCrossSite
	}
	if o := c.Get(fiber.HeaderOrigin); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != c.Hostname() {
			return errCrossSite
		}
	}
	return c.Next()
}
