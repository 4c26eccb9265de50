package server

import (
	"net/http"
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
	Page     int
	Pages    int
	Total    int
	PrevPage int
	NextPage int
	// ChannelNames names each channel by id, for the Channel column.
	ChannelNames map[int64]string
}

// handleStaffInbox answers GET /staff/: lists cases, newest activity first,
// from the index alone: nothing is decrypted on the server.
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
	channels, err := s.db.Channels(c.UserContext())
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(channels))
	for _, ch := range channels {
		names[ch.ID] = ch.Text(storage.DefaultLanguage).Name
	}
	return s.renderStaff(c, http.StatusOK, "staff_inbox", "Inbox", inboxPage{
		Cases: cases, Status: f.Status, Statuses: statusOptions(true), StatusLabels: statusLabels,
		Deleted: c.Query("deleted") == "1", Assigned: assigned,
		Page: page, Pages: pages, Total: total, PrevPage: page - 1, NextPage: page + 1,
		ChannelNames: names,
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
