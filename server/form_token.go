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
// malformed token is refused. The receipt of a new report is also held in
// memory, keyed by the token's hash, for a few minutes, so that a repeat
// of its form can be shown it again (receipt_kept.go).
const formTokenField = "form"

// errRepeat means the form's token was used already.
var errRepeat = errors.New("form sent again")

// errMessageRepeat answers a follow-up message sent again. (A report sent
// again gets its receipt again, or its text kept: see receipt_kept.go.)
var errMessageRepeat = &userError{status: http.StatusConflict, title: "This message was already received",
	message: []phrase{say("Your browser sent the same message again (for example, because the page was reloaded). It was stored once; nothing new was saved.")},
	back:    "/case"}

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
