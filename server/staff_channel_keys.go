package server

import (
	"encoding/base64"
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type channelKeysMember struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	Recipient   string `json:"recipient"`
	Generations []int  `json:"generations"`
}

type channelKeys struct {
	Channel    int64               `json:"channel"`
	Generation int                 `json:"generation"`
	Recipient  string              `json:"recipient"`
	Wraps      map[string]string   `json:"wraps"`
	Members    []channelKeysMember `json:"members"`
}

// handleStaffChannelKeys answers GET /staff/channels/:id/keys: for the
// console's script, the channel's newest key generation and public key,
// the caller's own wraps of its identities (age files only their own
// identity opens), and its members with their public keys and the
// generations they hold. Members and administrators only: to anyone
// else the channel does not exist (404).
func (s *Server) handleStaffChannelKeys(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !ch.IsMember(me.ID) && me.Role != storage.RoleAdmin {
		return errNotFound
	}
	ctx := c.UserContext()
	own, err := s.db.ChannelKeyWraps(ctx, ch.ID, me.ID)
	if err != nil {
		return err
	}
	out := channelKeys{Channel: ch.ID, Generation: ch.Generation, Recipient: ch.Recipient,
		Wraps: map[string]string{}, Members: []channelKeysMember{}}
	for gen, w := range own {
		out.Wraps[strconv.Itoa(gen)] = base64.StdEncoding.EncodeToString(w)
	}
	staff, err := s.db.ListStaff(ctx)
	if err != nil {
		return err
	}
	for _, st := range staff {
		if !ch.IsMember(st.ID) {
			continue
		}
		wraps, err := s.db.ChannelKeyWraps(ctx, ch.ID, st.ID)
		if err != nil {
			return err
		}
		m := channelKeysMember{ID: st.ID, Username: st.Username, Recipient: st.AgeRecipient, Generations: []int{}}
		for gen := range wraps {
			m.Generations = append(m.Generations, gen)
		}
		sort.Ints(m.Generations)
		out.Members = append(out.Members, m)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
