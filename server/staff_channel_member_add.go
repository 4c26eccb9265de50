package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelMemberAdd answers POST
// /staff/admin/channels/:id/members/add: puts a staff member in a
// channel's team. If the channel has a key, they read its cases once a
// member grants it to them (POST /staff/channels/:id/grant).
func (s *Server) handleStaffChannelMemberAdd(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	id, err := strconv.ParseInt(form.Get("staff"), 10, 64)
	if err != nil {
		return errNotFound
	}
	st, err := s.db.StaffByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && st.Disabled) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.member.add", Target: channelTarget(ch), Detail: st.Username}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.AddChannelMember(ctx, ch.ID, st.ID)
	}); err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
