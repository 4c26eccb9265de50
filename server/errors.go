package server

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// userError is an error the reporter may read: a status, a title and a
// message that helps without revealing anything about the server.
type userError struct {
	status  int
	title   string
	message string
	back    string
}

func (e *userError) Error() string { return e.title }

var (
	errNotFound = &userError{status: http.StatusNotFound, title: "Page not found",
		message: "There is no page at this address."}
	errBusy = &userError{status: http.StatusServiceUnavailable, title: "The service is busy",
		message: "Too many people are using the service right now. Nothing was saved. Please wait a minute and try again."}
	errSessionEnded = &userError{status: http.StatusForbidden, title: "Your session has ended",
		message: "For your safety, sessions end after a few minutes without activity. Enter your case code again to continue.",
		back:    "/followup"}
)

type errorPage struct {
	Status  int
	Title   string
	Message string
	Back    string
}

// handleError is the one place where errors become pages. A userError is
// shown as it is; anything else is logged (without request details) and
// shown as a generic failure.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var ue *userError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ue):
	case errors.As(err, &fe) && fe.Code < 500:
		ue = &userError{status: fe.Code, title: http.StatusText(fe.Code),
			message: "The request could not be handled."}
		if fe.Code == http.StatusNotFound {
			ue = errNotFound
		}
	default:
		// Only the route pattern and the error: never the client's address,
		// headers, or anything the reporter sent.
		s.log.Error("request failed", "route", c.Route().Path, "method", c.Method(), "err", err)
		ue = &userError{status: http.StatusInternalServerError, title: "Something went wrong",
			message: "The service could not complete your request. Please try again later. " +
				"If you were sending a report or a message, check your case before sending it again."}
	}
	body, rerr := s.pages.Render("error", s.page(ue.title, errorPage{
		Status: ue.status, Title: ue.title, Message: ue.message, Back: ue.back,
	}))
	if rerr != nil {
		s.log.Error("failed to render error page", "err", rerr)
		return c.Status(ue.status).SendString(ue.title)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(ue.status).Send(body)
}
