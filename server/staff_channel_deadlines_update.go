package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffChannelDeadlines answers POST /staff/admin/channels/:id/deadlines:
// an administrator sets how many days after receipt the channel's new
// cases are to be acknowledged by ("ack_days") and how many months after
// acknowledgement feedback is due ("feedback_months"). Audited as
// channel.deadlines.
func (s *Server) handleStaffChannelDeadlines(c *fiber.Ctx) error {
	ch, err := s.channelOf(c)
	if err != nil {
		return err
	}
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	days, errDays := strconv.Atoi(form.Get("ack_days"))
	months, errMonths := strconv.Atoi(form.Get("feedback_months"))
	if errDays != nil || errMonths != nil || days < 1 || days > storage.MaxAckDays || months < 1 || months > storage.MaxFeedbackMonths {
		return staffBadRequest("Give the days to acknowledge as a number from 1 to %d, and the months to feedback from 1 to %d.",
			storage.MaxAckDays, storage.MaxFeedbackMonths)
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "channel.deadlines", Target: channelTarget(ch),
		Detail: fmt.Sprintf("acknowledge within %d days (was %d), feedback within %d months (was %d)", days, ch.AckDays, months, ch.FeedbackMonths)}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetChannelDeadlines(ctx, ch.ID, days, months)
	}); err != nil {
		return err
	}
	return c.Redirect(fmt.Sprintf("/staff/admin/channels/%d", ch.ID), http.StatusSeeOther)
}
