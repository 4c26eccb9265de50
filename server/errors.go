package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// userError is an error the reporter may read: a status, a title and a
// message that helps without revealing anything about the server.
type userError struct {
	status int
	// title is in English; it is also the title's key in the message
	// catalogues, and message's phrases are translated the same way.
	title   string
	message []phrase
	back    string
}

func (e *userError) Error() string { return e.title }

var (
	errNotFound = &userError{status: http.StatusNotFound, title: "Page not found",
		message: []phrase{say("There is no page at this address.")}}
	errBusy = &userError{status: http.StatusServiceUnavailable, title: "The service is busy",
		message: []phrase{say("Too many people are using the service right now. Nothing was saved. Please wait a minute and try again.")}}
	// errFull answers any request that failed because the disk is full.
	// Storage rolls the failed transaction back and deletes a partial
	// upload, so nothing of the request was kept.
	errFull = &userError{status: http.StatusInsufficientStorage, title: "The service is out of storage space",
		message: []phrase{say("The service has run out of storage space, so what you sent could not be stored."),
			say("Nothing was saved."), say("Please try again later.")}}
	errSessionEnded = &userError{status: http.StatusForbidden, title: "Your session has ended",
		message: []phrase{say("For your safety, sessions end after a few minutes without activity. Enter your case code again to continue.")},
		back:    "/followup"}
)

type errorPage struct {
	Status  int
	Title   string
	Message string
	Back    string
	// CaseLink offers the way back to the reporter's case: the request was
	// on their case and their session is still open.
	CaseLink bool
}

// onCase reports whether a request was made on a reporter's case (or
// opened it) and their session is still open.
func (s *Server) onCase(c *fiber.Ctx) bool {
	if started, _ := c.Locals(sessionStartedKey{}).(bool); started {
		return true
	}
	if areaOf(c) != areaReporter || (c.Path() != "/case" && !strings.HasPrefix(c.Path(), "/case/")) {
		return false
	}
	_, ok := s.session(c)
	return ok
}

// handleError is the one place where errors become pages. A userError is
// shown as it is; anything else is logged (without request details) and
// shown as a generic failure.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var se *staffError
	if errors.As(err, &se) {
		return s.renderStaffError(c, se)
	}
	var ue *userError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ue):
	case errors.As(err, &fe) && fe.Code < 500:
		ue = &userError{status: fe.Code, title: "This request could not be handled",
			message: []phrase{say("The request could not be handled.")}}
		if fe.Code == http.StatusNotFound {
			ue = errNotFound
		}
	case errors.Is(err, storage.ErrFull):
		// The operator must act: say so in the log, at error level.
		s.log.Error("request failed: the disk is full", "route", c.Route().Path, "method", c.Method(), "err", err)
		ue = errFull
	default:
		// Only the route pattern and the error: never the client's address,
		// headers, or anything the reporter sent.
		s.log.Error("request failed", "route", c.Route().Path, "method", c.Method(), "err", err)
		ue = &userError{status: http.StatusInternalServerError, title: "Something went wrong",
			message: []phrase{say("The service could not complete your request. Please try again later."),
				say("If you were sending a report or a message, check your case before sending it again.")}}
	}
	s.countRefusal(c, ue)
	title := s.translate(c, say(ue.title))
	body, rerr := s.pages.Render("error", languageOf(c).Tag, s.page(c, title, errorPage{
		Status: ue.status, Title: title, Message: s.translate(c, ue.message...), Back: ue.back,
		CaseLink: s.onCase(c),
	}))
	if rerr != nil {
		s.log.Error("failed to render error page", "err", rerr)
		return c.Status(ue.status).SendString(ue.title)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(ue.status).Send(body)
}
