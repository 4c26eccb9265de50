package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

const inboxPageSize = 50

type inboxPage struct {
	Cases    []storage.CaseSummary
	Status   string
	Statuses []statusOption
	// StatusLabels is how each status reads.
	StatusLabels map[string]string
	// Deleted is set after an administrator deleted a case.
	Deleted  bool
	Assigned string // "", "me" or "none"
	Deadline string // "", storage.DeadlineOverdue or storage.DeadlineDue
	Sort     string // "" (newest activity first) or "deadline"
	// Total counts the cases these filters select, up to
	// storage.CountCap; TotalMore says there are more than that.
	Total     int
	TotalMore bool
	CountCap  string // storage.CountCap as it reads: "10,000"
	// At is this page's cursor ("" for the first page); FirstURL,
	// PrevURL and NextURL are the first, newer and older pages with the
	// same filters ("" where there is none).
	At       string
	Next     string // the older page's cursor, for inbox.js
	FirstURL string
	PrevURL  string
	NextURL  string
	// ChannelNames names each channel by id, for the Channel column.
	ChannelNames map[int64]string
	// MyOverdue are the viewer's own overdue cases, most overdue first (at
	// most a page of them; MyOverdueTotal counts them, up to myOverdueCap,
	// MyOverdueMore says there are more).
	MyOverdue      []storage.CaseSummary
	MyOverdueTotal int
	MyOverdueMore  bool
	DueSoonDays    int
	// Channel is the channel filtered by (0: every one of the viewer's),
	// Channels those the viewer may choose; From and To the received
	// days filtered by (YYYY-MM-DD, or empty).
	Channel  int64
	Channels []channelOption
	From, To string
	// Ignored says which filters asked for were ignored, and why.
	Ignored []string
	// SummariesURL is GET /staff/summaries with this page's filters, for
	// the inbox's script (add at=cursor).
	SummariesURL string
	// Bulk is the bulk actions' form (staff_bulk.go).
	Bulk bulkForm
}

// handleStaffInbox answers GET /staff/: lists cases, newest activity first
// (or open cases by nearest deadline), filtered by status, assignee,
// deadline, channel and received days, after the viewer's own overdue
// cases, from the indexes alone: nothing is decrypted on the server. The
// console's script (inbox.js) then fetches the page's encrypted summaries
// from GET /staff/summaries with the same filters and decrypts them.
//
// Pages are found by a cursor (at=, storage.Cursor), not a number, and the
// count stops at storage.CountCap: no page costs more with a million cases
// than with a thousand.
func (s *Server) handleStaffInbox(c *fiber.Ctx) error {
	me := staffOf(c)
	channels, err := s.db.Channels(c.UserContext())
	if err != nil {
		return err
	}
	q := inboxQueryOf(c, me, channels)
	f := q.filter
	cases, pager, err := s.listInbox(c, &q)
	if err != nil {
		return err
	}
	// A first page that holds the whole list is its own count.
	total, more := len(cases), false
	if !q.at.IsZero() || !pager.Older.IsZero() {
		if total, more, err = s.db.CountCases(c.UserContext(), f, storage.CountCap); err != nil {
			return err
		}
	}
	// The viewer's own overdue cases come first, whatever the filters.
	mineFilter := storage.CaseFilter{ViewerID: me.ID, AssigneeID: me.ID, Deadline: storage.DeadlineOverdue, ByDeadline: true}
	mine, minePager, err := s.db.ListCases(c.UserContext(), mineFilter, storage.Cursor{}, inboxPageSize)
	if err != nil {
		return err
	}
	mineTotal, mineMore := len(mine), false
	if !minePager.Older.IsZero() {
		if mineTotal, mineMore, err = s.db.CountCases(c.UserContext(), mineFilter, myOverdueCap); err != nil {
			return err
		}
	}
	names := make(map[int64]string, len(channels))
	for _, ch := range channels {
		names[ch.ID] = ch.Text(storage.DefaultLanguage).Name
	}
	bulk, err := s.bulkForm(c)
	if err != nil {
		return err
	}
	pageURL := func(at storage.Cursor) string {
		v := q.values()
		if at.IsZero() {
			return ""
		}
		v.Set("at", at.String())
		return "/staff/?" + v.Encode()
	}
	first := ""
	if !q.at.IsZero() {
		first = "/staff/?" + q.values().Encode()
	}
	return s.renderStaff(c, http.StatusOK, "staff_inbox", "Inbox", inboxPage{
		Cases: cases, Status: f.Status, Statuses: statusOptions(true), StatusLabels: statusLabels,
		Deleted: c.Query("deleted") == "1", Assigned: q.assigned, Deadline: f.Deadline, Sort: q.sort,
		Total: total, TotalMore: more, CountCap: countCapText,
		At: q.at.String(), Next: pager.Older.String(), FirstURL: first, PrevURL: pageURL(pager.Newer), NextURL: pageURL(pager.Older),
		ChannelNames: names, MyOverdue: mine, MyOverdueTotal: mineTotal, MyOverdueMore: mineMore, DueSoonDays: storage.DueSoonDays,
		Channel: f.ChannelID, Channels: q.channels, From: q.from, To: q.to, Ignored: q.ignored,
		SummariesURL: "/staff/summaries?" + q.values().Encode(),
		Bulk:         bulk,
	})
}

// listInbox reads the page of the inbox q asks for: the first page, with a
// message in q.ignored, if its cursor is not one the inbox made for this
// order. The page of a cursor past the first full page is the first page
// (storage.ListCases), and then q.at is zero too.
func (s *Server) listInbox(c *fiber.Ctx, q *inboxQuery) ([]storage.CaseSummary, storage.Pager, error) {
	cases, pager, err := s.db.ListCases(c.UserContext(), q.filter, q.at, inboxPageSize)
	if errors.Is(err, storage.ErrCursorOrder) {
		q.ignored = append(q.ignored, badCursorMessage)
		q.at = storage.Cursor{}
		cases, pager, err = s.db.ListCases(c.UserContext(), q.filter, q.at, inboxPageSize)
	}
	if err != nil {
		return nil, storage.Pager{}, err
	}
	if q.at.Before() && pager.Newer.IsZero() {
		q.at = storage.Cursor{}
	}
	return cases, pager, nil
}

// myOverdueCap is how far the inbox counts the viewer's overdue cases. It
// is lower than the list's (storage.CountCap): this count is on every
// page, whatever the filters, and is found by walking every overdue case
// of the viewer's channels in deadline order.
const myOverdueCap = 1000

// countCapText is storage.CountCap as the inbox writes it.
var countCapText = func() string {
	s := strconv.Itoa(storage.CountCap)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}()

// badCursorMessage says that the page asked for was not found.
const badCursorMessage = "The page asked for is not one this inbox links to (from another sort order, or changed): the first page is shown."

// inboxQuery is the inbox's filters as asked in a query string, for the
// inbox page and GET /staff/summaries alike: what is valid is used, and
// what is not is ignored with a message (never a failure).
type inboxQuery struct {
	filter   storage.CaseFilter
	assigned string // "", "me" or "none"
	sort     string // "" or "deadline"
	from, to string // the received days, YYYY-MM-DD, as used
	// at is the page asked for (the zero Cursor: the first page).
	at storage.Cursor
	// channels are the channels the viewer may filter by: those they are
	// a member of (they see no other channel's cases).
	channels []channelOption
	ignored  []string // why a filter asked for was ignored
}

type channelOption struct {
	ID   int64
	Name string
}

// maxInboxYear bounds the received days a filter may name.
const maxInboxYear = 9999

func inboxQueryOf(c *fiber.Ctx, me *staffUser, channels []storage.Channel) inboxQuery {
	q := inboxQuery{filter: storage.CaseFilter{ViewerID: me.ID}}
	f := &q.filter
	if st := c.Query("status"); storage.ValidStatus(st) {
		f.Status = st
	}
	switch a := c.Query("assigned"); a {
	case "me":
		f.AssigneeID, q.assigned = me.ID, a
	case "none":
		f.AssigneeID, q.assigned = -1, a
	}
	switch d := c.Query("deadline"); d {
	case storage.DeadlineOverdue, storage.DeadlineDue:
		f.Deadline = d
	}
	if c.Query("sort") == "deadline" {
		q.sort, f.ByDeadline = "deadline", true
	}
	for _, ch := range channels {
		if ch.IsMember(me.ID) {
			q.channels = append(q.channels, channelOption{ID: ch.ID, Name: ch.Text(storage.DefaultLanguage).Name})
		}
	}
	if v := c.Query("channel"); v != "" {
		id, _ := strconv.ParseInt(v, 10, 64)
		for _, o := range q.channels {
			if o.ID == id {
				f.ChannelID = id
			}
		}
		if f.ChannelID == 0 {
			q.ignored = append(q.ignored, "The channel asked for is not one of yours: cases of every channel of yours are listed.")
		}
	}
	if at, err := storage.ParseCursor(c.Query("at")); err == nil {
		q.at = at
	} else {
		q.ignored = append(q.ignored, badCursorMessage)
	}
	day := func(name, what string) time.Time {
		v := c.Query(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil || t.Year() < 1 || t.Year() > maxInboxYear {
			q.ignored = append(q.ignored, fmt.Sprintf("%q is not a day (YYYY-MM-DD): the %s filter was ignored.", cutForMessage(v), what))
			return time.Time{}
		}
		return t
	}
	from, to := day("from", "“received from”"), day("to", "“received to”")
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		q.ignored = append(q.ignored, "The “received from” day is after the “received to” day: both were ignored.")
		from, to = time.Time{}, time.Time{}
	}
	if !from.IsZero() {
		f.ReceivedFrom, q.from = from, from.Format(time.DateOnly)
	}
	if !to.IsZero() {
		f.ReceivedTo, q.to = to, to.Format(time.DateOnly)
	}
	return q
}

// cutForMessage shortens what a user typed for quoting in a message.
func cutForMessage(v string) string {
	if r := []rune(strings.ToValidUTF8(v, "")); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return strings.ToValidUTF8(v, "")
}

// values is the query string of the filters in use (not the page).
func (q inboxQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.filter.Status, "assigned": q.assigned, "deadline": q.filter.Deadline,
		"sort": q.sort, "from": q.from, "to": q.to} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.filter.ChannelID != 0 {
		v.Set("channel", strconv.FormatInt(q.filter.ChannelID, 10))
	}
	return v
}

// maxPage bounds the page number asked for, so that its offset
// ((page-1) × inboxPageSize) never overflows.
const maxPage = 1 << 30

// askedPage is the page number in c's query, for the audit trail (the
// inbox pages by cursor): garbage, zero and negative numbers are page 1,
// and a number too large for any list is maxPage (the handler then shows
// the last page).
func askedPage(c *fiber.Ctx) int {
	// Atoi gives 0 for garbage, and the nearest int with an error for a
	// number out of range.
	page, _ := strconv.Atoi(c.Query("page"))
	return min(max(page, 1), maxPage)
}

// pageCount is how many pages of inboxPageSize a list of total holds: at
// least one, empty.
func pageCount(total int) int { return max(1, (total+inboxPageSize-1)/inboxPageSize) }
