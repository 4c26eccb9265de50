package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// handleStaffChannelKeyCreate answers POST /staff/channels/:id/key: stores
// a new generation of a channel's key, made in an administrator's or a
// member's browser: its public key (recipient) and its identity wrapped
// to each remaining member's own key (wraps: JSON staff id → base64 age
// file), replacing generation previous (0 for the first). With remove (a
// staff id), that member leaves the team in the same change, so that the
// new generation never reaches them. Answers {"generation": N}; 409 if
// previous is no longer the newest.
func (s *Server) handleStaffChannelKeyCreate(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !ch.IsMember(me.ID) && me.Role != storage.RoleAdmin {
		return errNotFound
	}
	form, err := s.channelKeyForm(c, map[string]int{"previous": 64, "recipient": maxRecipientField, "wraps": maxWrapsField, "remove": 64})
	if err != nil {
		return err
	}
	previous, err := strconv.Atoi(form["previous"])
	if err != nil || previous < 0 {
		return staffBadRequest("The form lacks the previous generation, the public key or the wrapped keys.")
	}
	recipient := strings.TrimSpace(form["recipient"])
	var wraps map[int64][]byte
	if v, ok := form["wraps"]; ok {
		if wraps, err = parseWraps(v); err != nil {
			return err
		}
	}
	var remove int64
	if v, ok := form["remove"]; ok && v != "" {
		if remove, err = strconv.ParseInt(v, 10, 64); err != nil || remove <= 0 {
			return staffBadRequest("The member to remove is not an id.")
		}
	}
	if previous < 0 || recipient == "" || wraps == nil {
		return staffBadRequest("The form lacks the previous generation, the public key or the wrapped keys.")
	}
	if len(wraps) == 0 && remove == 0 {
		return staffBadRequest("The channel has no member to give its key to: add members first.")
	}
	one, err := crypto.ParseRecipientsString(recipient)
	if err != nil || one.Len() != 1 {
		return staffBadRequest("The channel's public key is not one age public key.")
	}
	if one.Kind() != s.recipients().Kind() {
		return staffBadRequest("The channel's key must be %s, like the organisation's keys.", s.recipients().Kind())
	}
	recipient = one.Strings()[0]
	ctx := c.UserContext()
	var removed storage.Staff
	if remove != 0 {
		if !ch.IsMember(remove) {
			return staffBadRequest("The member to remove is not in the channel.")
		}
		if removed, err = s.db.StaffByID(ctx, remove); err != nil {
			return err
		}
	}
	for id := range wraps {
		st, err := s.db.StaffByID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return staffBadRequest("A wrapped key is for someone who is not a member.")
		}
		if err != nil {
			return err
		}
		if st.AgeRecipient == "" {
			return staffBadRequest("%s has not registered their own key yet, so the channel's key cannot be given to them.", st.Username)
		}
	}
	var gen int
	e := storage.AuditEntry{Actor: me.Username, Action: "channel.key.create", Target: channelTarget(ch)}
	err = s.db.Change(ctx, &e, func(ctx context.Context) error {
		if remove != 0 {
			if err := s.db.RemoveChannelMember(ctx, ch.ID, remove); err != nil {
				return err
			}
		}
		var err error
		if gen, err = s.db.AddChannelKey(ctx, ch.ID, previous, recipient, wraps); err != nil {
			return err
		}
		e.Detail = fmt.Sprintf("generation %d", gen)
		if remove != 0 {
			e.Detail += ", removed " + removed.Username
		}
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrStaleGeneration):
		return errStaleChannelKey
	case errors.Is(err, storage.ErrWrapsDoNotMatchMembers):
		return staffBadRequest("The channel's key must be wrapped to every remaining member, and nobody else.")
	case errors.Is(err, storage.ErrNotFound):
		return staffBadRequest("The member to remove is no longer in the channel.")
	case err != nil:
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"generation": gen})
}
