package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type recipientsPage struct {
	Kind     string
	FromFile []string
	Added    []storage.OrgRecipient
	Error    string
	Notice   string
}

func (s *Server) recipientsPage(c *fiber.Ctx, status int, msg, notice string) error {
	added, err := s.db.OrgRecipients(c.UserContext())
	if err != nil {
		return err
	}
	return s.renderStaff(c, status, "staff_recipients", "Organisation keys", recipientsPage{
		Kind: s.recipients().Kind().String(), FromFile: s.cfg.Recipients.Strings(), Added: added, Error: msg, Notice: notice,
	})
}

// abbreviate shortens a (post-quantum: ~2,000 characters) public key for
// the audit trail.
func abbreviate(key string) string {
	if len(key) <= 24 {
		return key
	}
	return key[:16] + "…" + key[len(key)-8:]
}
