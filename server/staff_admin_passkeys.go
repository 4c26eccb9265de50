package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// handleStaffAdminPasskeysUpdate answers POST /staff/admin/passkeys (fields
// csrf, require_admin, require_caseworker, require_statistics, alone, uv:
// "1" when ticked): sets the passkey policy, audited. An account that must
// have a passkey and has none is sent to register one at its next request
// (mustRegisterPasskey).
func (s *Server) handleStaffAdminPasskeysUpdate(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	p := storage.PasskeyPolicy{Required: map[string]bool{}, Alone: form.Get("alone") == "1", UV: form.Get("uv") == "1"}
	var roles []string
	for _, r := range []string{storage.RoleAdmin, storage.RoleCaseworker, storage.RoleStatistics} {
		if form.Get("require_"+r) == "1" {
			p.Required[r] = true
			roles = append(roles, r)
		}
	}
	detail := "passkeys required for: " + strings.Join(roles, ", ")
	if len(roles) == 0 {
		detail = "passkeys required for: nobody"
	}
	if p.Alone {
		detail += "; a passkey alone (with user verification) may log in"
	}
	if p.UV {
		detail += "; user verification required with the password too"
	}
	e := storage.AuditEntry{Actor: staffOf(c).Username, Action: "staff.passkey_policy", Detail: detail}
	if err := s.db.Change(c.UserContext(), &e, func(ctx context.Context) error {
		return s.db.SetPasskeyPolicy(ctx, p)
	}); err != nil {
		return err
	}
	return c.Redirect("/staff/admin/passkeys?saved=1", http.StatusSeeOther)
}
