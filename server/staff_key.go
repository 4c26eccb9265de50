package server

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// keyPage is the page where a staff member registers their own age public
// key, to which the channels' keys are wrapped (docs/channels.md).
type keyPage struct {
	Recipient string // their current key, or empty
	Kind      string // its kind, for people
	Error     string
	Notice    string
	// Wrapped: the server keeps their identity wrapped by a passkey or
	// security key (staff_key_wrap.go), since WrappedSince ("2006-01-02"),
	// WrappedKind "passkey" or "security key".
	// WrappedHint is the identity string of a security key (not secret).
	Wrapped      bool
	WrappedSince string
	WrappedKind  string
	WrappedHint  string
}

func (s *Server) keyPage(c *fiber.Ctx, status int, recipient, msg, notice string) error {
	p := keyPage{Recipient: recipient, Error: msg, Notice: notice}
	if one, err := crypto.ParseRecipientsString(recipient); recipient != "" && err == nil {
		p.Kind = one.Kind().String()
	}
	w, err := s.db.WrappedIdentity(c.UserContext(), staffOf(c).ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err == nil {
		p.Wrapped, p.WrappedSince, p.WrappedKind, p.WrappedHint = true, w.Created.UTC().Format("2006-01-02"), "passkey", w.Hint
		if w.Hint != "" {
			p.WrappedKind = "security key"
		}
	}
	return s.renderStaff(c, status, "staff_key", "Your key", p)
}

// isSecretKey reports whether text holds an age secret key (an identity),
// of either kind, however it is cased.
func isSecretKey(text string) bool {
	return strings.Contains(strings.ToUpper(text), "AGE-SECRET-KEY")
}

// auditKey is what the audit trail keeps of a staff member's key: enough
// to tell keys apart.
func auditKey(key string) string {
	if len(key) <= 20 {
		return key
	}
	return key[:20] + "…"
}
