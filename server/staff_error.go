package server

import (
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// staffError is an error a staff member may read. Staff pages are in
// English only, so its title and message are plain English, never looked
// up in the reporters' message catalogues (frontend/locales): those hold
// what a reporter may see, and nothing else. handleError shows it as it
// is.
type staffError struct {
	status  int
	title   string
	message string
	back    string
}

func (e *staffError) Error() string { return e.title + ": " + e.message }

// staffBadRequest answers a staff form or upload that was not as the
// console sends it.
func staffBadRequest(format string, args ...any) *staffError {
	return &staffError{status: http.StatusBadRequest, title: "The request could not be accepted",
		message: fmt.Sprintf(format, args...) + " Nothing was changed."}
}

// wantsJSON reports whether the request prefers JSON to HTML, as the staff
// console's script says it does (a browser's own requests prefer HTML).
func wantsJSON(c *fiber.Ctx) bool {
	return c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON
}

var (
	errForbidden = &staffError{status: http.StatusForbidden, title: "Not allowed",
		message: "Your account does not have access to this page.", back: "/staff/"}
	errStaffSessionEnded = &staffError{status: http.StatusForbidden, title: "Your session has ended",
		message: "Please log in again. Nothing was changed.", back: "/staff/login"}
	errCSRFStaff = &staffError{status: http.StatusForbidden, title: "The form has expired",
		message: "This form is no longer valid, so nothing was changed. Please reload the page and try again.", back: "/staff/"}
	errEnrolmentLink = &staffError{status: http.StatusNotFound, title: "This link is not valid",
		message: "Enrolment links work once and expire after three days. Ask an administrator for a new one."}
)

// renderStaffError is handleError's answer to a staffError: a page, or
// for the console's script, which asks for JSON, {"error": "…"}.
func (s *Server) renderStaffError(c *fiber.Ctx, e *staffError) error {
	if wantsJSON(c) {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(e.status).JSON(fiber.Map{"error": e.Error()})
	}
	body, err := s.pages.Render("error", languageOf(c).Tag, s.page(c, e.title, errorPage{
		Status: e.status, Title: e.title, Message: e.message, Back: e.back,
	}))
	if err != nil {
		s.log.Error("failed to render error page", "err", err)
		return c.Status(e.status).SendString(e.title)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(e.status).Send(body)
}
