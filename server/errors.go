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
	// refusal is the kind it is counted as, when its status does not say
	// (see countRefusal); refusedByStatus, the zero value, lets it.
	refusal refusalKind
	// staff is how the staff console says this error, for those that a
	// staff request can meet too (forStaff). Staff never read the
	// reporters' wording, advice or catalogues.
	staff *staffError
}

func (e *userError) Error() string { return e.title }

// forStaff is e as the staff console says it: its own staff wording, or
// a plain one by status.
func (e *userError) forStaff() *staffError {
	if e.staff != nil {
		return e.staff
	}
	if e.status >= 500 {
		return &staffError{status: e.status, title: "The request could not be completed",
			message: "Please try again later.", back: "/staff/"}
	}
	return &staffError{status: e.status, title: "The request could not be accepted",
		message: "Nothing was changed.", back: "/staff/"}
}

var (
	errNotFound = &userError{status: http.StatusNotFound, title: "Page not found",
		message: []phrase{say("There is no page at this address.")},
		staff: &staffError{status: http.StatusNotFound, title: "Not found",
			message: "There is no such page, case or record.", back: "/staff/"}}
	errBusy = &userError{status: http.StatusServiceUnavailable, title: "The service is busy",
		message: []phrase{say("Too many people are using the service right now. Nothing was saved. Please wait a minute and try again.")},
		staff: &staffError{status: http.StatusServiceUnavailable, title: "The service is busy",
			message: "The server is handling too many uploads or logins right now. Nothing was changed. Please try again in a minute."}}
	// errFull answers any request that failed because the disk is full.
	// Storage rolls the failed transaction back and deletes a partial
	// upload, so nothing of the request was kept.
	errFull = &userError{status: http.StatusInsufficientStorage, title: "The service is out of storage space",
		message: []phrase{say("The service has run out of storage space, so what you sent could not be stored."),
			say("Nothing was saved."), say("Please try again later.")},
		staff: &staffError{status: http.StatusInsufficientStorage, title: "The service is out of storage space",
			message: "The server's disk is full, so nothing was saved. Tell the service's operator, and try again once they have freed space."}}
	// errInternal answers any other failure; the log has the details.
	errInternal = &userError{status: http.StatusInternalServerError, title: "Something went wrong",
		message: []phrase{say("The service could not complete your request. Please try again later."),
			say("If you were sending a report or a message, check your case before sending it again.")},
		staff: &staffError{status: http.StatusInternalServerError, title: "Something went wrong",
			message: "The server could not complete the request (its log says why). Reload the page to see whether the change was made before trying again.",
			back:    "/staff/"}}
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
// shown as a generic failure. In the staff area every error, whatever
// returned it (a staff handler, or a piece shared with the reporter pages
// such as readForm, openMultipart, sameOrigin or acquireUpload), is
// answered as a staffError: in plain English, in JSON for the console's
// script, never through the reporters' catalogues or with their advice.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var se *staffError
	var ue *userError
	var fe *fiber.Error
	switch {
	case errors.As(err, &se):
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
		ue = errInternal
	}
	if se == nil && areaOf(c) == areaStaff {
		se = ue.forStaff()
	}
	if se != nil {
		return s.renderStaffError(c, se)
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
