package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// Staff sessions are server-side rows keyed by the SHA-256 of a random
// cookie token: a stolen database holds no usable cookie. They end after
// staffIdle without use, after staffLifetime in all, at logout, and for
// every device at "log out everywhere".
const (
	staffIdle     = 30 * time.Minute
	staffLifetime = 12 * time.Hour
)

// staffCSP allows scripts, but only our own (the in-browser decryption
// bundle): no inline script, no eval, nothing from elsewhere.
const staffCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type staffCtxKey struct{}

// staffUser is the logged-in staff member of a request.
type staffUser struct {
	storage.Staff
	session storage.StaffSession
}

// currentStaff returns the live session's staff member, if any.
func (s *Server) currentStaff(c *fiber.Ctx) (*staffUser, error) {
	token := s.cookie(c, staffCookie)
	if token == "" {
		return nil, nil
	}
	ctx := c.UserContext()
	sess, err := s.db.StaffSessionByToken(ctx, storage.HashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.db.Now()
	if now.Sub(sess.LastSeen) > staffIdle || now.Sub(sess.CreatedAt) > staffLifetime {
		if err := s.db.DeleteStaffSession(ctx, sess.TokenHash); err != nil {
			return nil, err
		}
		return nil, nil
	}
	st, err := s.db.StaffByID(ctx, sess.StaffID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Disabled || !st.Enrolled() {
		return nil, nil
	}
	if now.Sub(sess.LastSeen) > time.Minute {
		if err := s.db.TouchStaffSession(ctx, sess.TokenHash, now); err != nil {
			return nil, err
		}
	}
	return &staffUser{Staff: st, session: sess}, nil
}

// requireStaff lets only a logged-in staff member through (an administrator
// if admin): others are sent to the login page. Each state-changing handler
// checks the CSRF token itself (staffForm, staffMultipart), because only it
// knows whether the body is a small form or a streamed upload.
//
// A statistics account passes neither gate: it may reach only the routes
// that say so (requireStatistics, requireAnyStaff), so that a route added
// later is closed to it unless someone decides otherwise. The console's
// home (GET /staff/) sends it to the statistics instead.
func (s *Server) requireStaff(admin bool) fiber.Handler {
	return s.requireRole(func(role string) bool {
		return role == storage.RoleAdmin || (!admin && role == storage.RoleCaseworker)
	})
}

// requireStatistics lets through those who may see the statistics:
// administrators and statistics accounts.
func (s *Server) requireStatistics() fiber.Handler {
	return s.requireRole(func(role string) bool { return role == storage.RoleAdmin || role == storage.RoleStatistics })
}

// requireAnyStaff lets through every logged-in staff member, whatever the
// role: for what every account needs, such as logging out.
func (s *Server) requireAnyStaff() fiber.Handler {
	return s.requireRole(storage.ValidRole)
}

// requireRole lets through a logged-in staff member whose role allowed
// accepts; others get the login page (no session) or a refusal.
func (s *Server) requireRole(allowed func(role string) bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, err := s.currentStaff(c)
		if err != nil {
			return err
		}
		if u == nil {
			if c.Method() != fiber.MethodGet {
				return errStaffSessionEnded
			}
			return c.Redirect("/staff/login", http.StatusSeeOther)
		}
		if must, err := s.mustRegisterPasskey(c, u); err != nil {
			return err
		} else if must {
			if c.Method() == fiber.MethodGet {
				return c.Redirect("/staff/passkeys", http.StatusSeeOther)
			}
			return errPasskeyRequired
		}
		if !allowed(u.Role) {
			if u.Role == storage.RoleStatistics && c.Method() == fiber.MethodGet && c.Path() == "/staff/" {
				return c.Redirect(staffHome(u.Role), http.StatusSeeOther)
			}
			return errForbidden
		}
		c.Locals(staffCtxKey{}, u)
		return c.Next()
	}
}

// staffHome is where a staff member lands after logging in: the inbox, or
// for a statistics account the statistics.
func staffHome(role string) string {
	if role == storage.RoleStatistics {
		return "/staff/stats"
	}
	return "/staff/"
}

func staffOf(c *fiber.Ctx) *staffUser {
	u, _ := c.Locals(staffCtxKey{}).(*staffUser)
	return u
}

// staffForm reads a small urlencoded staff form and checks its CSRF token.
func (s *Server) staffForm(c *fiber.Ctx) (url.Values, error) {
	form, err := readForm(c, 16<<10)
	if err != nil {
		return nil, err
	}
	u := staffOf(c)
	if u == nil || !constantTimeEqual(form.Get("csrf"), u.session.CSRF) {
		return nil, errCSRFStaff
	}
	return form, nil
}

// staffFormID is staffForm for forms that name a record by its "id".
func (s *Server) staffFormID(c *fiber.Ctx) (url.Values, int64, error) {
	form, err := s.staffForm(c)
	if err != nil {
		return nil, 0, err
	}
	id, err := strconv.ParseInt(form.Get("id"), 10, 64)
	if err != nil {
		return nil, 0, errNotFound
	}
	return form, id, nil
}

var errPasskeyRequired = &staffError{status: http.StatusForbidden, title: "Register a passkey first",
	message: "Your organisation requires a passkey or security key for your account. Register one on the Passkeys page; until then the console is closed to you. Nothing was changed.",
	back:    "/staff/passkeys"}

// mustRegisterPasskey reports whether u must register a passkey before
// reaching this route: the policy requires one for their role, they have
// none, and passkeys work at this address. The passkeys page and logging
// out stay open.
func (s *Server) mustRegisterPasskey(c *fiber.Ctx, u *staffUser) (bool, error) {
	p := c.Path()
	if p == "/staff/passkeys" || strings.HasPrefix(p, "/staff/passkeys/") || p == "/staff/logout" || p == "/staff/logout-everywhere" {
		return false, nil
	}
	required, n, err := s.requiredPasskeys(c.UserContext(), u.ID, u.Role)
	return required && n == 0, err
}

// requiredPasskeys reports whether the policy requires a passkey of role
// where passkeys work (at this address), and then how many the account
// staffID can log in with. Whether passkeys work is asked first, so that
// an installation without them reads nothing on each request.
func (s *Server) requiredPasskeys(ctx context.Context, staffID int64, role string) (required bool, n int, err error) {
	if _, off := s.relyingParty(); off != "" {
		return false, 0, nil
	}
	policy, err := s.db.PasskeyPolicy(ctx)
	if err != nil || !policy.RequiredFor(role) {
		return false, 0, err
	}
	n, err = s.db.CountPasskeys(ctx, staffID)
	return true, n, err
}
