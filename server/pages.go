package server

import (
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"
)

func (s *Server) handleIndex(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "index", "Report police misconduct safely", nil)
}

type uploadLimits struct {
	MaxTotal int64
	MaxFile  int64
	MaxFiles int
	MaxText  int
	MaxClean int64
}

func (s *Server) limits() uploadLimits {
	return uploadLimits{MaxTotal: s.cfg.MaxUploadBytes, MaxFile: s.cfg.MaxFileBytes,
		MaxFiles: s.cfg.MaxFiles, MaxText: s.cfg.MaxTextChars, MaxClean: s.cfg.MaxCleanBytes}
}

type reportForm struct {
	uploadLimits
	Error string
	Text  string
	// Form is the form's one-time token (see form_token.go).
	Form string
}

func (s *Server) handleReportForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "report", "Make a report", reportForm{uploadLimits: s.limits(), Form: newFormToken()})
}

type followupForm struct {
	uploadLimits
	Error string
	// Code is what was typed, echoed in the refusal (only there) so that a
	// typo can be corrected rather than typed again.
	Code string
	// Kept is a message to send once the code opens the case (see
	// message_kept.go); with it, the form carries the message's fields.
	Kept *keptMessage
}

func (s *Server) handleFollowupForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "followup", "Check your case", followupForm{})
}

// readForm reads a small urlencoded body from the stream, within limit. It
// is used instead of c.FormValue, which would read a streamed body of any
// size into memory.
func readForm(c *fiber.Ctx, limit int64) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		c.Context().SetConnectionClose()
		return nil, badUpload(say("The form was not sent as expected."))
	}
	if int64(c.Request().Header.ContentLength()) > limit {
		c.Context().SetConnectionClose()
		return nil, badUpload(say("The form was larger than expected."))
	}
	b, err := io.ReadAll(io.LimitReader(bodyStream(c), limit+1))
	if err != nil {
		c.Context().SetConnectionClose()
		return nil, badUpload(say("The form could not be read."))
	}
	if int64(len(b)) > limit {
		c.Context().SetConnectionClose()
		return nil, badUpload(say("The form was larger than expected."))
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, badUpload(say("The form could not be read."))
	}
	return v, nil
}
