package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelIdentity answers POST /staff/admin/channels/:id/identity:
// an administrator sets whether the channel's report form offers the
// optional identity section ("offer": "on" or "off"). Audited as
// channel.identity.
func (s *Server) handleStaffChannelIdentity(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	on := form.Get("offer")
	if on != "on" && on != "off" {
		return staffBadRequest("Say whether the channel offers the identity section.")
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.identity", Target: channelTarget(ch), Detail: on}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetChannelOfferIdentity(ctx, ch.ID, on == "on")
	}); err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
