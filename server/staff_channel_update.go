package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelUpdate answers POST /staff/admin/channels/:id/update:
// replaces a channel's texts and sets whether it is archived (an archived
// channel takes no new reports; its cases stay).
func (s *Server) handleStaffChannelUpdate(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	form, err := s.staffChannelForm(c)
	if err != nil {
		return err
	}
	texts, err := channelTextsFrom(form)
	if err != nil {
		return err
	}
	archived := form.Get("archived") == "on"
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.update", Target: channelTarget(ch),
		Detail: fmt.Sprintf("name %q, archived %v", texts[storage.DefaultLanguage].Name, archived)}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.UpdateChannel(ctx, ch.ID, texts, archived)
	}); err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
