package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	mr, _, err := s.staffMultipart(c)
	if err != nil {
		return err
	}
	var grantee int64
	var raw map[string]string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return staffBadRequest("The form data was incomplete or malformed.")
		}
		limit := 64
		if part.FormName() == "wraps" {
			limit = maxWrapsField
		}
		v, err := readField(part, limit)
		if err != nil {
			return staffBadRequest("A field of the form was too long or could not be read.")
		}
		switch part.FormName() {
		case "staff":
			if grantee, err = strconv.ParseInt(v, 10, 64); err != nil || grantee <= 0 {
				return staffBadRequest("The member is not an id.")
			}
		case "wraps":
			if err := json.Unmarshal([]byte(v), &raw); err != nil {
				return staffBadRequest("The wrapped keys are not a JSON object of base64 age files.")
			}
		default:
			return staffBadRequest("The form had an unexpected field.")
		}
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
