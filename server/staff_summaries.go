package server

import (
	"github.com/gofiber/fiber/v2"
)

// summaryRow is one case of GET /staff/summaries: its reference, channel
// and the channel key generation its report was sealed to (so that the
// script tries that key first), and its encrypted summary (base64 of an
// age file; null for a case received before summaries were kept).
type summaryRow struct {
	Ref        string `json:"ref"`
	Channel    int64  `json:"channel"`
	Generation int    `json:"generation"`
	Summary    []byte `json:"summary"` // encoding/json writes base64, or null
}

type summariesAnswer struct {
	Page  int          `json:"page"`
	Pages int          `json:"pages"`
	Total int          `json:"total"`
	Rows  []summaryRow `json:"rows"`
}

// handleStaffSummaries answers GET /staff/summaries: for the inbox's
// script (inbox.js), one page (inboxPageSize) of the inbox's list, with the
// same filters and order as GET /staff/, as JSON: each case's reference,
// channel and encrypted summary, and the page count, so that the search
// can walk every page. Only the cases the viewer may see (their channels,
// less their recusals), as on the inbox; only small purpose-made
// ciphertext, never reports. A page past the last has no rows.
func (s *Server) handleStaffSummaries(c *fiber.Ctx) error {
	me := staffOf(c)
	channels, err := s.db.Channels(c.UserContext())
	if err != nil {
		return err
	}
	q := inboxQueryOf(c, me, channels)
	q.filter.WithSummary = true
	page := askedPage(c)
	cases, total, err := s.db.ListCases(c.UserContext(), q.filter, (page-1)*inboxPageSize, inboxPageSize)
	if err != nil {
		return err
	}
	out := summariesAnswer{Page: page, Pages: pageCount(total), Total: total, Rows: []summaryRow{}}
	for _, cs := range cases {
		out.Rows = append(out.Rows, summaryRow{Ref: cs.Ref, Channel: cs.ChannelID, Generation: cs.ChannelGeneration, Summary: cs.Summary})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
