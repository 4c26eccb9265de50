package server

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

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
	if !storableForm(v) {
		return nil, errUnstorableForm
	}
	return v, nil
}

// errUnstorableForm refuses a form with a zero byte or invalid UTF-8 in a
// name or value. Nothing legitimate sends them (a browser encodes a form
// as UTF-8), PostgreSQL refuses them in text columns (SQLSTATE 22021:
// without this check, a 500 after part of a change), and SQLite would
// store a string that does not read back as it was typed. So every form
// read here is refused whole, before anything is done with it, on both
// engines. Reporters' text never comes this way: it is sealed (bytes).
var errUnstorableForm = &userError{status: http.StatusBadRequest, title: "The submission could not be read",
	message: []phrase{say("The form could not be read."), say("Nothing was saved. Please go back and try again.")},
	staff:   staffBadRequest("The form holds a zero byte or text that is not valid UTF-8, which cannot be stored: retype the text rather than pasting it.")}

// storableForm reports whether every name and value of v is valid UTF-8
// without a zero byte.
func storableForm(v url.Values) bool {
	ok := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	for k, vs := range v {
		if !ok(k) {
			return false
		}
		for _, x := range vs {
			if !ok(x) {
				return false
			}
		}
	}
	return true
}
