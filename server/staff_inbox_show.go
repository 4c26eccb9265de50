package server

import (
	"net/http"
	"net/url"
	"strconv"

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
	Page     int
	Pages    int
	Total    int
	// PrevURL and NextURL are the neighbouring pages with the same filters.
	PrevURL string
	NextURL string
	// ChannelNames names each channel by id, for the Channel column.
	ChannelNames map[int64]string
	// MyOverdue are the viewer's own overdue cases, most overdue first (at
	// most a page of them; MyOverdueTotal counts them all).
	MyOverdue      []storage.CaseSummary
	MyOverdueTotal int
	DueSoonDays    int
	// Bulk is the bulk actions' form (staff_bulk.go).
	Bulk bulkForm
}

// handleStaffInbox answers GET /staff/: lists cases, newest activity first
// (or open cases by nearest deadline), filtered by status, assignee and
// deadline, after the viewer's own overdue cases, from the indexes alone:
// nothing is decrypted on the server.
func (s *Server) handleStaffInbox(c *fiber.Ctx) error {
	me := staffOf(c)
	f := storage.CaseFilter{ViewerID: me.ID}
	if st := c.Query("status"); storage.ValidStatus(st) {
		f.Status = st
	}
	assigned := c.Query("assigned")
	switch assigned {
	case "me":
		f.AssigneeID = me.ID
	case "none":
		f.AssigneeID = -1
	default:
		assigned = ""
	}
	switch d := c.Query("deadline"); d {
	case storage.DeadlineOverdue, storage.DeadlineDue:
		f.Deadline = d
	}
	sort := ""
	if c.Query("sort") == "deadline" {
		sort, f.ByDeadline = "deadline", true
	}
	page := askedPage(c)
	cases, total, err := s.db.ListCases(c.UserContext(), f, (page-1)*inboxPageSize, inboxPageSize)
	if err != nil {
		return err
	}
	pages := pageCount(total)
	if page > pages {
		page = pages
		if cases, total, err = s.db.ListCases(c.UserContext(), f, (page-1)*inboxPageSize, inboxPageSize); err != nil {
			return err
		}
		pages = pageCount(total)
	}
	// The viewer's own overdue cases come first, whatever the filters.
	mine, mineTotal, err := s.db.ListCases(c.UserContext(), storage.CaseFilter{ViewerID: me.ID, AssigneeID: me.ID,
		Deadline: storage.DeadlineOverdue, ByDeadline: true}, 0, inboxPageSize)
	if err != nil {
		return err
	}
	channels, err := s.db.Channels(c.UserContext())
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(channels))
	for _, ch := range channels {
		names[ch.ID] = ch.Text(storage.DefaultLanguage).Name
	}
	bulk, err := s.bulkForm(c)
	if err != nil {
		return err
	}
	pageURL := func(p int) string {
		q := url.Values{}
		for k, v := range map[string]string{"status": f.Status, "assigned": assigned, "deadline": f.Deadline, "sort": sort} {
			if v != "" {
				q.Set(k, v)
			}
		}
		q.Set("page", strconv.Itoa(p))
		return "/staff/?" + q.Encode()
	}
	return s.renderStaff(c, http.StatusOK, "staff_inbox", "Inbox", inboxPage{
		Cases: cases, Status: f.Status, Statuses: statusOptions(true), StatusLabels: statusLabels,
		Deleted: c.Query("deleted") == "1", Assigned: assigned, Deadline: f.Deadline, Sort: sort,
		Page: page, Pages: pages, Total: total, PrevURL: pageURL(page - 1), NextURL: pageURL(page + 1),
		ChannelNames: names, MyOverdue: mine, MyOverdueTotal: mineTotal, DueSoonDays: storage.DueSoonDays,
		Bulk: bulk,
	})
}

// maxPage bounds the page number asked for, so that its offset
// ((page-1) × inboxPageSize) never overflows.
const maxPage = 1 << 30

// askedPage is the page number in c's query, for the inbox and the audit
// trail: garbage, zero and negative numbers are page 1, and a number too
// large for any list is maxPage (the handler then shows the last page).
func askedPage(c *fiber.Ctx) int {
	// Atoi gives 0 for garbage, and the nearest int with an error for a
	// number out of range.
	page, _ := strconv.Atoi(c.Query("page"))
	return min(max(page, 1), maxPage)
}

// pageCount is how many pages of inboxPageSize a list of total holds: at
// least one, empty.
func pageCount(total int) int { return max(1, (total+inboxPageSize-1)/inboxPageSize) }
