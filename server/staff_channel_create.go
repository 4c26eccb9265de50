package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelCreate answers POST /staff/admin/channels/create:
// makes a channel from its texts (an English name at least). It has no
// team and no key yet.
func (s *Server) handleStaffChannelCreate(c *fiber.Ctx) error {
	form, err := s.staffChannelForm(c)
	if err != nil {
		return err
	}
	texts, err := channelTextsFrom(form)
	if err != nil {
		return err
	}
	var id int64
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.create"}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		var err error
		id, err = s.db.CreateChannel(ctx, texts)
		e.Target = fmt.Sprintf("channel %d (%s)", id, texts[storage.DefaultLanguage].Name)
		return err
	}); err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", id), http.StatusSeeOther)
}
