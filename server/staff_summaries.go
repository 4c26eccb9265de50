package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
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

// summariesAnswer is a page of GET /staff/summaries. Next is the cursor
// of the following (older) page, "" after the last; Total counts the
// cases of the list, up to storage.CountCap (TotalMore: more than that),
// and only on the first page (0 on the others: the count is not repeated
// for every page a search walks).
type summariesAnswer struct {
	At        string       `json:"at"`
	Next      string       `json:"next"`
	Total     int          `json:"total"`
	TotalMore bool         `json:"total_more"`
	Rows      []summaryRow `json:"rows"`
}

// handleStaffSummaries answers GET /staff/summaries: for the inbox's
// script (inbox.js), one page (inboxPageSize) of the inbox's list, with the
// same filters, order and cursors (at=) as GET /staff/, as JSON: each
// case's reference, channel and encrypted summary, and the next page's
// cursor, so that the search can walk every page. Only the cases the
// viewer may see (their channels, less their recusals), as on the inbox;
// only small purpose-made ciphertext, never reports. A cursor past the
// last case gives no rows; a cursor the inbox did not make, the first page.
func (s *Server) handleStaffSummaries(c *fiber.Ctx) error {
	me := staffOf(c)
	channels, err := s.db.Channels(c.UserContext())
	if err != nil {
		return err
	}
	q := inboxQueryOf(c, me, channels)
	q.filter.WithSummary = true
	cases, pager, err := s.listInbox(c, &q)
	if err != nil {
		return err
	}
	out := summariesAnswer{At: q.at.String(), Next: pager.Older.String(), Rows: []summaryRow{}}
	if q.at.IsZero() {
		out.Total = len(cases)
		if !pager.Older.IsZero() {
			if out.Total, out.TotalMore, err = s.db.CountCases(c.UserContext(), q.filter, storage.CountCap); err != nil {
				return err
			}
		}
	}
	for _, cs := range cases {
		out.Rows = append(out.Rows, summaryRow{Ref: cs.Ref, Channel: cs.ChannelID, Generation: cs.ChannelGeneration, Summary: cs.Summary})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
