package server

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// Cookies are made here and nowhere else, to one policy: HttpOnly (no
// script of ours reads a cookie), for path / and the exact host (no Domain),
// Secure when the service is reached over HTTPS, and without an expiry, so
// that the browser forgets them when it closes. Session cookies also take
// the __Host- prefix over HTTPS, which browsers accept only with Secure,
// path / and no Domain: a sibling subdomain can then neither set nor
// shadow them.

// cookieKind is one of our cookies: its name (before any prefix), and its
// SameSite mode and whether it takes the __Host- prefix over HTTPS.
type cookieKind struct {
	name       string
	sameSite   string
	hostPrefix bool
}

var (
	// sessionCookie holds a reporter's follow-up session token.
	sessionCookie = cookieKind{name: "candour_session", sameSite: fiber.CookieSameSiteStrictMode, hostPrefix: true}
	// staffCookie holds a staff session token.
	staffCookie = cookieKind{name: "candour_staff", sameSite: fiber.CookieSameSiteStrictMode, hostPrefix: true}
	// langCookie remembers a reporter's choice of language: it says nothing
	// but the language. Lax, so that the choice holds when the reporter
	// comes back by a link.
	langCookie = cookieKind{name: "candour_lang", sameSite: fiber.CookieSameSiteLaxMode}
)

// cookieName is the name of a cookie of kind k on this server.
func (s *Server) cookieName(k cookieKind) string {
	if k.hostPrefix && s.cfg.HTTPS {
		return "__Host-" + k.name
	}
	return k.name
}

// cookie returns the request's cookie of kind k, or "".
func (s *Server) cookie(c *fiber.Ctx, k cookieKind) string {
	return c.Cookies(s.cookieName(k))
}

// setCookie sets a cookie of kind k to value, for the browser session.
func (s *Server) setCookie(c *fiber.Ctx, k cookieKind, value string) {
	c.Cookie(&fiber.Cookie{Name: s.cookieName(k), Value: value, Path: "/",
		HTTPOnly: true, Secure: s.cfg.HTTPS, SameSite: k.sameSite})
}

// expireCookie tells the browser to forget its cookie of kind k.
func (s *Server) expireCookie(c *fiber.Ctx, k cookieKind) {
	c.Cookie(&fiber.Cookie{Name: s.cookieName(k), Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HTTPOnly: true, Secure: s.cfg.HTTPS, SameSite: k.sameSite})
}
