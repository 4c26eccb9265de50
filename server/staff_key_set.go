package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// handleStaffKeySet answers POST /staff/key: registers the logged-in staff
// member's own age public key (X25519 age1… or post-quantum age1pq1…). A
// secret key pasted by mistake is refused, and never echoed or logged.
func (s *Server) handleStaffKeySet(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	key := strings.TrimSpace(form.Get("recipient"))
	if isSecretKey(key) {
		return s.keyPage(c, http.StatusBadRequest, me.AgeRecipient,
			"That is a secret key: never paste it anywhere. Paste the public key (age1…) that `candour keygen -y` prints.", "")
	}
	one, err := crypto.ParseRecipientsString(key)
	if err != nil || one.Len() != 1 {
		return s.keyPage(c, http.StatusBadRequest, me.AgeRecipient,
			"That is not an age public key. Paste the one line starting with age1pq1… (post-quantum) or age1… (classic) "+
				"that `candour keygen -y` prints for your identity file.", "")
	}
	rcpt := one.Strings()[0]
	e := storage.AuditEntry{Actor: me.Username, Action: "staff.key.set", Target: me.Username, Detail: auditKey(rcpt)}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetStaffRecipient(ctx, me.ID, rcpt)
	}); err != nil {
		return err
	}
	return s.keyPage(c, http.StatusOK, rcpt, "", "Your key is saved. Channel keys will be wrapped to it from now on; "+
		"keep the identity file it belongs to safe, on your own device.")
}
