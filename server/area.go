package server

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// An area is one part of the service with its own policies, mounted in
// routes as a Fiber group with its own middleware. /static and /healthz
// belong to none: they keep the defaults of
// securityHeaders, the strictest policy (the reporter pages' CSP) and
// English.
type area int

const (
	areaNone area = iota
	// areaReporter: no scripts, no cookies before a follow-up login, pages
	// in the reporter's language with links to the others.
	areaReporter
	// areaStaff: the console. Scripts from 'self' only, English, a session
	// and CSRF tokens (requireStaff, staffForm, staffMultipart).
	areaStaff
)

type areaKey struct{}

func areaOf(c *fiber.Ctx) area {
	if a, ok := c.Locals(areaKey{}).(area); ok {
		return a
	}
	return areaNone
}

// reporterArea is the middleware of the reporter pages: it marks the
// request as theirs and picks its language.
func (s *Server) reporterArea(c *fiber.Ctx) error {
	c.Locals(areaKey{}, areaReporter)
	return s.chooseLanguage(c)
}

// staffArea is the middleware of everything under /staff, unknown paths
// included (their 404 page gets the staff policy too): the staff CSP, which
// lets the console load its own script, and English.
//
// Fiber matches a group's prefix as a plain string prefix, so /staffing or
// /staff.css reach this group too. They are not the console's: staffArea
// answers them with the reporter area's 404, under its policy and in the
// reporter's language, as any other unknown path.
func (s *Server) staffArea(c *fiber.Ctx) error {
	// Routes match case and all (CaseSensitive in New): /STAFF/ is a
	// reporter 404 and never reaches this group.
	if p := c.Path(); p != "/staff" && !strings.HasPrefix(p, "/staff/") {
		c.Locals(areaKey{}, areaReporter)
		s.setLanguage(c)
		return errNotFound
	}
	c.Locals(areaKey{}, areaStaff)
	c.Set(fiber.HeaderContentSecurityPolicy, staffCSP)
	return c.Next()
}
