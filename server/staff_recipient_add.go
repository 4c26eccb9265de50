package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// handleStaffRecipientAdd answers POST /staff/admin/recipients/add: adds an
// organisation public key. It refuses a key of the other kind than the
// installation's: age cannot encrypt one file to post-quantum and classic
// keys together.
func (s *Server) handleStaffRecipientAdd(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	key := strings.TrimSpace(form.Get("recipient"))
	label := strings.TrimSpace(form.Get("label"))
	if len(label) > 100 {
		label = label[:100]
	}
	one, err := crypto.ParseRecipientsString(key)
	if err != nil || one.Len() != 1 {
		return s.recipientsPage(c, http.StatusBadRequest,
			"That is not an age public key. Paste one line starting with age1pq1… (post-quantum) or age1… (classic), "+
				"as printed by `candour keygen` or age-keygen. Never paste a secret key (AGE-SECRET-KEY-…).", "")
	}
	if kind := s.recipients().Kind(); one.Kind() != kind {
		return s.recipientsPage(c, http.StatusBadRequest, fmt.Sprintf(
			"This installation uses %s keys, and that key is %s. age cannot encrypt one file to both kinds, "+
				"so every key must be of the same kind.", kind, one.Kind()), "")
	}
	ctx := c.UserContext()
	me := staffOf(c)
	e := storage.AuditEntry{Actor: me.Username, Action: "recipient.add", Target: label, Detail: abbreviate(one.Strings()[0])}
	if err := s.db.Change(ctx, &e, func(ctx context.Context) error {
		_, err := s.db.AddOrgRecipient(ctx, one.Strings()[0], label, me.Username)
		return err
	}); errors.Is(err, storage.ErrDuplicate) {
		return s.recipientsPage(c, http.StatusConflict, "That key is already there.", "")
	} else if err != nil {
		return err
	}
	if err := s.reloadRecipients(ctx); err != nil {
		return err
	}
	return s.recipientsPage(c, http.StatusOK, "", "Key added. It can read reports and messages received from now on, "+
		"but not those received before: they were encrypted to the keys of their time.")
}
