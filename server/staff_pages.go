package server

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/candour/candour/storage"
)

// staffView is what the layout shows of the logged-in staff member.
type staffView struct {
	Username string
	Admin    bool
	CSRF     string
}

// renderStaff renders a staff page with the staff header.
func (s *Server) renderStaff(c *fiber.Ctx, status int, name, title string, data any) error {
	u := staffOf(c)
	p := s.page(c, title, data)
	p.Staff = &staffView{Username: u.Username, Admin: u.Role == storage.RoleAdmin, CSRF: u.session.CSRF}
	body, err := s.pages.Render(name, p.Lang.Tag, p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body)
}

const inboxPageSize = 50

type inboxPage struct {
	Cases    []storage.CaseSummary
	Status   string
	Statuses []string
	Assigned string // "", "me" or "none"
	Page     int
	Pages    int
	Total    int
	PrevPage int
	NextPage int
}

var caseStatuses = []string{storage.StatusNew, storage.StatusInReview, storage.StatusAwaitingReporter,
	storage.StatusReferred, storage.StatusClosed}

// handleStaffInbox lists cases, newest activity first, from the index
// alone: nothing is decrypted on the server.
func (s *Server) handleStaffInbox(c *fiber.Ctx) error {
	me := staffOf(c)
	f := storage.CaseFilter{ViewerID: me.ID}
	if st := c.Query("status"); storage.ValidStatus(st) {
		f.Status = st
	}
	assigned := c.Query("assigned")
	switch assigned {
	case "me":
		f.AssigneeID = me.ID
	case "none":
		f.AssigneeID = -1
	default:
		assigned = ""
	}
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	cases, total, err := s.db.ListCases(c.UserContext(), f, (page-1)*inboxPageSize, inboxPageSize)
	if err != nil {
		return err
	}
	pages := max(1, (total+inboxPageSize-1)/inboxPageSize)
	return s.renderStaff(c, http.StatusOK, "staff_inbox", "Inbox", inboxPage{
		Cases: cases, Status: f.Status, Statuses: caseStatuses, Assigned: assigned,
		Page: page, Pages: pages, Total: total, PrevPage: page - 1, NextPage: page + 1,
	})
}

type staffAdminPage struct {
	Staff         []storage.Staff
	RetentionDays int
	Invited       string // a new enrolment link, shown once
	Error         string
}

func (s *Server) handleStaffAdmin(c *fiber.Ctx) error {
	return s.staffAdminPage(c, http.StatusOK, "", "")
}

func (s *Server) staffAdminPage(c *fiber.Ctx, status int, invited, msg string) error {
	list, err := s.db.ListStaff(c.UserContext())
	if err != nil {
		return err
	}
	days, err := s.db.DefaultRetentionDays(c.UserContext())
	if err != nil {
		return err
	}
	return s.renderStaff(c, status, "staff_admin", "Staff", staffAdminPage{Staff: list, RetentionDays: days, Invited: invited, Error: msg})
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$`)

// ValidUsername accepts 2 to 64 letters, digits, dots, dashes and
// underscores, except the names the audit trail uses for non-people.
func ValidUsername(name string) bool {
	switch strings.ToLower(name) {
	case "cli", "unknown", "system", "reporter":
		return false
	}
	return usernameRE.MatchString(name)
}

// EnrolmentLink is the link a new staff member opens once.
func EnrolmentLink(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/staff/enrol/" + token
}

func (s *Server) baseURL(c *fiber.Ctx) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return c.Protocol() + "://" + c.Hostname()
}

// handleStaffInvite creates a staff account and shows its one-time
// enrolment link to the administrator.
func (s *Server) handleStaffInvite(c *fiber.Ctx) error {
	form, err := s.staffForm(c)
	if err != nil {
		return err
	}
	username, role := strings.TrimSpace(form.Get("username")), form.Get("role")
	if !ValidUsername(username) {
		return s.staffAdminPage(c, http.StatusBadRequest, "",
			"A username is 2 to 64 letters, digits, dots, dashes or underscores (and not cli, unknown, system or reporter).")
	}
	if role != storage.RoleAdmin && role != storage.RoleCaseworker {
		return s.staffAdminPage(c, http.StatusBadRequest, "", "Choose a role.")
	}
	ctx := c.UserContext()
	st, err := s.db.CreateStaff(ctx, username, role)
	if errors.Is(err, storage.ErrDuplicate) {
		return s.staffAdminPage(c, http.StatusConflict, "", "That username is taken.")
	}
	if err != nil {
		return err
	}
	token, err := NewEnrolmentToken(ctx, s.db, st.ID)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, staffOf(c).Username, "staff.invited", st.Username, "role "+role); err != nil {
		return err
	}
	return s.staffAdminPage(c, http.StatusOK, EnrolmentLink(s.baseURL(c), token), "")
}

// handleStaffAccount disables, enables or resets (new password and 2FA
// through a new enrolment link) another staff member's account.
func (s *Server) handleStaffAccount(c *fiber.Ctx) error {
	form, id, err := s.staffFormID(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	me := staffOf(c)
	st, err := s.db.StaffByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if st.ID == me.ID {
		return s.staffAdminPage(c, http.StatusBadRequest, "", "You cannot change your own account here.")
	}
	var invited string
	switch action := form.Get("action"); action {
	case "disable", "enable":
		if err := s.db.SetStaffDisabled(ctx, st.ID, action == "disable"); err != nil {
			return err
		}
	case "reset":
		if err := s.db.ResetStaffCredentials(ctx, st.ID); err != nil {
			return err
		}
		token, err := NewEnrolmentToken(ctx, s.db, st.ID)
		if err != nil {
			return err
		}
		invited = EnrolmentLink(s.baseURL(c), token)
	default:
		return errNotFound
	}
	if err := s.audit(ctx, me.Username, "staff."+form.Get("action"), st.Username, ""); err != nil {
		return err
	}
	return s.staffAdminPage(c, http.StatusOK, invited, "")
}

type auditPage struct {
	Entries  []storage.AuditEntry
	Page     int
	Pages    int
	PrevPage int
	NextPage int
	Verified string
}

func (s *Server) handleStaffAudit(c *fiber.Ctx) error {
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	ctx := c.UserContext()
	entries, total, err := s.db.AuditPage(ctx, (page-1)*inboxPageSize, inboxPageSize)
	if err != nil {
		return err
	}
	verified := "The chain of entries is intact."
	if verr := s.db.VerifyAudit(ctx); verr != nil {
		verified = fmt.Sprintf("WARNING: the audit trail has been tampered with: %v", verr)
	}
	pages := max(1, (total+inboxPageSize-1)/inboxPageSize)
	return s.renderStaff(c, http.StatusOK, "staff_audit", "Audit trail", auditPage{
		Entries: entries, Page: page, Pages: pages, PrevPage: page - 1, NextPage: page + 1, Verified: verified,
	})
}
