package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelMemberAdd answers POST
// /staff/admin/channels/:id/members/add: puts a staff member in a
// channel's team. If the channel has a key, they read its cases once a
// member grants it to them (POST /staff/channels/:id/grant).
func (s *Server) handleStaffChannelMemberAdd(c *fiber.Ctx) error {
	ch, _, st, err := s.channelStaffForm(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.member.add", Target: channelTarget(ch), Detail: st.Username}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.AddChannelMember(ctx, ch.ID, st.ID)
	})
	if errors.Is(err, storage.ErrExcluded) {
		return &staffError{status: http.StatusConflict, title: "Excluded from this channel",
			message: st.Username + " is excluded from this channel for a conflict of interest. End the exclusion first if it no longer applies.",
			back:    fmt.Sprintf("/staff/admin/channels/%d", ch.ID)}
	}
	if errors.Is(err, storage.ErrStatisticsOnly) {
		return &staffError{status: http.StatusConflict, title: "A statistics-only account",
			message: st.Username + " has a statistics-only account, which is in no channel's team.",
			back:    fmt.Sprintf("/staff/admin/channels/%d", ch.ID)}
	}
	if err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
