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
	Statuses []string
	Assigned string // "", "me" or "none"
	Page     int
	Pages    int
	Total    int
	PrevPage int
	NextPage int
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
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	cases, total, err := s.db.ListCases(c.UserContext(), f, (page-1)*inboxPageSize, inboxPageSize)
	if err != nil {
		return err
	}
	pages := max(1, (total+inboxPageSize-1)/inboxPageSize)
	return s.renderStaff(c, http.StatusOK, "staff_inbox", "Inbox", inboxPage{
		Cases: cases, Status: f.Status, Statuses: caseStatuses, Assigned: assigned,
		Page: page, Pages: pages, Total: total, PrevPage: page - 1, NextPage: page + 1,
	})
}
