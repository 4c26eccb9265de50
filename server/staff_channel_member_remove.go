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

// handleStaffChannelMemberRemove answers POST
// /staff/admin/channels/:id/members/remove: takes a staff member out of
// a channel that has no key yet. Once it has one, a removal must come
// with a new key generation that leaves them out (POST
// /staff/channels/:id/key with remove), made in a browser: the server
// cannot make keys for the team.
func (s *Server) handleStaffChannelMemberRemove(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(form.Get("staff"), 10, 64)
	if err != nil || !ch.IsMember(id) {
		return errNotFound
	}
	if ch.Generation > 0 {
		return &staffError{status: http.StatusConflict, title: "A new channel key is needed",
			message: "This channel has a key, so removing a member needs a new key that they do not get. " +
				"Load your own key on the channel's page in the console and use the remove button there: " +
				"the page makes the new key in your browser. Nothing was changed.",
			back: fmt.Sprintf("/staff/admin/channels/%d", ch.ID)}
	}
	ctx := c.UserContext()
	st, err := s.db.StaffByID(ctx, id)
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.member.remove", Target: channelTarget(ch), Detail: st.Username}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.RemoveChannelMember(ctx, ch.ID, id)
	}); errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
