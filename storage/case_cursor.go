package storage

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Cursor names a place in the inbox's list of cases: just after (the older
// page) or just before (the newer page) one case, in one of the list's two
// orders. The zero Cursor is the first page.
//
// It holds the case's sort key only: in the newest-activity order its day
// of last activity, staff activity sequence and id; in the deadline order
// its next deadline and id. These are what the inbox already shows (or,
// for the sequence, only orders by), and a cursor only positions a list
// that ListCases still filters by the viewer's channels and recusals, so a
// forged one reveals nothing: it is not signed, only checked strictly.
type Cursor struct {
	set        bool
	before     bool // the page before the key (newer), not after it
	byDeadline bool
	noDue      bool // deadline order: the case has no next deadline (NULL)
	a, b, id   int64
}

// cursorVersion is the first byte of a cursor's binary form.
const cursorVersion = 1

const (
	cursorBefore = 1 << iota
	cursorByDeadline
	cursorNoDue
	cursorFlags = cursorBefore | cursorByDeadline | cursorNoDue
)

// cursorLen is a cursor's binary length: version, flags, three int64.
const cursorLen = 2 + 3*8

// ErrBadCursor is ParseCursor's answer to anything it did not make.
var ErrBadCursor = errors.New("not a cursor of the inbox")

// cursorAfter is the cursor of the page after (or, before, the page before)
// c in the given order.
func cursorAfter(byDeadline bool, c CaseSummary, before bool) Cursor {
	cur := Cursor{set: true, before: before, byDeadline: byDeadline, id: c.ID}
	switch {
	case !byDeadline:
		cur.a, cur.b = c.UpdatedAt.Unix(), c.activitySeq
	case c.nextDue.Valid:
		cur.a = c.nextDue.Int64
	default:
		cur.noDue = true
	}
	return cur
}

// IsZero reports whether c is the first page.
func (c Cursor) IsZero() bool { return !c.set }

// Before reports whether c names the page before (newer than) its case.
func (c Cursor) Before() bool { return c.before }

// String is c's text form for a URL: base64url of a small fixed binary
// form, "" for the first page.
func (c Cursor) String() string {
	if !c.set {
		return ""
	}
	buf := make([]byte, cursorLen)
	buf[0] = cursorVersion
	if c.before {
		buf[1] |= cursorBefore
	}
	if c.byDeadline {
		buf[1] |= cursorByDeadline
	}
	if c.noDue {
		buf[1] |= cursorNoDue
	}
	binary.BigEndian.PutUint64(buf[2:], uint64(c.a))
	binary.BigEndian.PutUint64(buf[10:], uint64(c.b))
	binary.BigEndian.PutUint64(buf[18:], uint64(c.id))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// ParseCursor reads a cursor's text form (String), strictly: anything else
// is ErrBadCursor. "" is the first page.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorLen) {
		return Cursor{}, ErrBadCursor
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(buf) != cursorLen || buf[0] != cursorVersion || buf[1]&^cursorFlags != 0 {
		return Cursor{}, ErrBadCursor
	}
	c := Cursor{set: true, before: buf[1]&cursorBefore != 0, byDeadline: buf[1]&cursorByDeadline != 0, noDue: buf[1]&cursorNoDue != 0,
		a: int64(binary.BigEndian.Uint64(buf[2:])), b: int64(binary.BigEndian.Uint64(buf[10:])), id: int64(binary.BigEndian.Uint64(buf[18:]))}
	// Days and sequences are not negative, ids are positive, and a case
	// without a deadline exists only in the deadline order, with no day.
	if c.a < 0 || c.b < 0 || c.id <= 0 || (c.noDue && (!c.byDeadline || c.a != 0)) || (c.byDeadline && c.b != 0) {
		return Cursor{}, ErrBadCursor
	}
	if s != c.String() {
		// One text form per cursor.
		return Cursor{}, ErrBadCursor
	}
	return c, nil
}
