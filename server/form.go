package server

import (
	"io"
	"mime"
	"net/url"

	"github.com/gofiber/fiber/v2"
)

// readForm reads a small urlencoded body from the stream, within limit. It
// is used instead of c.FormValue, which would read a streamed body of any
// size into memory. What it leaves unread of a body it refuses is dealt
// with by bodyFraming.
func readForm(c *fiber.Ctx, limit int64) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badUpload(say("The form was not sent as expected."))
	}
	if int64(c.Request().Header.ContentLength()) > limit {
		return nil, badUpload(say("The form was larger than expected."))
	}
	b, err := io.ReadAll(io.LimitReader(bodyStream(c), limit+1))
	if err != nil {
		return nil, badUpload(say("The form could not be read."))
	}
	if int64(len(b)) > limit {
		return nil, badUpload(say("The form was larger than expected."))
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, badUpload(say("The form could not be read."))
	}
	return v, nil
}
