package server

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
)

type staffPasskeysPage struct {
	// Off says why passkeys cannot be used at this address, or is empty.
	Off  string
	Keys []passkeyRow
	// Required: the policy requires a passkey of this account's role, so
	// the last one cannot be removed; Missing: and it has none yet, so
	// it can reach nothing else until it registers one.
	Required, Missing bool
	MaxName           int
	Error, Notice     string
}

type passkeyRow struct {
	ID       int64
	Name     string
	Added    string
	LastUsed string
	// Suspended is when a copy of it was detected (its signature counter
	// went backwards), or empty: it logs in no more and should be removed.
	Suspended string
}

// handleStaffPasskeys answers GET /staff/passkeys: the staff member's
// passkeys and security keys, with forms to rename and remove them and a
// button (passkey.js) to add one.
func (s *Server) handleStaffPasskeys(c *fiber.Ctx) error {
	return s.staffPasskeysPage(c, http.StatusOK, "", "")
}

// staffPasskeysPage renders the passkeys page with an error or a notice.
func (s *Server) staffPasskeysPage(c *fiber.Ctx, status int, errMsg, notice string) error {
	me := staffOf(c)
	ctx := c.UserContext()
	keys, err := s.db.Passkeys(ctx, me.ID)
	if err != nil {
		return err
	}
	policy, err := s.db.PasskeyPolicy(ctx)
	if err != nil {
		return err
	}
	_, off := s.relyingParty()
	p := staffPasskeysPage{Off: off, Required: policy.RequiredFor(me.Role), MaxName: maxPasskeyName, Error: errMsg, Notice: notice}
	active := 0
	for _, k := range keys {
		if k.SuspendedAt.IsZero() {
			active++
		}
	}
	p.Missing = p.Required && active == 0 && off == ""
	for _, k := range keys {
		row := passkeyRow{ID: k.ID, Name: k.Name, Added: consoleTime(k.CreatedAt), LastUsed: "never"}
		if !k.LastUsedAt.IsZero() {
			row.LastUsed = consoleTime(k.LastUsedAt)
		}
		if !k.SuspendedAt.IsZero() {
			row.Suspended = consoleTime(k.SuspendedAt)
		}
		p.Keys = append(p.Keys, row)
	}
	return s.renderStaff(c, status, "staff_passkeys", "Passkeys and security keys", p)
}

// consoleTime shows a staff-side time (never a reporter's) to the minute.
func consoleTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
