package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelTeam answers GET /staff/channels/:id: a channel's page
// for a member of its team who is not an administrator: the team, who
// holds which generations of the key, and the button that grants the key
// to a member who lacks it (made in this member's browser, with their own
// key loaded). To anyone outside the team the channel does not exist.
func (s *Server) handleStaffChannelTeam(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	if me := staffOf(c); !ch.IsMember(me.ID) && me.Role != storage.RoleAdmin {
		return errNotFound
	}
	return s.renderChannelPage(c, ch)
}
