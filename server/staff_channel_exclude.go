package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelExclude answers POST /staff/admin/channels/:id/exclude:
// records that a staff member has a conflict of interest with a whole
// channel (say, they served in the force it handles), with the reason in
// the audit trail. They cannot be added to its team, so never receive its
// key, until the exclusion ends. A current member must be removed first:
// for a channel with a key that makes a new key without them.
func (s *Server) handleStaffChannelExclude(c *fiber.Ctx) error {
	ch, form, st, err := s.channelStaffForm(c)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/staff/admin/channels/%d", ch.ID)
	reason := strings.TrimSpace(form.Get("reason"))
	if reason == "" || utf8.RuneCountInString(reason) > maxRecusalReason || !utf8.ValidString(reason) {
		return staffBadRequest("Give the reason for the conflict of interest, in at most %d characters.", maxRecusalReason)
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.exclude", Target: channelTarget(ch), Detail: st.Username + ": " + reason}
	err = s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.ExcludeFromChannel(ctx, ch.ID, st.ID, reason)
	})
	if errors.Is(err, storage.ErrStillMember) {
		return &staffError{status: http.StatusConflict, title: "Still a member",
			message: st.Username + " is in this channel's team. Remove them from the team first (with your key loaded, if the channel has a key), then record the exclusion.",
			back:    back}
	}
	if err != nil {
		return err
	}
	return c.Redirect(back, http.StatusSeeOther)
}
