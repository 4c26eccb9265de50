package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffNotificationsUpdate answers POST /staff/notifications: the
// logged-in staff member opts in with an address (action "save") or out
// (action "stop"). The audit trail records which, never the address.
func (s *Server) handleStaffNotificationsUpdate(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	var email, action, notice string
	switch form.Get("action") {
	case "stop":
		action, notice = "staff.notify.off", "You will get no more notifications. Your address is deleted."
	case "save":
		if !s.cfg.SMTP.Enabled() {
			return s.notificationsPage(c, http.StatusBadRequest, me.NotifyEmail, "",
				"This installation sends no mail: the operator has not configured a mail server.", "")
		}
		entered := strings.TrimSpace(form.Get("email"))
		if email, err = parseMailbox(entered); err != nil {
			// Shown again only if short: it is what they typed, escaped.
			if len(entered) > maxMailbox {
				entered = ""
			}
			return s.notificationsPage(c, http.StatusBadRequest, me.NotifyEmail, entered,
				"That is not an email address Candour can use ("+err.Error()+"). Enter one address, like name@example.org.", "")
		}
		action, notice = "staff.notify.on", "Saved. You will get a notification at most once every "+
			humanInterval(s.cfg.NotifyInterval)+" when there is something for you."
	default:
		return errNotFound
	}
	e := storage.AuditEntry{Actor: me.Username, Action: action, Target: me.Username}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetNotifyEmail(ctx, me.ID, email)
	}); err != nil {
		return err
	}
	return s.notificationsPage(c, http.StatusOK, email, "", "", notice)
}
