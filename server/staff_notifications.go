package server

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
)

// notificationsPage is a staff member's own notification settings:
// whether the installation can mail at all, and the address they gave.
type notificationsPage struct {
	Enabled  bool   // a mail server is configured (--smtp-host)
	Email    string // their address, or empty: not opted in
	Entered  string // what they typed, shown again with an error
	Interval string // how often mails go out, at most
	MaxLen   int
	Error    string
	Notice   string
}

func (s *Server) notificationsPage(c *fiber.Ctx, status int, email, entered, msg, notice string) error {
	return s.renderStaff(c, status, "staff_notifications", "Notifications", notificationsPage{
		Enabled: s.cfg.SMTP.Enabled(), Email: email, Entered: entered, Interval: humanInterval(s.cfg.NotifyInterval),
		MaxLen: maxMailbox, Error: msg, Notice: notice,
	})
}

// humanInterval says d in words for the settings page: "hour", "2 hours",
// "30 minutes", "day".
func humanInterval(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d == 24*time.Hour:
		return "day"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	default:
		return d.String()
	}
}
