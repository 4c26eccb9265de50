package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

type staffAdminPasskeysPage struct {
	Off      string
	Policy   storage.PasskeyPolicy
	Saved    bool
	Accounts []passkeyAccount
}

// passkeyAccount is one account's row in the policy page's overview.
type passkeyAccount struct {
	Username, Role string
	Passkeys       int
}

// handleStaffAdminPasskeys answers GET /staff/admin/passkeys: the passkey
// policy (who must have a passkey; whether a passkey alone may log in)
// and how many passkeys each account has.
func (s *Server) handleStaffAdminPasskeys(c *fiber.Ctx) error {
	return s.staffAdminPasskeysPage(c, c.Query("saved") == "1")
}

func (s *Server) staffAdminPasskeysPage(c *fiber.Ctx, saved bool) error {
	ctx := c.UserContext()
	policy, err := s.db.PasskeyPolicy(ctx)
	if err != nil {
		return err
	}
	staff, err := s.db.ListStaff(ctx)
	if err != nil {
		return err
	}
	_, off := s.relyingParty()
	p := staffAdminPasskeysPage{Off: off, Policy: policy, Saved: saved}
	for _, st := range staff {
		if st.Disabled {
			continue
		}
		n, err := s.db.CountPasskeys(ctx, st.ID)
		if err != nil {
			return err
		}
		p.Accounts = append(p.Accounts, passkeyAccount{Username: st.Username, Role: st.Role, Passkeys: n})
	}
	return s.renderStaff(c, http.StatusOK, "staff_admin_passkeys", "Passkey policy", p)
}
