package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelGrant answers POST /staff/channels/:id/grant: a
// member who holds the channel's identities gives them to another member
// (staff), wrapped in their browser to that member's own key (wraps:
// JSON generation → base64 age file). Members only: to anyone else the
// channel does not exist.
func (s *Server) handleStaffChannelGrant(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !ch.IsMember(me.ID) {
		return errNotFound
	}
	form, err := s.channelKeyForm(c, map[string]int{"staff": 64, "wraps": maxWrapsField})
	if err != nil {
		return err
	}
	grantee, err := strconv.ParseInt(form["staff"], 10, 64)
	if err != nil || grantee <= 0 {
		return staffBadRequest("The form lacks the member or the wrapped keys.")
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(form["wraps"]), &raw); err != nil {
		return staffBadRequest("The wrapped keys are not a JSON object of base64 age files.")
	}
	if grantee == 0 || len(raw) == 0 || len(raw) > maxWraps {
		return staffBadRequest("The form lacks the member or the wrapped keys.")
	}
	wraps := make(map[int][]byte, len(raw))
	var gens []int
	for k, v := range raw {
		gen, err := strconv.Atoi(k)
		if err != nil || gen < 1 || gen > ch.Generation {
			return staffBadRequest("A wrapped key names a generation the channel does not have.")
		}
		if wraps[gen], err = parseWrap(v); err != nil {
			return staffBadRequest("A wrapped key is not an age file of acceptable size.")
		}
		gens = append(gens, gen)
	}
	sort.Ints(gens)
	if !ch.IsMember(grantee) {
		return staffBadRequest("That staff member is not in the channel.")
	}
	ctx := c.UserContext()
	st, err := s.db.StaffByID(ctx, grantee)
	if err != nil {
		return err
	}
	if st.AgeRecipient == "" {
		return staffBadRequest("%s has not registered their own key yet.", st.Username)
	}
	e := storage.AuditEntry{Actor: me.Username, Action: "channel.key.grant", Target: channelTarget(ch),
		Detail: fmt.Sprintf("%s, generations %v", st.Username, gens)}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		return s.db.AddChannelKeyWraps(ctx, ch.ID, grantee, wraps)
	}); errors.Is(err, storage.ErrNotFound) {
		return staffBadRequest("That staff member is no longer in the channel.")
	} else if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"staff": grantee, "generations": gens})
}
