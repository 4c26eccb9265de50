package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelExcludeEnd answers POST
// /staff/admin/channels/:id/exclude/end: lifts a staff member's exclusion
// from a channel (they may then be added to its team), in the audit trail.
func (s *Server) handleStaffChannelExcludeEnd(c *fiber.Ctx) error {
	ch, _, st, err := s.channelStaffForm(c)
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.exclude.end", Target: channelTarget(ch), Detail: st.Username}
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.EndChannelExclusion(ctx, ch.ID, st.ID)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
