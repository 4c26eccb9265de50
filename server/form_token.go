package server

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
)

// A report or message form carries a one-time token in a hidden field, so
// that the same form sent twice (a reload of the receipt page re-posts it)
// is stored once. The server keeps nothing when it hands a token out: the
// form holds it, and only a hash of it is stored, as used, in the
// transaction that stores the report or message (storage.ErrFormUsed),
// with no link to them. A form without the field is accepted, without that
// protection (a form opened before an upgrade, a script); one with a
// malformed token is refused.
const formTokenField = "form"

// errRepeat means the form's token was used already.
var errRepeat = errors.New("form sent again")

var (
	errReportRepeat = &userError{status: http.StatusConflict, title: "This report was already received",
		message: []phrase{say("Your browser sent the same report again (for example, because the page was reloaded). It was stored once; nothing new was saved."),
			say("Use the case code you were shown when you sent it. If you never saw it (because the connection broke, for example), it cannot be shown again, because it is not stored anywhere: please make a new report and mention that it repeats an earlier one.")}}
	errMessageRepeat = &userError{status: http.StatusConflict, title: "This message was already received",
		message: []phrase{say("Your browser sent the same message again (for example, because the page was reloaded). It was stored once; nothing new was saved.")},
		back:    "/case"}
)

// newFormToken returns a fresh token for a form (256 random bits).
func newFormToken() string { return randomToken() }

// formTokenHash checks a token's form and returns the hash that is stored.
func formTokenHash(tok string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}
